#!/bin/bash
# A P-256 card with all four PIV slots, judged by OpenSC and openssl:
# listed, every certificate reads back exactly, 9A and 9C keys sign (ECDSA).
. "$(dirname "$0")/lib.sh" || exit 1
e2e_init opensc-tool pkcs15-tool pkcs11-tool openssl

lab=$E2E_TMP/lab card=$E2E_TMP/card
lab_up "$lab"
mint "$card" "Bob Ecc" --upn bob.ecc@contoso.test --key p256
"$SCARDLAB" card insert --lab "$lab" "$card/card.conf" || fail "card insert should succeed"

check_certs_on_card "$lab" "$card" bob.ecc@contoso.test
# pkcs11-tool gives raw r||s by default; openssl wants DER.
sign_and_verify "$lab" "$card" 01 ECDSA-SHA256 --signature-format openssl
sign_and_verify "$lab" "$card" 02 ECDSA-SHA256 --signature-format openssl
echo "PASS [$E2E_NAME]"
