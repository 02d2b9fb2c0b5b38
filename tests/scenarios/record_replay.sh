#!/bin/bash
# record_replay.sh - a case captured once plays again without its card:
# `scardlab run --record` the incident over RDP, then `scardlab replay` the
# recorded card side into a fresh lab; pkcs15-tool lists the same
# certificates and certprop propagates the same SHA-1s as in the recorded
# run.  Exit 77 only when not root.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "SKIP: labs need root"; exit 77; }
TMP=$(mktemp -d /tmp/scl-replay-test.XXXXXX)
LAB=$TMP/lab
cleanup() { "$SCARDLAB" lab down --dir "$LAB" >/dev/null 2>&1 || true; rm -rf "$TMP"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$SCARDLAB" run --quiet --record "$TMP/incident.rec" "$SCL_SRC/scenarios/files/rdp-story.scn" || fail "recorded run failed"
head -1 "$TMP/incident.rec" | grep -q '"scardlab_record"' || fail "no record header"
grep -q '"exchange":{"client":"laptop","reader":"scardlab 00 00","command":"00cb3fff055c035fc10500"' "$TMP/incident.rec" \
    || fail "the GET DATA of the 9A certificate is not recorded"
grep '"events"' "$TMP/incident.rec" | grep '"cert_added"' | grep -o '"sha1":"[0-9A-F]*"' | sort >"$TMP/want"
[ "$(wc -l <"$TMP/want")" = 4 ] || fail "the record holds $(wc -l <"$TMP/want") cert_added events, not 4"
"$SCARDLAB" replay "$TMP/incident.rec" | grep -q 'ATR 3b' || fail "replay FILE does not describe the record"

# a fresh lab, no card file anywhere: only the record
"$SCARDLAB" lab up --dir "$LAB" >/dev/null
"$SCARDLAB" replay "$TMP/incident.rec" --lab "$LAB" --slot 0 || fail "replay into the lab failed"
export PCSCLITE_CSOCK_NAME=$LAB/run/pcscd/pcscd.comm
pkcs15-tool --list-certificates >"$TMP/p15" 2>&1 || { cat "$TMP/p15"; fail "pkcs15-tool failed on the replayed card"; }
for s in 98 99 9A 9B; do
    grep -q "Encoded serial : 02 0A 05051C00227F3CDDFA$s" "$TMP/p15" || fail "pkcs15-tool lacks certificate serial ...FA$s"
done
timeout 60 "$SCARDLAB" certprop --profile "$TMP/profile" --json --once >"$TMP/cp.json" 2>"$TMP/cp.err" || fail "certprop failed: $(tail -3 "$TMP/cp.err")"
grep '"cert_added"' "$TMP/cp.json" | grep -o '"sha1":"[0-9A-F]*"' | sort >"$TMP/got"
diff "$TMP/want" "$TMP/got" || fail "certprop on the replayed card propagated other SHA-1s"
"$SCARDLAB" certutil --profile "$TMP/profile" -user -store My | grep -q 'Provider = Microsoft Base Smart Card Crypto Provider' \
    || fail "no key-provider claim in the store"
grep -q 'commands answered from the record\|replay: 00cb3fff055c035fc105' "$LAB/slot0.log" || fail "replay log shows no answered GET DATA"
"$SCARDLAB" card remove --lab "$LAB" --slot 0 >/dev/null || fail "card remove of the replayed card failed"
grep -q 'commands answered from the record' "$LAB/slot0.log" || fail "the replayed card did not report its tally when pulled"
"$SCARDLAB" lab down --dir "$LAB" >/dev/null
left=$(pgrep -f -- "$TMP" || true)
[ -z "$left" ] || fail "processes still running: $left"
echo "PASS: replayed card: same 4 certificates (pkcs15-tool) and same SHA-1s propagated; $(tail -1 "$LAB/slot0.log")"
