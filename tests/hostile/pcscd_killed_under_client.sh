#!/bin/bash
# The lab's pcscd dies by SIGKILL under a connected client.  Inside the
# session, PC/SC calls return errors rather than hang; the client either keeps
# running and still answers SIGTERM, or exits by itself; the host survives.
# Then the lab comes back (down/up) and the next client's session works.
source "$SCL_SRC/tests/e2e/lib.sh"
source "$SCL_SRC/tests/e2e/connect_lib.sh"
source "$SCL_SRC/tests/hostile/hostile_lib.sh"
connect_init
lab=$E2E_TMP/lab

client_up client1 --profile "$E2E_TMP/client" --password-env ALICE_PW \
    /v:127.0.0.1:$PORT /u:alice /cert:ignore
wait_for 30 session_sees_card || fail "the session should see the redirected card"

note "kill -9 the lab's pcscd under the client"
pcscd_pid=$(cut -d" " -f1 "$lab/pcscd.pid")
kill -0 "$pcscd_pid" || fail "the lab's pcscd ($pcscd_pid) should be running"
kill -KILL "$pcscd_pid"
rc=0
timeout 60 "$SCARDLAB" session exec --host-dir "$E2E_TMP/state" --user alice -- \
    pkcs15-tool --read-certificate 01 >"$E2E_TMP/after.out" 2>&1 || rc=$?
[ "$rc" != 124 ] || fail "a read in the session should fail, not hang, once pcscd is gone"
[ "$rc" != 0 ] && note "read after pcscd died: exit $rc (an error, as expected)"
[ "$rc" = 0 ] && note "read after pcscd died: served (from cached state)"
kill -0 "${HOST_PIDS[0]}" || fail "the host should survive pcscd dying under the client"
client_pid=${CONNECT_PIDS[-1]}
if kill -0 "$client_pid" 2>/dev/null; then
    kill -TERM "$client_pid"
    wait_for 20 sh -c "! kill -0 $client_pid 2>/dev/null" ||
        fail "the client should still answer SIGTERM with pcscd gone"
    note "the client kept running and stopped on SIGTERM"
else
    note "the client exited by itself"
fi
wait "$client_pid" 2>/dev/null || true
grep -v '^\[' "$E2E_TMP/client1.err" | grep -iE "error|fail|unavail" | head -3 || true

note "lab down/up; the next client works"
"$SCARDLAB" lab down --dir "$lab" >/dev/null || fail "lab down should succeed"
"$SCARDLAB" lab up --dir "$lab" >/dev/null || fail "lab up (again) should succeed"
"$SCARDLAB" card insert --lab "$lab" --slot 0 "$E2E_TMP/card/card.conf" >/dev/null ||
    fail "card insert after the restart should succeed"
client_up client2 --profile "$E2E_TMP/client" --password-env ALICE_PW \
    /v:127.0.0.1:$PORT /u:alice /cert:ignore
wait_for 30 session_sees_card || fail "the next session should see the card"
in_session pkcs15-tool --read-certificate 01 >"$E2E_TMP/cert.pem" 2>&1 ||
    { cat "$E2E_TMP/cert.pem" >&2; fail "pkcs15-tool should read a certificate in the next session"; }
client_down
host_stop_clean
echo "PASS [$E2E_NAME]"
