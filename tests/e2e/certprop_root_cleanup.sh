#!/bin/bash
# A self-signed CA certificate on the card goes to the machine's SmartCardRoot
# store (not to My), and RootCertificateCleanupOption decides when certprop
# takes it away again: 1 on card removal, 2 when the service ends ("logoff").
# EnableRootCertificatePropagation=0 keeps it out.  Personal certificates are
# never removed.
. "$(dirname "$0")/certprop_lib.sh" || exit 1
e2e_init openssl iconv od

lab=$E2E_TMP/lab card=$E2E_TMP/card machine=$E2E_TMP/machine pol=$E2E_TMP/pol.reg
roots=$machine/$ROOT_REL
lab_up "$lab"
mint "$card" "Firstname Lastname" --slots 9a,9c,9d
# The same card with the test root CA in the Card Authentication container.
sed '$a slot 9e rsa2048 cert=ca/ca.crt key=ca/ca.key' "$card/card.conf" >"$card/with-root.conf"
root_sha1=$(sha1_of "$card/ca/ca.crt")

policy() {
    printf '%s\n' '[HKLM\Software\Policies\Microsoft\Windows\CertProp]' "$@" >"$pol"
}

note "RootCertificateCleanupOption=1: removed with the card"
policy 'RootCertificateCleanupOption=dword:00000001'
certprop_start "$lab" "$E2E_TMP/p1" --machine "$machine" --policy "$pol"
"$SCARDLAB" card insert --lab "$lab" --slot 0 "$card/with-root.conf" || fail "card insert"
wait_count "$roots" 1 "root propagation"
[ -f "$roots/$root_sha1" ] || fail "SmartCardRoot should hold the CA certificate ($root_sha1)"
wait_count "$E2E_TMP/p1/$MY_REL" 3 "personal certificates"
[ ! -e "$E2E_TMP/p1/$MY_REL/$root_sha1" ] || fail "the CA certificate should not go to My"
"$SCARDLAB" card remove --lab "$lab" --slot 0 || fail "card remove"
wait_count "$roots" 0 "RootCertificateCleanupOption=1 after removal"
wait_event "\"event\":\"cert_removed\",\"sha1\":\"$root_sha1\"" "cert_removed event for the root"
wait_count "$E2E_TMP/p1/$MY_REL" 3 "personal certificates after removal"
certprop_stop

note "RootCertificateCleanupOption=2 (default): removed at logoff"
policy 'CertPropEnabled=dword:00000001'
certprop_start "$lab" "$E2E_TMP/p2" --machine "$machine" --policy "$pol"
"$SCARDLAB" card insert --lab "$lab" --slot 0 "$card/with-root.conf" || fail "card insert"
wait_count "$roots" 1 "root propagation (option 2)"
"$SCARDLAB" card remove --lab "$lab" --slot 0 || fail "card remove"
wait_event '"event":"card_removed"' "card_removed (option 2)"
wait_count "$roots" 1 "option 2 keeps the root while the session lasts"
certprop_stop
wait_count "$roots" 0 "option 2 after the service ended"
wait_count "$E2E_TMP/p2/$MY_REL" 3 "personal certificates after logoff"

note "EnableRootCertificatePropagation=0: never there"
policy 'EnableRootCertificatePropagation=dword:00000000'
"$SCARDLAB" card insert --lab "$lab" --slot 0 "$card/with-root.conf" || fail "card insert"
PCSCLITE_CSOCK_NAME="$lab/run/pcscd/pcscd.comm" "$SCARDLAB" certprop --profile "$E2E_TMP/p3" \
    --machine "$machine" --policy "$pol" --once --json >"$E2E_TMP/once.json" 2>"$E2E_TMP/once.err" ||
    { cat "$E2E_TMP/once.err" >&2; fail "certprop --once should succeed"; }
[ -z "$(ls -A "$roots" 2>/dev/null)" ] || fail "no root with EnableRootCertificatePropagation=0"
grep -q "\"event\":\"skipped\".*\"sha1\":\"$root_sha1\".*EnableRootCertificatePropagation is 0" \
    "$E2E_TMP/once.json" || { cat "$E2E_TMP/once.json" >&2; fail "the root should be reported skipped"; }
wait_count "$E2E_TMP/p3/$MY_REL" 3 "personal certificates with root propagation off"
echo "PASS [$E2E_NAME]"
