#!/bin/bash
# The client (scardlab connect) dies by SIGKILL while pkcs15-tool reads the
# card through the redirection in the session.  The host drops that session
# (its certprop and PC/SC socket go), the reader inside the session returns
# (bounded), the host keeps running, alice's store parses, and the next
# session works end to end.
source "$SCL_SRC/tests/e2e/lib.sh"
source "$SCL_SRC/tests/e2e/connect_lib.sh"
source "$SCL_SRC/tests/hostile/hostile_lib.sh"
connect_init

client_up client1 --profile "$E2E_TMP/client" --password-env ALICE_PW \
    /v:127.0.0.1:$PORT /u:alice /cert:ignore
wait_for 30 session_sees_card || fail "the session should see the redirected card"
wait_for 30 alice_store_has_at_least 4 || fail "certprop should propagate 4 certificates first"
session_dir=$(readlink -f "$E2E_TMP/state/users/alice/current")
certprop_pid=$(cut -d' ' -f1 "$session_dir/certprop.pid")

note "pkcs15-tool reads in a loop inside the session; kill -9 the client under it"
(
    for _ in $(seq 200); do
        if in_session pkcs15-tool --read-certificate 01 >/dev/null 2>&1; then echo ok; else echo failed; fi
    done
) >"$E2E_TMP/reader.out" 2>&1 &
reader=$!
wait_for 20 grep -q ok "$E2E_TMP/reader.out" || fail "reads in the session should succeed before the kill"
sleep 0.$((RANDOM % 3))$((RANDOM % 10))
client_pid=${CONNECT_PIDS[-1]}
kill -KILL "$client_pid"
wait "$client_pid" 2>/dev/null || true
wait_for 30 grep -qE "alice-1.*session ended|session ended" "$E2E_TMP/host.log" ||
    fail "the host should end the dead client's session"
wait_for 20 sh -c "! kill -0 $certprop_pid 2>/dev/null" ||
    fail "the dropped session's certprop ($certprop_pid) should stop"
# The reading loop must finish: each pkcs15-tool fails fast once the session is gone.
wait_for 60 sh -c "! kill -0 $reader 2>/dev/null" ||
    { kill -KILL "$reader" 2>/dev/null; fail "pkcs15-tool in the dropped session should not hang"; }
wait "$reader" 2>/dev/null || true
note "reads: $(grep -c ok "$E2E_TMP/reader.out") whole before the kill, $(grep -c failed "$E2E_TMP/reader.out") failed after"
grep -q failed "$E2E_TMP/reader.out" || fail "reads after the kill should fail (the session is gone)"
kill -0 "${HOST_PIDS[0]}" || fail "the host should survive a client killed mid-Transmit"

note "alice's store is whole"
out=$("$SCARDLAB" certutil --profile "$E2E_TMP/alice" -user -store My 2>&1) ||
    { echo "$out" >&2; fail "certutil -store should parse every element"; }
n=$(grep -c "^================ Certificate" <<<"$out" || true)
[ "$n" = 4 ] || { echo "$out" >&2; fail "certutil should list 4 certificates, listed $n"; }

note "the next session works"
client_up client2 --profile "$E2E_TMP/client" --password-env ALICE_PW \
    /v:127.0.0.1:$PORT /u:alice /cert:ignore
wait_for 30 session_sees_card || fail "the next session should see the card"
in_session pkcs15-tool --read-certificate 01 >"$E2E_TMP/cert.pem" 2>&1 ||
    { cat "$E2E_TMP/cert.pem" >&2; fail "pkcs15-tool should read a certificate in the next session"; }
grep -q "BEGIN CERTIFICATE" "$E2E_TMP/cert.pem" || fail "the read should return a certificate"
client_down
host_stop_clean
echo "PASS [$E2E_NAME]"
