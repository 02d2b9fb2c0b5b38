#!/bin/bash
# Two users at once from two labs (stock xfreerdp each): each session sees
# only its own client's card, each store receives only its own user's
# certificates; one client going away leaves the other session working.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/host_lib.sh"
host_init pkcs15-tool openssl python3

alice_and_bob_labs
host_config "$E2E_TMP/host.conf" fEnableSmartCard=1 certprop_service=running
host_start "$E2E_TMP/host.conf"

client_start alice alice Alice-pw1 "$E2E_TMP/laba" /smartcard
ALICE_CLIENT=$CLIENT_PID
client_start bob bob Bob-pw2 "$E2E_TMP/labb" /smartcard
wait_certs alice 4 40
wait_certs bob 4 40

sha_of() { openssl x509 -in "$1" -noout -fingerprint -sha1 | cut -d= -f2 | tr -d :; }
for u in alice bob; do
    other=$([ $u = alice ] && echo bob || echo alice)
    store="$E2E_TMP/profiles/$u/AppData/Roaming/Microsoft/SystemCertificates/My/Certificates"
    [ "$(my_count "$E2E_TMP/profiles/$u")" = 4 ] || fail "$u's store should hold exactly 4 certificates"
    [ -f "$store/$(sha_of "$E2E_TMP/$u/9a.crt")" ] || fail "$u's store should hold $u's 9A certificate"
    [ ! -f "$store/$(sha_of "$E2E_TMP/$other/9a.crt")" ] || fail "$u's store should not hold $other's certificate"
    in_session $u pkcs15-tool --read-certificate 01 -o "$E2E_TMP/$u-s01.pem" >/dev/null 2>&1 ||
        fail "pkcs15-tool in $u's session"
    cmp -s <(der_of "$E2E_TMP/$u/9a.crt") <(der_of "$E2E_TMP/$u-s01.pem") ||
        fail "$u's session should see $u's card, not $other's"
done

note "alice's client dies; bob's session keeps working"
kill -9 "$ALICE_CLIENT"
wait_log "alice-1: session ended" 20
in_session bob pkcs15-tool --list-certificates >/dev/null 2>&1 || fail "bob's session should still work"
echo "PASS [$E2E_NAME]"
