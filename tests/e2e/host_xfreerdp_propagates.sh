#!/bin/bash
# Stock xfreerdp /smartcard (under Xvfb) against the session host: wrong
# password and unknown user refused by NLA; with alice's card in the client's lab, certprop in her
# session fills her My store (KEY_PROV_INFO checked with certutil), and
# pkcs15-tool / pkcs11-tool inside the session read and sign through the
# redirection (openssl verifies); a client killed mid-session leaves the host
# serving the next one; SIGTERM ends everything cleanly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/host_lib.sh"
host_init pkcs15-tool pkcs11-tool openssl python3

lab_up "$E2E_TMP/lab"
mint "$E2E_TMP/alice" "Alice Example"
"$SCARDLAB" card insert --lab "$E2E_TMP/lab" --slot 0 "$E2E_TMP/alice/card.conf" >/dev/null ||
    fail "card insert should succeed"
host_config "$E2E_TMP/host.conf" fEnableSmartCard=1 certprop_service=running
host_start "$E2E_TMP/host.conf"
ALICE_PROFILE="$E2E_TMP/profiles/alice"

note "wrong password is refused by NLA"
client_start bad alice wrong-pw "$E2E_TMP/lab" /smartcard
if wait "$CLIENT_PID"; then fail "xfreerdp with a wrong password should fail"; fi
[ "$(my_count "$ALICE_PROFILE")" = 0 ] || fail "a refused logon should not propagate"
[ ! -e "$HOST_STATE/users/alice/current" ] || fail "a refused logon should not create a session"

note "an unknown user is refused by NLA"
client_start nobody mallory Alice-pw1 "$E2E_TMP/lab" /smartcard
if wait "$CLIENT_PID"; then fail "xfreerdp as an unknown user should fail"; fi
[ ! -e "$HOST_STATE/users/mallory" ] || fail "an unknown user should get no session"
! grep -q "session started" "$E2E_TMP/host.log" || fail "no session should have started yet"

note "alice connects with /smartcard: certprop propagates her 4 certificates"
client_start a1 alice Alice-pw1 "$E2E_TMP/lab" /smartcard
wait_log "alice-1: rdpdr: smart-card device [0-9]+ 'SCARD' accepted" 20
wait_certs alice 4 30
[ "$(my_count "$ALICE_PROFILE")" = 4 ] || fail "alice's My store should hold 4 certificates"
serial=$(openssl x509 -in "$E2E_TMP/alice/9a.crt" -noout -serial | cut -d= -f2)
out=$("$SCARDLAB" certutil --profile "$ALICE_PROFILE" -v -silent -user -store My "$serial" 2>&1) ||
    { echo "$out" >&2; fail "certutil should find the 9A certificate by serial $serial"; }
expect_contains "$out" "Provider = Microsoft Base Smart Card Crypto Provider" "certutil KEY_PROV_INFO"
expect_contains "$out" "Key Container = " "certutil KEY_PROV_INFO"

note "pkcs15-tool inside the session lists the card through the redirection"
out=$(in_session alice pkcs15-tool --list-certificates 2>&1) || { echo "$out" >&2; fail "pkcs15-tool in the session"; }
[ "$(grep -c '^X.509 Certificate' <<<"$out")" = 4 ] || { echo "$out" >&2; fail "pkcs15-tool should list 4 certificates"; }
in_session alice pkcs15-tool --read-certificate 01 -o "$E2E_TMP/s01.pem" >/dev/null 2>&1 ||
    fail "pkcs15-tool --read-certificate 01 in the session"
cmp -s <(der_of "$E2E_TMP/alice/9a.crt") <(der_of "$E2E_TMP/s01.pem") ||
    fail "certificate read in the session should equal the minted 9A certificate"

note "pkcs11-tool signs through the redirection; openssl verifies"
echo "signed in an RDP session $RANDOM" >"$E2E_TMP/data.txt"
out=$(in_session alice pkcs11-tool --module "$PKCS11_MODULE" --login --pin 123456 --sign --id 01 \
      -m SHA256-RSA-PKCS -i "$E2E_TMP/data.txt" -o "$E2E_TMP/sig.bin" 2>&1) ||
    { echo "$out" >&2; fail "pkcs11-tool --sign in the session should succeed"; }
openssl x509 -in "$E2E_TMP/alice/9a.crt" -noout -pubkey >"$E2E_TMP/pub.pem"
openssl dgst -sha256 -verify "$E2E_TMP/pub.pem" -signature "$E2E_TMP/sig.bin" "$E2E_TMP/data.txt" >/dev/null ||
    fail "openssl should verify the signature made through the redirection"

note "killing the client mid-session ends the session; certprop and the socket go"
s1=$(readlink "$HOST_STATE/users/alice/current")
cp_pid=$(cat "$s1/certprop.pid")
kill -9 "$CLIENT_PID"
wait_log "alice-1: session ended" 20
[ ! -e "$s1/pcscd.comm" ] || fail "the session's PC/SC socket should be removed"
[ ! -e "$s1/certprop.pid" ] || fail "certprop.pid should be removed"
if kill -0 "$cp_pid" 2>/dev/null; then fail "certprop pid $cp_pid should be stopped"; fi
[ ! -e "$HOST_STATE/users/alice/current" ] || fail "alice's current link should go with the session"

note "the host keeps serving: a new session works"
client_start a2 alice Alice-pw1 "$E2E_TMP/lab" /smartcard
wait_log "alice-2: scard: contexts established" 20
out=$(in_session alice pkcs15-tool --list-certificates 2>&1) || { echo "$out" >&2; fail "pkcs15-tool in the second session"; }

note "SIGTERM closes the session in order and stops the host"
kill "$HOST_PID"
for _ in $(seq 1 100); do kill -0 "$HOST_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$HOST_PID" 2>/dev/null; then fail "host should exit within 10 s of SIGTERM"; fi
wait "$HOST_PID" || fail "host should exit 0 on SIGTERM"
grep -q "alice-2: scard: teardown done" "$E2E_TMP/host.log" || fail "host should log the smart-card teardown"
for _ in $(seq 1 50); do kill -0 "$CLIENT_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$CLIENT_PID" 2>/dev/null; then fail "xfreerdp should not hang after the host ends the session"; fi
[ -z "$(find "$HOST_STATE" -name pcscd.comm)" ] || fail "no PC/SC socket should remain"
[ ! -e "$HOST_STATE/host.pid" ] || fail "host.pid should be removed"
echo "PASS [$E2E_NAME]"
