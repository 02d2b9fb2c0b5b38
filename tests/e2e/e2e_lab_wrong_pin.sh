#!/bin/bash
# Wrong PINs count down and then block the card, as OpenSC and a raw VERIFY
# status query both see: 63 C2, 63 C1, then 69 83; the right PIN no longer works.
. "$(dirname "$0")/lib.sh" || exit 1
e2e_init opensc-tool pkcs11-tool

lab=$E2E_TMP/lab card=$E2E_TMP/card
lab_up "$lab"
mint "$card" "Carol Pin" --slots 9a --key p256
"$SCARDLAB" card insert --lab "$lab" "$card/card.conf" || fail "card insert should succeed"

SELECT_PIV='00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00'
VERIFY_STATUS='00 20 00 80'

pin_status() { apdu_sws "$lab" "$SELECT_PIV" "$VERIFY_STATUS" | tail -n 1; }
login() { in_lab "$lab" pkcs11-tool --module "$PKCS11_MODULE" --login --pin "$1" --list-objects >/dev/null 2>&1; }

[ "$(pin_status)" = "63 C3" ] || fail "a fresh card's VERIFY status should be 63 C3, got '$(pin_status)'"
expected=("63 C2" "63 C1" "69 83")
for i in 0 1 2; do
    if login 000000; then fail "pkcs11-tool --login --pin 000000 should fail (attempt $((i + 1)))"; fi
    got=$(pin_status)
    [ "$got" = "${expected[$i]}" ] ||
        fail "after $((i + 1)) wrong PIN(s) the VERIFY status should be ${expected[$i]}, got '$got'"
done
if login 123456; then fail "the right PIN should be refused once the PIN is blocked"; fi
[ "$(pin_status)" = "69 83" ] || fail "a blocked PIN should stay blocked (69 83)"
echo "PASS [$E2E_NAME]"
