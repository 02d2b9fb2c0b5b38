#!/bin/bash
# connect_default_rdp: the leak end to end over real RDP.  Lab with alice's
# card, the session host with certprop running, `scardlab connect` with no
# .rdp file: Default.rdp is created with mstsc's defaults, the card reaches
# the session (pkcs15-tool there lists it), alice's My store receives the
# card's certificates, and the plug-in's trace shows the SELECT and GET DATA
# APDUs that carried them.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/connect_lib.sh"
connect_init

note "connect with no .rdp file"
trace="$E2E_TMP/trace.jsonl"
client_up client --profile "$E2E_TMP/client" --password-env ALICE_PW --trace "$trace" \
    --trace-toggle /v:127.0.0.1:$PORT /u:alice /cert:ignore
out=$(cat "$E2E_TMP/client.out")
rdp="$E2E_TMP/client/Documents/Default.rdp"
expect_contains "$out" "scardlab connect: created $rdp" "client output"
expect_contains "$out" "smart cards redirected through" "client output"
[ "$(head -c 2 "$rdp" | od -An -tx1 | tr -d ' ')" = fffe ] || fail "Default.rdp should be UTF-16LE with BOM"
iconv -f UTF-16LE -t UTF-8 "$rdp" | grep -q '^redirectsmartcards:i:1' ||
    fail "Default.rdp should hold redirectsmartcards:i:1"

note "the card reaches the session"
wait_for 20 session_sees_card || fail "alice's session should see a reader with a card"
out=$(in_session pkcs15-tool --list-certificates 2>&1) || true
n=$(grep -c '^X.509 Certificate' <<<"$out" || true)
[ "$n" = 4 ] || { echo "$out" >&2; fail "pkcs15-tool in the session should list 4 certificates, listed $n"; }

note "certprop propagates them into alice's My store"
wait_for 30 alice_store_has_at_least 4 ||
    fail "alice's My store should receive 4 certificates, has $(alice_store_count)"
out=$("$SCARDLAB" certutil --profile "$E2E_TMP/alice" -user -store My 2>&1) ||
    { echo "$out" >&2; fail "certutil -user -store My should succeed"; }
expect_contains "$out" "Alice Smith" "certutil -user -store My"

note "the trace shows the APDUs that carried them"
grep -q '"pbSendBuffer":"00a4040009a0000003080000100000"' "$trace" ||
    fail "trace should show SELECT PIV (00a4040009a0000003080000100000)"
grep -q '"pbSendBuffer":"00cb3fff055c035fc105' "$trace" ||
    fail "trace should show GET DATA of the 9A certificate (00cb3fff055c035fc105..)"
grep -q '"dir":"return".*"pbRecvBuffer":"53' "$trace" || fail "trace should show GET DATA answers (53 ..)"
python3 - "$trace" <<'PY' || fail "every trace line should be one JSON object"
import json, sys
for line in open(sys.argv[1]):
    json.loads(line)
PY

note "--trace-toggle: SIGUSR1 pauses the trace, the next one resumes it"
client_pid=${CONNECT_PIDS[-1]}
# The handler has run once the signal is no longer pending for the process.
usr1_delivered() {
    local pnd
    pnd=$(awk '/^ShdPnd:/ {print $2}' "/proc/$client_pid/status") || return 1
    [ -n "$pnd" ] && (((16#$pnd & 0x200) == 0)) # SIGUSR1 is signal 10: bit 9
}
# The trace's writer thread appends within 10 ms; settled = no new line in 0.3 s.
trace_settled() {
    local n
    n=$(wc -l <"$trace")
    sleep 0.3
    [ "$(wc -l <"$trace")" = "$n" ]
}
trace_grew() { [ "$(wc -l <"$trace")" -gt "$before" ]; }
kill -USR1 "$client_pid"
wait_for 5 usr1_delivered || fail "the client should take SIGUSR1"
wait_for 10 trace_settled || fail "the trace should settle once paused"
before=$(wc -l <"$trace")
in_session opensc-tool -l >/dev/null 2>&1 || fail "opensc-tool -l in the session should work while paused"
trace_settled || true
[ "$(wc -l <"$trace")" = "$before" ] || fail "a paused trace should not grow ($before lines, now $(wc -l <"$trace"))"
kill -USR1 "$client_pid"
wait_for 5 usr1_delivered || fail "the client should take the second SIGUSR1"
in_session opensc-tool -l >/dev/null 2>&1 || fail "opensc-tool -l in the session should work"
wait_for 5 trace_grew || fail "a resumed trace should grow again"

note "SIGTERM ends the client cleanly; the host ends the session"
client_down
expect_contains "$(cat "$E2E_TMP/client.out")" "disconnecting: signal 15" "client output"
wait_for 20 grep -q "session ended" "$E2E_TMP/host.log" || fail "the host should end alice's session"
echo "PASS [$E2E_NAME]"
