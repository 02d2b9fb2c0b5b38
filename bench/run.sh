#!/bin/bash
# run.sh SCARDLAB_BIN - APDU round-trip benchmark in a private lab; writes
# docs/bench-lab.md.  Three cards on the same pcscd+vpcd: scardlab's own link,
# the same card behind a naive link (no QUICKACK, two sends), and vsmartcard's
# Python vicc when it can run.  Needs root (the lab does).
set -euo pipefail

SCARDLAB=$(realpath "${1:?usage: bench/run.sh path/to/scardlab}")
BIN=$(dirname "$SCARDLAB")
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=$SRC/docs/bench-lab.md
N=${BENCH_N:-5000}
N_SLOW=${BENCH_N_SLOW:-100}
for b in apdu_rtt naive_card; do
    [ -x "$BIN/$b" ] || { echo "bench: $BIN/$b not built (cmake --build ... first)" >&2; exit 1; }
done

TMP=$(mktemp -d /tmp/scl-bench.XXXXXX)
LAB=$TMP/lab
BG=()
cleanup() {
    for p in "${BG[@]}"; do kill "$p" 2>/dev/null || true; done
    "$SCARDLAB" lab down --dir "$LAB" || true
    rm -rf "$TMP"
}
trap cleanup EXIT

echo "== minting an RSA-2048 card and starting a lab in $TMP"
"$SCARDLAB" pki mint --out "$TMP/card" --holder "Bench Card" --key rsa2048 >/dev/null
"$SCARDLAB" lab up --dir "$LAB" >/dev/null
export PCSCLITE_CSOCK_NAME=$LAB/run/pcscd/pcscd.comm

rtt() { "$BIN/apdu_rtt" "$@"; }
results=()

echo "== scardlab card (vpcd_link.c: TCP_NODELAY, QUICKACK re-armed, one send per reply)"
"$SCARDLAB" card insert --lab "$LAB" --slot 0 "$TMP/card/card.conf"
results+=("$(rtt -n "$N" --reader "scardlab 00 00" --label "scardlab card")")
echo "${results[-1]}"

echo "== same card, naive link (no QUICKACK, length and payload in two sends)"
"$SCARDLAB" lab exec --dir "$LAB" -- "$BIN/naive_card" 35964 "$TMP/card/card.conf" &
BG+=($!)
results+=("$(rtt -n "$N_SLOW" --warmup 3 --reader "scardlab 00 01" --label "naive link")")
echo "${results[-1]}"
kill "${BG[-1]}"; wait "${BG[-1]}" 2>/dev/null || true
sleep 1 # let pcscd see slot 1 empty before the next card connects

VICC_NOTE=""
CRYPTODOME=/usr/lib/python3/dist-packages/Cryptodome
if [ -x /usr/bin/vicc ] && [ -d "$CRYPTODOME" ]; then
    echo "== vsmartcard vicc (Python, iso7816 card)"
    mkdir -p "$TMP/shim" && ln -s "$CRYPTODOME" "$TMP/shim/Crypto"
    "$SCARDLAB" lab exec --dir "$LAB" -- env \
        PYTHONPATH=/usr/lib/python3/site-packages/virtualsmartcard:/usr/lib/python3/site-packages:$TMP/shim \
        /usr/bin/python3 /usr/bin/vicc -t iso7816 -H 127.0.0.1 -P 35964 >"$TMP/vicc.log" 2>&1 &
    BG+=($!)
    if r=$(rtt -n "$N_SLOW" --warmup 3 --reader "scardlab 00 01" --label "vicc (iso7816)"); then
        results+=("$r"); echo "$r"
    else
        VICC_NOTE="vicc did not answer: $(tail -n 1 "$TMP/vicc.log")"
    fi
else
    VICC_NOTE="vicc baseline skipped: needs /usr/bin/vicc (vsmartcard-vpcd) and python3-pycryptodome"
fi
[ -n "$VICC_NOTE" ] && echo "$VICC_NOTE"

cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
{
    echo "# APDU round trip in the private lab"
    echo
    echo "Written by \`bench/run.sh\` (\`make bench\`) on $(date -u +%Y-%m-%d)."
    echo
    echo "## Method"
    echo
    echo "\`bench/apdu_rtt\` is a PC/SC client (libpcsclite) in the host network namespace."
    echo "It connects to a lab reader and times SCardTransmit of VERIFY status \`00 20 00 80\`"
    echo "(the card answers \`63 Cx\`): client -> pcscd (unix socket) -> vpcd -> TCP loopback in the"
    echo "lab's netns -> card -> back. Warm-up transmissions are not counted. Times in µs."
    echo
    echo "- **scardlab card**: \`scardlab card insert\` (vcard/vpcd_link.c), $N samples."
    echo "- **naive link**: the same card and card code behind a link without TCP_QUICKACK that"
    echo "  writes length and payload in two sends (bench/naive_card.c), $N_SLOW samples."
    echo "- **vicc**: vsmartcard's Python card emulator (\`vicc -t iso7816\`), $N_SLOW samples."
    echo
    echo "## Results"
    echo
    echo "| card | n | median | p10 | p90 | p99 | min | max |"
    echo "|---|---|---|---|---|---|---|---|"
    for r in "${results[@]}"; do
        IFS=$'\t' read -r label n med p10 p90 p99 mn mx _ <<<"$r"
        echo "| $label | ${n#n=} | ${med#median=} | ${p10#p10=} | ${p90#p90=} | ${p99#p99=} | ${mn#min=} | ${mx#max=} |"
    done
    [ -n "$VICC_NOTE" ] && { echo; echo "$VICC_NOTE"; }
    echo
    echo "The naive link and vicc pay Linux's delayed ACK (~40 ms) on each exchange: vpcd sends"
    echo "the 2-byte length and the APDU as two writes with Nagle on, so the second write waits"
    echo "for an ACK the card delays. The scardlab link re-arms TCP_QUICKACK after every read"
    echo "and answers in one send."
    echo
    echo "## Machine"
    echo
    echo "The medians are steady from run to run; p99 and max move with whatever else the"
    echo "machine is doing (here: other builds and tests on 2 CPUs)."
    echo
    echo "- CPU: $cpu ($(nproc) online)"
    echo "- kernel: $(uname -sr)"
    echo "- scardlab build: $(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BIN/../CMakeCache.txt" 2>/dev/null || echo unknown)"
    echo "- pcsc-lite $(dpkg-query -W -f='${Version}' pcscd 2>/dev/null),"\
         "vsmartcard-vpcd $(dpkg-query -W -f='${Version}' vsmartcard-vpcd 2>/dev/null)"
} >"$OUT"
echo "== wrote $OUT"
