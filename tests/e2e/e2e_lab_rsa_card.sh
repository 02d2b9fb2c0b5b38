#!/bin/bash
# An RSA-2048 card with all four PIV slots, judged by OpenSC and openssl:
# listed, every certificate reads back exactly, 9A and 9C keys sign.
. "$(dirname "$0")/lib.sh" || exit 1
e2e_init opensc-tool pkcs15-tool pkcs11-tool openssl

lab=$E2E_TMP/lab card=$E2E_TMP/card
lab_up "$lab"
mint "$card" "Alice Rsa" --upn alice.rsa@contoso.test --key rsa2048
"$SCARDLAB" card insert --lab "$lab" "$card/card.conf" || fail "card insert should succeed"

check_certs_on_card "$lab" "$card" alice.rsa@contoso.test
sign_and_verify "$lab" "$card" 01 SHA256-RSA-PKCS
sign_and_verify "$lab" "$card" 02 SHA256-RSA-PKCS   # 9C: always-authenticate
echo "PASS [$E2E_NAME]"
