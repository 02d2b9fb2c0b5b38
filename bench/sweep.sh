#!/bin/bash
# sweep.sh BIN_DIR - times `scardlab sweep` over a synthetic fleet (default
# 500 servers x 20 profiles x 20 certificates, 3 of them leaked card
# certificates) against `scardlab certutil -user -delstore` run once per
# profile; writes docs/bench-sweep.md.  Needs no lab and no root.
set -euo pipefail

BIN=$(realpath "${1:?usage: bench/sweep.sh BUILD/bin}")
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=${SWEEP_OUT:-$SRC/docs/bench-sweep.md}
SERVERS=${SWEEP_SERVERS:-500}
USERS=20
CERTS=20
SAMPLE_SERVERS=${SWEEP_SAMPLE_SERVERS:-10} # x 20 users = 200 profiles for certutil
RUNS=3
SC_CSP="Microsoft Base Smart Card Crypto Provider"
for b in scardlab sweep_bench; do
    [ -x "$BIN/$b" ] || { echo "bench: $BIN/$b not built" >&2; exit 1; }
done

TMP=$(mktemp -d /tmp/scl-bench-sweep.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
now() { date +%s%N; }
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
ms() { echo $(( $1 / 1000000 )); }

PROFILES=$((SERVERS * USERS))
echo "== writing $PROFILES profiles x $CERTS certificates to $TMP/fleet"
"$BIN/sweep_bench" "$TMP/fleet" "$SERVERS" "$USERS" "$CERTS"

dry=() apply=() restore=()
for r in $(seq $RUNS); do
    t0=$(now)
    "$BIN/scardlab" sweep --profiles "$TMP/fleet" --quiet >"$TMP/dry.out"
    dry+=($(( $(now) - t0 )))
    echo "   dry run $r: $(ms "${dry[-1]}") ms: $(tail -1 "$TMP/dry.out")"
done
for r in $(seq $RUNS); do
    t0=$(now)
    "$BIN/scardlab" sweep --profiles "$TMP/fleet" --quiet --apply --backup "$TMP/backup$r" >"$TMP/apply.out"
    apply+=($(( $(now) - t0 )))
    echo "   apply $r: $(ms "${apply[-1]}") ms: $(grep profiles "$TMP/apply.out")"
    t0=$(now)
    "$BIN/scardlab" sweep restore "$TMP/backup$r" >"$TMP/restore.out"
    restore+=($(( $(now) - t0 )))
    echo "   restore $r: $(ms "${restore[-1]}") ms: $(cat "$TMP/restore.out")"
    # kept until the end: deleting its files between runs would put the
    # disk's discards inside the next run's timing
done

# Baseline: what an administrator scripts today, one certutil per profile.
# The CertId names the Base Smart Card CSP, which only the leaked ones claim.
SAMPLE=$((SAMPLE_SERVERS * USERS))
base=()
for r in $(seq $RUNS); do
    rm -rf "$TMP/sample"
    "$BIN/sweep_bench" "$TMP/sample" "$SAMPLE_SERVERS" "$USERS" "$CERTS" >/dev/null
    t0=$(now)
    for p in "$TMP"/sample/*/*; do
        "$BIN/scardlab" certutil -user -delstore My "$SC_CSP" --profile "$p" >/dev/null
    done
    base+=($(( $(now) - t0 )))
    left=$(find "$TMP/sample" -path '*My/Certificates/*' -type f | wc -l)
    [ "$left" = $((SAMPLE * (CERTS - 3))) ] || { echo "bench: certutil left $left elements" >&2; exit 1; }
    echo "   certutil x $SAMPLE profiles $r: $(ms "${base[-1]}") ms"
done

d=$(median "${dry[@]}") a=$(median "${apply[@]}") rs=$(median "${restore[@]}") b=$(median "${base[@]}")
bx=$(( b * PROFILES / SAMPLE ))
speed_dry=$(awk -v b="$bx" -v s="$d" 'BEGIN{printf "%.1f", b/s}')
speed_apply=$(awk -v b="$bx" -v s="$a" 'BEGIN{printf "%.1f", b/s}')
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
load=$(cut -d' ' -f1-3 /proc/loadavg)
cat >"$OUT" <<EOF
# sweep benchmark

Written by \`bench/sweep.sh\` on $(date -u +%Y-%m-%d) ($(nproc) cores, $cpu; load average
at the end $load).  Fleet: $SERVERS servers x $USERS profiles = $PROFILES profiles, $CERTS
certificates in each My store ($((PROFILES * CERTS)) elements): 17 of the profile's own (one
backed by a KSP key file) and 3 leaked card certificates claiming the Base Smart Card CSP with
no key in the profile.  Certificates minted once with libcrypto and written with
cs_element_encode.  Page cache warm; wall time, median of $RUNS.

| what | wall time (median of $RUNS) | runs (ms) |
|---|---|---|
| \`scardlab sweep\` dry run, $PROFILES profiles | $(ms "$d") ms | $(for x in "${dry[@]}"; do printf '%s ' "$(ms "$x")"; done)|
| \`scardlab sweep --apply\` (backup + delete $((PROFILES * 3))) | $(ms "$a") ms | $(for x in "${apply[@]}"; do printf '%s ' "$(ms "$x")"; done)|
| \`scardlab sweep restore\` (put $((PROFILES * 3)) back) | $(ms "$rs") ms | $(for x in "${restore[@]}"; do printf '%s ' "$(ms "$x")"; done)|
| \`certutil -user -delstore My "$SC_CSP"\` once per profile, $SAMPLE profiles | $(ms "$b") ms | $(for x in "${base[@]}"; do printf '%s ' "$(ms "$x")"; done)|
| same, extrapolated linearly to $PROFILES profiles | $(ms "$bx") ms | |

Speed-up over the certutil loop: ${speed_dry}x (dry run, which does the same reading and
matching), ${speed_apply}x (--apply, which also writes a .sst backup per profile, syncs
them once per batch of up to 256 profiles per worker, then compare-and-deletes, moving each
removed file into the backup's removed/ folder).

Verdict (issue 6: under 5 s and at least 20x the certutil loop): --apply
$(awk -v a="$a" -v x="$speed_apply" 'BEGIN { ok = a / 1e9 < 5 && x >= 20; printf "%s (%.1f s, %sx)", ok ? "**met**" : "**missed**", a / 1e9, x }').
EOF
cat "$SRC/bench/sweep-notes.md" >>"$OUT"
echo "== wrote $OUT"
cat "$OUT"
