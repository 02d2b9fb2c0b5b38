#!/bin/bash
# CertPropEnabled=0 switches propagation off: the service still runs and sees
# the card, says why it does nothing, and writes nothing.  A policy file with
# a bad line is refused with its file:line; SIGHUP re-reads the file.
. "$(dirname "$0")/certprop_lib.sh" || exit 1
e2e_init

lab=$E2E_TMP/lab card=$E2E_TMP/card profile=$E2E_TMP/profile pol=$E2E_TMP/certprop.reg
lab_up "$lab"
mint "$card" "Firstname Lastname" --slots 9a,9c

printf '%s\r\n' 'Windows Registry Editor Version 5.00' '' \
    '[HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows\CertProp]' \
    '"CertPropEnabled"=dword:00000000' >"$pol"
certprop_start "$lab" "$profile" --policy "$pol"
grep -q "propagation disabled by policy" "$E2E_TMP/certprop.err" ||
    fail "certprop should log 'propagation disabled by policy' at start"

"$SCARDLAB" card insert --lab "$lab" --slot 0 "$card/card.conf" || fail "card insert should succeed"
wait_event '"event":"skipped","reader":"scardlab 00 00","reason":"propagation disabled by policy' \
    "skipped event for the inserted card"
sleep 0.5 # a late write would show up here
[ -z "$(find "$profile" -type f 2>/dev/null)" ] ||
    { find "$profile" -type f >&2; fail "with CertPropEnabled=0 nothing should be written under the profile"; }
! grep -q '"event":"cert_added"' "$E2E_TMP/certprop.json" || fail "no cert_added with CertPropEnabled=0"

# SIGHUP re-reads the file: switched on, the next insertion propagates.
printf '%s\n' '[HKLM\Software\Policies\Microsoft\Windows\CertProp]' 'CertPropEnabled=dword:1' >"$pol"
kill -HUP "$CERTPROP_PID"
for _ in $(seq 100); do
    grep -q "policy reloaded: CertPropEnabled=1" "$E2E_TMP/certprop.err" && break
    sleep 0.05
done
grep -q "policy reloaded: CertPropEnabled=1" "$E2E_TMP/certprop.err" || fail "SIGHUP should reload the policy"
"$SCARDLAB" card remove --lab "$lab" --slot 0 || fail "card remove should succeed"
"$SCARDLAB" card insert --lab "$lab" --slot 0 "$card/card.conf" || fail "card insert should succeed"
wait_count "$profile/$MY_REL" 2 "after SIGHUP enabled propagation"
certprop_stop
rm -rf "$profile"

# A typo is an error with file:line, and the service does not start.
printf '%s\n' '[HKLM\Software\Policies\Microsoft\Windows\CertProp]' 'CertPropEnabled=dword:0' \
    'CertPropEnable=dword:00000001' >"$pol"
if out=$(PCSCLITE_CSOCK_NAME="$lab/run/pcscd/pcscd.comm" "$SCARDLAB" certprop --profile "$profile" \
         --policy "$pol" --once 2>&1); then
    fail "certprop should refuse a policy file with an unknown value name"
fi
expect_contains "$out" "$pol:3: unknown value name 'CertPropEnable'" "bad policy file"

# Switched back on, the same card now propagates (--once: the card is still in).
printf '%s\n' '[HKLM\Software\Policies\Microsoft\Windows\CertProp]' 'CertPropEnabled=dword:1' >"$pol"
PCSCLITE_CSOCK_NAME="$lab/run/pcscd/pcscd.comm" "$SCARDLAB" certprop --profile "$profile" \
    --policy "$pol" --once 2>"$E2E_TMP/once.err" || { cat "$E2E_TMP/once.err" >&2; fail "certprop --once should succeed"; }
wait_count "$profile/$MY_REL" 2 "certprop --once with CertPropEnabled=1"
echo "PASS [$E2E_NAME]"
