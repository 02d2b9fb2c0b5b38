#!/bin/bash
# certprop keeps running through cards pulled while it reads them (nothing
# partial is ever written: every file in My is a whole element of one of the
# card's certificates) and through pcscd going away and coming back.
. "$(dirname "$0")/certprop_lib.sh" || exit 1
e2e_init openssl iconv od

lab=$E2E_TMP/lab card=$E2E_TMP/card profile=$E2E_TMP/profile
my=$profile/$MY_REL
lab_up "$lab"
mint "$card" "Firstname Lastname"
certprop_start "$lab" "$profile"

# Insert and pull at once, over and over: some pulls land inside the read.
for i in $(seq 12); do
    "$SCARDLAB" card insert --lab "$lab" --slot 0 "$card/card.conf" || fail "card insert ($i)"
    "$SCARDLAB" card remove --lab "$lab" --slot 0 || fail "card remove ($i)"
    kill -0 "$CERTPROP_PID" || fail "certprop should survive a card pulled at once ($i)"
done
sleep 0.5
for f in "$my"/*; do
    [ -e "$f" ] || continue
    name=$(basename "$f")
    [[ $name =~ ^[0-9A-F]{40}$ ]] || continue
    slot=
    for s in 9a 9c 9d 9e; do [ "$(sha1_of "$card/$s.crt")" = "$name" ] && slot=$s; done
    [ -n "$slot" ] || fail "$name in My is not one of the card's certificates"
    check_element "$my" "$card" "$slot" "$BASE_CSP"
done
pulled=$(grep -c "during the read; nothing written" "$E2E_TMP/certprop.err" || true)
note "cards pulled mid-read: $pulled of 12 (the rest were read whole or not at all)"

# Whatever happened before, a card that stays in is propagated in full.
rm -f "$my"/[0-9A-F]*
"$SCARDLAB" card insert --lab "$lab" --slot 0 "$card/card.conf" || fail "card insert"
wait_count "$my" 4 "card left in after the pulls"
"$SCARDLAB" card remove --lab "$lab" --slot 0 || fail "card remove"

# pcscd goes away and comes back: certprop reconnects and sees the next card.
"$SCARDLAB" lab down --dir "$lab" || fail "lab down should succeed"
sleep 1
kill -0 "$CERTPROP_PID" || fail "certprop should survive pcscd going away"
"$SCARDLAB" lab up --dir "$lab" >/dev/null || fail "lab up (again) should succeed"
for _ in $(seq 200); do
    grep -q "PC/SC service is back" "$E2E_TMP/certprop.err" && break
    sleep 0.05
done
grep -q "PC/SC service is back" "$E2E_TMP/certprop.err" ||
    { cat "$E2E_TMP/certprop.err" >&2; fail "certprop should log that PC/SC is back"; }
rm -f "$my"/[0-9A-F]*
"$SCARDLAB" card insert --lab "$lab" --slot 1 "$card/card.conf" || fail "card insert after pcscd restart"
wait_count "$my" 4 "card inserted after pcscd came back"
n=$(grep -c "PC/SC service unavailable" "$E2E_TMP/certprop.err" || true)
[ "$n" -le 6 ] || fail "retry logging should be bounded (logged $n times)"
certprop_stop
echo "PASS [$E2E_NAME]"
