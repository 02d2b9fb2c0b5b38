#!/bin/bash
# certutil_verifykeys.sh - the story's second surprise, measured: after certprop
# propagates a card, -verifykeys says the key is claimed AND reachable; once
# the card is pulled it is still claimed but no longer reachable (exit 1,
# NTE_BAD_KEYSET).  Then the story's cleanup with en dashes empties My.
# Uses the lab and certprop helpers from tests/e2e (needs root: exit 77 skips).
set -euo pipefail
: "${SCL_SRC:?SCL_SRC must name the source tree}"
. "$SCL_SRC/tests/e2e/certprop_lib.sh" || exit 1
e2e_init openssl

lab=$E2E_TMP/lab card=$E2E_TMP/card profile=$E2E_TMP/profile
my=$profile/$MY_REL
lab_up "$lab"
mint "$card" "Firstname Lastname" --serial "05 05 1c 00 22 7f 3c dd fa 98"
certprop_start "$lab" "$profile"
"$SCARDLAB" card insert --lab "$lab" --slot 0 "$card/card.conf" || fail "card insert should succeed"
wait_count "$my" 4 "after inserting the card"

export SCARDLAB_PROFILE=$profile
sock=$lab/run/pcscd/pcscd.comm
out=$(PCSCLITE_CSOCK_NAME=$sock "$SCARDLAB" certutil -user -verifykeys My) ||
    { echo "$out" >&2; fail "-verifykeys with the card present should exit 0"; }
[ "$(grep -c '^Private key claimed: yes' <<<"$out")" = 4 ] || { echo "$out" >&2; fail "4 claimed keys"; }
[ "$(grep -c '^Private key reachable: yes (card in reader "scardlab 00 00"' <<<"$out")" = 4 ] ||
    { echo "$out" >&2; fail "4 reachable keys while the card is in"; }

"$SCARDLAB" card remove --lab "$lab" --slot 0 || fail "card remove should succeed"
wait_event '"event":"card_removed","reader":"scardlab 00 00"' "card_removed event"
rc=0
out=$(PCSCLITE_CSOCK_NAME=$sock "$SCARDLAB" certutil -user -verifykeys My 2>/dev/null) || rc=$?
[ "$rc" = 1 ] || { echo "$out" >&2; fail "-verifykeys after removal should exit 1, exited $rc"; }
[ "$(grep -c '^Private key claimed: yes' <<<"$out")" = 4 ] || fail "claims must outlive the card"
[ "$(grep -c '^Private key reachable: no (0 card(s) present' <<<"$out")" = 4 ] ||
    { echo "$out" >&2; fail "4 unreachable keys after removal"; }
expect_contains "$out" "CertUtil: -verifykeys command FAILED: 0x80090016 (-2146893802 NTE_BAD_KEYSET)" "stale claim verdict"

# -store shows the same two facts.
out=$(PCSCLITE_CSOCK_NAME=$sock "$SCARDLAB" certutil -user -store My "05 05 1c 00 22 7f 3c dd fa 98")
expect_contains "$out" "Private key reachable: no" "-store after removal"

certprop_stop
"$SCARDLAB" certutil –user –delstore My "Firstname Lastname" >/dev/null || fail "delstore by CN"
wait_count "$my" 0 "after the story's cleanup"
echo "PASS [$E2E_NAME]"
