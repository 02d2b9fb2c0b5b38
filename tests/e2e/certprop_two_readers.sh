#!/bin/bash
# A card already present when certprop starts is propagated; a second card
# inserted into the other reader while it runs is picked up too.  ECC keys get
# the Smart Card KSP form, and the KeyProvider="KSP" extension switches RSA
# keys to it as well.
. "$(dirname "$0")/certprop_lib.sh" || exit 1
e2e_init openssl iconv od

lab=$E2E_TMP/lab rsa=$E2E_TMP/rsa ecc=$E2E_TMP/ecc profile=$E2E_TMP/profile
my=$profile/$MY_REL
lab_up "$lab"
mint "$rsa" "Firstname Lastname"
mint "$ecc" "Second Person" --key p256 --slots 9a,9c

"$SCARDLAB" card insert --lab "$lab" --slot 0 "$rsa/card.conf" || fail "card insert (slot 0) should succeed"
certprop_start "$lab" "$profile"
wait_count "$my" 4 "card present at start"
for slot in 9a 9c 9d 9e; do check_element "$my" "$rsa" "$slot" "$BASE_CSP"; done

"$SCARDLAB" card insert --lab "$lab" --slot 1 "$ecc/card.conf" || fail "card insert (slot 1) should succeed"
wait_count "$my" 6 "second card in reader 'scardlab 00 01'"
for slot in 9a 9c; do check_element "$my" "$ecc" "$slot" "$KSP"; done
wait_event '"event":"card_inserted","reader":"scardlab 00 01"' "card_inserted in the second reader"

# Both cards out, both still "have a private key" in the store.
"$SCARDLAB" card remove --lab "$lab" --slot 0 || fail "card remove (slot 0)"
"$SCARDLAB" card remove --lab "$lab" --slot 1 || fail "card remove (slot 1)"
wait_event '"event":"card_removed","reader":"scardlab 00 01"' "card_removed from the second reader"
wait_count "$my" 6 "after both cards left"
certprop_stop

# The scardlab extension: RSA keys in the KSP form.
pol=$E2E_TMP/ksp.reg
printf '%s\n' '[HKLM\Software\scardlab\CertProp]' 'KeyProvider="KSP"' >"$pol"
"$SCARDLAB" card insert --lab "$lab" --slot 0 "$rsa/card.conf" || fail "card insert (KSP run)"
PCSCLITE_CSOCK_NAME="$lab/run/pcscd/pcscd.comm" "$SCARDLAB" certprop --profile "$E2E_TMP/p2" \
    --policy "$pol" --once 2>"$E2E_TMP/once.err" || { cat "$E2E_TMP/once.err" >&2; fail "certprop --once (KSP)"; }
wait_count "$E2E_TMP/p2/$MY_REL" 4 "KeyProvider=KSP run"
for slot in 9a 9c 9d 9e; do check_element "$E2E_TMP/p2/$MY_REL" "$rsa" "$slot" "$KSP"; done
echo "PASS [$E2E_NAME]"
