#!/bin/bash
# The daemons under valgrind memcheck for one full leak scenario: the card
# process (the same `scardlab card-serve` command `card insert` runs, inside
# the lab's network), the session host (bin/scardlab-host) and the session's
# certprop (traced as the host's child).  A client connects with smart-card
# redirection, certprop propagates the 4 certificates, the client leaves, the
# card is pulled and everything stops on SIGTERM.  Every valgrind log must end
# with "ERROR SUMMARY: 0 errors": invalid reads/writes, uninitialised jumps and
# definite leaks all count; third-party leaks are in valgrind_freerdp.supp.
# Needs the non-sanitized build (valgrind cannot run ASan binaries).
source "$SCL_SRC/tests/e2e/lib.sh"
source "$SCL_SRC/tests/e2e/connect_lib.sh"
VG_ERR=99 # valgrind's exit status when it found an error

if ! command -v valgrind >/dev/null; then
    echo "SKIP [$E2E_NAME]: valgrind is not installed (Debian: valgrind)"; exit 77
fi
if grep -qa __asan_init "$SCARDLAB" "${SCL_BUILD:?}/bin/scardlab-host"; then
    echo "SKIP [$E2E_NAME]: the binaries are ASan-built; valgrind needs the plain build"; exit 77
fi
e2e_init pcscd pkcs15-tool opensc-tool python3
trap connect_cleanup EXIT
vgdir=$E2E_TMP/vg
mkdir -p "$vgdir"
VG=(valgrind --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite
    --error-exitcode=$VG_ERR --num-callers=40 --gen-suppressions=all --child-silent-after-fork=yes
    --suppressions="$SCL_SRC/tests/hostile/valgrind_freerdp.supp")

# vg_wait PID WHAT SECONDS: the process must exit by itself in time; its
# status goes to VG_RC[WHAT] (valgrind turns any error into $VG_ERR).
declare -A VG_RC
vg_wait() {
    local pid=$1 what=$2 secs=$3 rc=0
    wait_for "$secs" sh -c "! kill -0 $pid 2>/dev/null" || fail "$what should exit within $secs s"
    wait "$pid" 2>/dev/null || rc=$?
    VG_RC[$what]=$rc
}

lab="$E2E_TMP/lab"
lab_up "$lab"
mint "$E2E_TMP/card" "Val Grind"
export PCSCLITE_CSOCK_NAME="$lab/run/pcscd/pcscd.comm"

note "card process under valgrind (lab exec runs it in the lab's network, as card insert does)"
"$SCARDLAB" lab exec --dir "$lab" -- "${VG[@]}" --log-file="$vgdir/card.%p.log" \
    "$SCARDLAB" card-serve --port 35963 "$E2E_TMP/card/card.conf" >"$E2E_TMP/card.out" 2>&1 &
card_pid=$!
HOST_PIDS+=("$card_pid") # stopped by pid in connect_cleanup
wait_for 60 sh -c "opensc-tool -l 2>/dev/null | grep -qE '^0 +Yes'" ||
    fail "the reader should hold the card served under valgrind"

note "session host under valgrind; certprop traced as its child"
ALICE_PW="vg-$RANDOM-pw"
export ALICE_PW
PORT=$(free_port)
write_host_conf "$E2E_TMP/host.conf" "$PORT"
"${VG[@]}" --trace-children=yes --log-file="$vgdir/host.%p.log" \
    "$SCL_BUILD/bin/scardlab-host" --config "$E2E_TMP/host.conf" >"$E2E_TMP/host.log" 2>&1 &
host_pid=$!
HOST_PIDS+=("$host_pid")
wait_for 60 grep -q "listening on" "$E2E_TMP/host.log" || fail "the host should listen under valgrind"

client_up client --profile "$E2E_TMP/client" --password-env ALICE_PW \
    /v:127.0.0.1:$PORT /u:alice /cert:ignore
wait_for 60 alice_store_has_at_least 4 || fail "certprop (under valgrind) should propagate 4 certificates"
out=$("$SCARDLAB" certutil --profile "$E2E_TMP/alice" -user -store My 2>&1) ||
    { echo "$out" >&2; fail "certutil -store should parse alice's store"; }
[ "$(grep -c '^================ Certificate' <<<"$out")" = 4 ] || fail "certutil should list 4"
session_dir=$(readlink -f "$E2E_TMP/state/users/alice/current")
certprop_pid=$(cut -d' ' -f1 "$session_dir/certprop.pid")

note "client leaves; the host stops certprop; card pulled; host stopped"
client_down
wait_for 30 sh -c "! kill -0 $certprop_pid 2>/dev/null" || fail "the session's certprop should stop"
kill -TERM "$card_pid"
vg_wait "$card_pid" "the card process" 60
kill -TERM "$host_pid"
vg_wait "$host_pid" "the session host" 90
HOST_PIDS=()

note "every valgrind log: host, certprop, card"
[ -n "$(grep -l "Command: .*/scardlab certprop" "$vgdir"/host.*.log)" ] ||
    fail "certprop should have run under valgrind (traced child of the host)"
for f in "$vgdir"/*.log; do
    cmd=$(sed -n 's/^==[0-9]*== Command: //p' "$f" | head -1)
    sum=$(grep "ERROR SUMMARY:" "$f" | tail -1)
    [ -n "$sum" ] || { tail -20 "$f" >&2; fail "$(basename "$f") ($cmd) has no ERROR SUMMARY (killed?)"; }
    note "$cmd: ${sum#*== }; $(grep -E "definitely lost:|All heap blocks were freed" "$f" | sed 's/^==[0-9]*== *//' | tr '\n' ' ')"
    grep -q "ERROR SUMMARY: 0 errors" <<<"$sum" || { cat "$f" >&2; fail "valgrind found errors in $cmd"; }
done
for what in "${!VG_RC[@]}"; do
    [ "${VG_RC[$what]}" = 0 ] || fail "$what should exit 0 on SIGTERM, exited ${VG_RC[$what]}"
done
echo "PASS [$E2E_NAME]"
