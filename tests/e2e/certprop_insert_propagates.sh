#!/bin/bash
# The leak itself: a PIV card inserted while certprop runs puts every one of
# its certificates into the profile's My store, each claiming the Base Smart
# Card CSP; pulling the card leaves them there, byte for byte.  Also prints
# the time from `card insert` returning to the certificates being stored.
. "$(dirname "$0")/certprop_lib.sh" || exit 1
e2e_init openssl iconv od

lab=$E2E_TMP/lab card=$E2E_TMP/card profile=$E2E_TMP/profile
my=$profile/$MY_REL
lab_up "$lab"
mint "$card" "Firstname Lastname" --serial "05 05 1c 00 22 7f 3c dd fa 98"

certprop_start "$lab" "$profile"
[ ! -e "$my" ] || fail "certprop should write nothing before a card is inserted"

"$SCARDLAB" card insert --lab "$lab" --slot 0 "$card/card.conf" || fail "card insert should succeed"
wait_count "$my" 4 "after inserting the card"
for slot in 9a 9c 9d 9e; do
    check_element "$my" "$card" "$slot" "$BASE_CSP"
done
wait_event '"event":"card_inserted","reader":"scardlab 00 00"' "card_inserted event"
[ "$(grep -c '"event":"cert_added"' "$E2E_TMP/certprop.json")" = 4 ] ||
    fail "certprop should report 4 cert_added events"
grep -q "certprop: added $(sha1_of "$card/9a.crt") CN=Firstname Lastname" "$E2E_TMP/certprop.err" ||
    fail "certprop should log the added 9a certificate on stderr"

# certutil's view, as the user in the story typed it.
if out=$("$SCARDLAB" certutil -v -silent -user -store My "05 05 1c 00 22 7f 3c dd fa 98" \
         --profile "$profile" 2>&1); then
    expect_contains "$(grep "Provider =" <<<"$out")" "Provider = $BASE_CSP" "certutil -v -store My <serial>"
else
    echo "$out" >&2
    fail "certutil -v -silent -user -store My <serial> --profile should succeed"
fi

before=$(cd "$my" && sha256sum ./*)
"$SCARDLAB" card remove --lab "$lab" --slot 0 || fail "card remove should succeed"
wait_event '"event":"card_removed","reader":"scardlab 00 00"' "card_removed event"
after=$(cd "$my" && sha256sum ./*)
[ "$before" = "$after" ] || fail "pulling the card should leave the My store exactly as it was"

# Latency: `card insert` returning -> 4 files in the store (median of 3).
times=()
for run in 1 2 3; do
    rm -f "$my"/*
    "$SCARDLAB" card insert --lab "$lab" --slot 0 "$card/card.conf" || fail "card insert (run $run)"
    t0=$(date +%s%N)
    wait_count "$my" 4 "timing run $run"
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000000 )))
    "$SCARDLAB" card remove --lab "$lab" --slot 0 || fail "card remove (run $run)"
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
note "insert -> certificates in My: ${times[*]} ms (median $median ms)"

certprop_stop
echo "PASS [$E2E_NAME]"
