#!/bin/bash
# The session's certprop killed by SIGKILL while the host runs it, among its
# store writes.  The host survives and keeps serving the session's PC/SC
# socket (pkcs15-tool reads a certificate in the session), alice's store
# parses, and the host does what docs/session-host.md says: it does not
# restart certprop in that session (not even on SIGHUP) and reaps it when the
# session ends.  A new session then propagates all 4.
source "$SCL_SRC/tests/e2e/lib.sh"
source "$SCL_SRC/tests/e2e/connect_lib.sh"
source "$SCL_SRC/tests/hostile/hostile_lib.sh"
source "$SCL_SRC/tests/hostile/kill_lib.sh"
kill_init
host_pid=${HOST_PIDS[0]}

client_up client1 --profile "$E2E_TMP/client" --password-env ALICE_PW \
    /v:127.0.0.1:$PORT /u:alice /cert:ignore
wait_for 30 sh -c "\"$SCARDLAB\" session exec --host-dir \"$E2E_TMP/state\" --user alice -- opensc-tool -l 2>/dev/null | grep -q 'scardlab 00 00'" ||
    fail "alice's session should list the client's reader"
session_dir=$(readlink -f "$E2E_TMP/state/users/alice/current")
certprop_pid=$(cut -d' ' -f1 "$session_dir/certprop.pid")
kill -0 "$certprop_pid" || fail "the session's certprop ($certprop_pid) should run"

note "insert the card; SIGKILL certprop 0-9 ms after its first store write"
"$SCARDLAB" card insert --lab "$lab" --slot 0 "$E2E_TMP/card/card.conf" >/dev/null &
insert_pid=$!
until=$((SECONDS + 30))
until compgen -G "$E2E_TMP/alice/$MY_REL/[0-9A-F]*" >/dev/null; do
    [ $SECONDS -lt $until ] || fail "certprop should start writing within 30 s"
    sleep 0.002
done
sleep "0.00$((RANDOM % 10))"
kill -KILL "$certprop_pid"
wait "$insert_pid" || fail "card insert should succeed"
store_check "$E2E_TMP/alice" "$fps" "after the kill"
note "the kill left $STORE_N of 4 elements"

note "the host survives and keeps serving the session's PC/SC socket"
kill -0 "$host_pid" || fail "the host should survive certprop's death"
in_session pkcs15-tool --read-certificate 01 >"$E2E_TMP/cert.pem" 2>&1 ||
    { cat "$E2E_TMP/cert.pem" >&2; fail "pkcs15-tool should read a certificate in the session"; }
grep -q "BEGIN CERTIFICATE" "$E2E_TMP/cert.pem" || fail "the read should return a certificate"

note "service state: not restarted, not even on SIGHUP; certprop.pid still names the dead one"
kill -HUP "$host_pid"
wait_for 20 grep -q "SIGHUP: certprop service is now running" "$E2E_TMP/host.log" ||
    fail "the host should re-read the service state on SIGHUP"
in_session opensc-tool -l >/dev/null 2>&1 || fail "the session should still answer after SIGHUP"
started=$(grep -c "alice-1: certprop started" "$E2E_TMP/host.log" || true)
[ "$started" = 1 ] || fail "the host should not restart certprop in the session (started $started times)"
[ "$(cut -d' ' -f1 "$session_dir/certprop.pid")" = "$certprop_pid" ] ||
    fail "certprop.pid should still name the killed certprop"
pid_stopped "$certprop_pid" || fail "certprop ($certprop_pid) should not run after SIGKILL"
store_check "$E2E_TMP/alice" "$fps" "after SIGHUP"

note "the session ends: the host reaps the dead certprop and removes certprop.pid"
client_down
wait_for 20 grep -q "alice-1: certprop pid $certprop_pid stopped (logoff)" "$E2E_TMP/host.log" ||
    fail "the host should stop (reap) the session's certprop at logoff"
wait_for 20 sh -c "[ ! -e /proc/$certprop_pid ]" || fail "certprop ($certprop_pid) should be reaped"
[ ! -e "$session_dir/certprop.pid" ] || fail "certprop.pid should be gone after the session"
kill -0 "$host_pid" || fail "the host should still run"

note "a new session propagates all 4"
rm -rf "$E2E_TMP/alice"
client_up client2 --profile "$E2E_TMP/client" --password-env ALICE_PW \
    /v:127.0.0.1:$PORT /u:alice /cert:ignore
wait_for 30 alice_store_has_at_least 4 || fail "the new session should propagate 4, has $(alice_store_count)"
store_check "$E2E_TMP/alice" "$fps" "new session"
[ "$STORE_N" = 4 ] || fail "certutil should list 4 after the new session, listed $STORE_N"
client_down
host_stop_clean
no_leftovers "$E2E_TMP" "end"
echo "PASS [$E2E_NAME]"
