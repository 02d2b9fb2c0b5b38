#!/bin/bash
# OpenSC through the per-session socket (pcsock + lab passthrough) sees what
# it sees on the lab directly: the reader with its card, all four
# certificates byte for byte, and the keys sign (judged by openssl).
. "$(dirname "$0")/pcsock_lib.sh" || exit 1
e2e_init opensc-tool pkcs15-tool pkcs11-tool openssl

lab=$E2E_TMP/lab card=$E2E_TMP/card
lab_up "$lab"
mint "$card" "Alice Socket" --upn alice.socket@contoso.test --key rsa2048
"$SCARDLAB" card insert --lab "$lab" --slot 0 "$card/card.conf" || fail "card insert should succeed"
pcsock_up "$lab"
[ "$(stat -c %a "$PCSOCK")" = 600 ] || fail "the socket file should be mode 600"

out=$(in_sock opensc-tool -l 2>&1)
grep -qE '^0 +Yes +scardlab 00 00' <<<"$out" ||
    { echo "$out" >&2; fail "opensc-tool -l through pcsock should list 'scardlab 00 00' with a card"; }
grep -qE '^1 +No +scardlab 00 01' <<<"$out" ||
    { echo "$out" >&2; fail "opensc-tool -l through pcsock should list the empty 'scardlab 00 01'"; }

out=$(in_sock pkcs15-tool --list-certificates 2>&1)
n=$(grep -c '^X.509 Certificate' <<<"$out" || true)
[ "$n" = 4 ] || { echo "$out" >&2; fail "pkcs15-tool --list-certificates through pcsock should list 4, listed $n"; }
for id in 01 02 03 04; do
    in_sock pkcs15-tool --read-certificate $id -o "$E2E_TMP/sock-$id.pem" >/dev/null 2>&1 ||
        fail "pkcs15-tool --read-certificate $id through pcsock should succeed"
    in_lab "$lab" pkcs15-tool --read-certificate $id -o "$E2E_TMP/lab-$id.pem" >/dev/null 2>&1 ||
        fail "pkcs15-tool --read-certificate $id on the lab should succeed"
    cmp -s <(der_of "$E2E_TMP/sock-$id.pem") <(der_of "$E2E_TMP/lab-$id.pem") ||
        fail "certificate $id through pcsock should equal the lab's direct read"
    cmp -s <(der_of "$E2E_TMP/sock-$id.pem") <(der_of "$card/$(slot_of_id $id).crt") ||
        fail "certificate $id through pcsock should equal the minted one"
done

# sign_and_verify runs its client through in_lab: point that at the socket.
in_lab() { shift; in_sock "$@"; }
sign_and_verify "$lab" "$card" 01 SHA256-RSA-PKCS
sign_and_verify "$lab" "$card" 02 SHA256-RSA-PKCS # 9C: PIN always
grep -q 'closing it' "$PCSOCK_DIR/serve.log" && { cat "$PCSOCK_DIR/serve.log" >&2; fail "no client should have been closed for a protocol error"; }
pcsock_down
echo "PASS [$E2E_NAME]"
