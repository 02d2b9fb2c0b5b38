#!/bin/bash
# Two labs at once, each with its own card: each pcscd sees only its own
# readers and card, and taking one lab down leaves the other working.
. "$(dirname "$0")/lib.sh" || exit 1
e2e_init opensc-tool pkcs15-tool openssl

a=$E2E_TMP/lab-a b=$E2E_TMP/lab-b
lab_up "$a"
lab_up "$b"
mint "$E2E_TMP/card-a" "Alice Lab-A" --slots 9a --key p256
mint "$E2E_TMP/card-b" "Bob Lab-B" --slots 9a --key p256
"$SCARDLAB" card insert --lab "$a" --slot 0 "$E2E_TMP/card-a/card.conf" || fail "insert A's card into lab A"
"$SCARDLAB" card insert --lab "$b" --slot 1 "$E2E_TMP/card-b/card.conf" || fail "insert B's card into lab B slot 1"

holder_in() { # LAB -> subject of certificate 01 as that lab's pcscd serves it
    in_lab "$1" pkcs15-tool --read-certificate 01 2>/dev/null | openssl x509 -noout -subject
}
readers_in() { in_lab "$1" opensc-tool -l 2>&1 | grep -E '^[0-9]+ ' | awk '{print $1, $2}' | paste -sd, -; }

[ "$(readers_in "$a")" = "0 Yes,1 No" ] || fail "lab A should list its card in slot 0 only, listed '$(readers_in "$a")'"
[ "$(readers_in "$b")" = "0 No,1 Yes" ] || fail "lab B should list its card in slot 1 only, listed '$(readers_in "$b")'"
expect_contains "$(holder_in "$a")" "CN = Alice Lab-A" "lab A's card"
expect_contains "$(holder_in "$b")" "CN = Bob Lab-B" "lab B's card"

read -r pcscd_a _ <"$a/pcscd.pid"
"$SCARDLAB" lab down --dir "$a" || fail "lab down A should succeed"
[ ! -d "/proc/$pcscd_a" ] || [ "$(awk '{print $3}' "/proc/$pcscd_a/stat")" = Z ] ||
    fail "lab A's pcscd ($pcscd_a) should be gone after lab down A"
expect_contains "$(holder_in "$b")" "CN = Bob Lab-B" "lab B after lab A went down"
"$SCARDLAB" card remove --lab "$b" --slot 1 || fail "card remove in lab B should still work"
[ "$(readers_in "$b")" = "0 No,1 No" ] || fail "lab B should list no card after removal"
echo "PASS [$E2E_NAME]"
