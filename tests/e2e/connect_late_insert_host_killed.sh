#!/bin/bash
# connect_late_insert_host_killed: a card inserted after connecting still
# propagates, and pulling it leaves the certificates with a private-key claim
# no card backs (the stale claim).  Then the session host dies by SIGKILL
# mid-session: the client notices and exits, the session's certprop does not
# outlive the host, and alice's store still parses, element by element.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/connect_lib.sh"
connect_init
lab=$E2E_TMP/lab
"$SCARDLAB" card remove --lab "$lab" --slot 0 >/dev/null || fail "card remove should succeed"

note "connect with the reader empty: nothing to propagate"
client_up client --profile "$E2E_TMP/client" --password-env ALICE_PW \
    /v:127.0.0.1:$PORT /u:alice /cert:ignore
wait_for 20 test -S "$E2E_TMP/state/users/alice/current/pcscd.comm" ||
    fail "alice's session should have its PC/SC socket"
wait_for 20 sh -c "\"$SCARDLAB\" session exec --host-dir \"$E2E_TMP/state\" --user alice -- opensc-tool -l 2>/dev/null | grep -q 'scardlab 00 00'" ||
    fail "alice's session should list the client's reader 'scardlab 00 00'"
[ "$(alice_store_count)" = 0 ] || fail "alice's store should be empty without a card"

note "insert the card after connecting: it propagates"
"$SCARDLAB" card insert --lab "$lab" --slot 0 "$E2E_TMP/card/card.conf" >/dev/null ||
    fail "card insert should succeed"
wait_for 30 alice_store_has_at_least 4 ||
    fail "alice's My store should receive 4 certificates after a late insert, has $(alice_store_count)"

note "pull the card: certificates stay, the key is claimed but unreachable"
"$SCARDLAB" card remove --lab "$lab" --slot 0 >/dev/null || fail "card remove should succeed"
wait_for 10 sh -c "! \"$SCARDLAB\" session exec --host-dir \"$E2E_TMP/state\" --user alice -- opensc-tool -l 2>/dev/null | grep -q '^0 *Yes'" ||
    fail "the session should see the reader empty"
[ "$(alice_store_count)" = 4 ] || fail "the 4 certificates should stay after the card is pulled"
rc=0
out=$(in_session "$SCARDLAB" certutil --profile "$E2E_TMP/alice" -user -verifykeys My 2>&1) || rc=$?
[ "$rc" = 1 ] || { echo "$out" >&2; fail "-verifykeys should exit 1 (claimed, not reachable), exited $rc"; }
claimed=$(grep -c "Private key claimed: yes" <<<"$out" || true)
unreachable=$(grep -c "Private key reachable: no" <<<"$out" || true)
[ "$claimed" = 4 ] && [ "$unreachable" = 4 ] ||
    { echo "$out" >&2; fail "all 4 should be claimed ($claimed) and unreachable ($unreachable)"; }

note "kill the session host with SIGKILL mid-session"
session_dir=$(readlink -f "$E2E_TMP/state/users/alice/current")
certprop_pid=$(cut -d' ' -f1 "$session_dir/certprop.pid")
kill -0 "$certprop_pid" 2>/dev/null || fail "the session's certprop ($certprop_pid) should be running"
kill -KILL "${HOST_PIDS[0]}" # `scardlab host` execs scardlab-host: same pid
client_pid=${CONNECT_PIDS[-1]}
wait_for 20 sh -c "! kill -0 $client_pid 2>/dev/null" ||
    fail "the client should exit when the host dies, pid $client_pid still runs"
wait_for 10 sh -c "! kill -0 $certprop_pid 2>/dev/null" ||
    fail "the session's certprop ($certprop_pid) should not outlive the host"

note "alice's store is whole"
out=$("$SCARDLAB" certutil --profile "$E2E_TMP/alice" -user -store My 2>&1) ||
    { echo "$out" >&2; fail "certutil -store should parse every element"; }
n=$(grep -c "^================ Certificate" <<<"$out" || true)
[ "$n" = 4 ] || { echo "$out" >&2; fail "certutil should list 4 certificates, listed $n"; }
if grep -qi "warning\|skipp" <<<"$out"; then echo "$out" >&2; fail "no element should be skipped"; fi
echo "PASS [$E2E_NAME]"
