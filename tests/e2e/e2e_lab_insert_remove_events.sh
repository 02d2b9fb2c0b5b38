#!/bin/bash
# pcsc_scan, a stock PC/SC event loop, sees each insertion and removal in the
# reader it happened in, and nothing in the other one.
. "$(dirname "$0")/lib.sh" || exit 1
e2e_init pcsc_scan stdbuf

lab=$E2E_TMP/lab card=$E2E_TMP/card
lab_up "$lab"
mint "$card" "Dave Events" --slots 9a --key p256

scan=$E2E_TMP/scan.out
in_lab "$lab" stdbuf -oL pcsc_scan -n >"$scan" 2>&1 &
scan_pid=$!
stop_scan() { kill "$scan_pid" 2>/dev/null || true; wait "$scan_pid" 2>/dev/null || true; }
# Keep the test's own exit status: stop_scan would otherwise reset $? to 0.
trap 'st=$?; stop_scan; (exit $st); e2e_cleanup' EXIT

# states READER: the "Card state" lines pcsc_scan printed for that reader.
states() {
    tr -d '\r' <"$scan" | awk -v r="$1" '
        /^ Reader [0-9]+: / { cur = substr($0, index($0, ": ") + 2) }
        /^  Card state: / && cur == r { s = $0; sub(/^  Card state: /, "", s); sub(/, *$/, "", s); print s }' |
        paste -sd, -
}
# wait_states READER EXPECTED: poll until pcsc_scan has printed exactly that.
wait_states() {
    for _ in $(seq 100); do
        [ "$(states "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    cat "$scan" >&2
    fail "pcsc_scan should show '$2' for reader '$1', showed '$(states "$1")'"
}

wait_states "scardlab 00 00" "Card removed"
"$SCARDLAB" card insert --lab "$lab" --slot 0 "$card/card.conf" || fail "card insert (slot 0) should succeed"
wait_states "scardlab 00 00" "Card removed,Card inserted"
"$SCARDLAB" card remove --lab "$lab" --slot 0 || fail "card remove (slot 0) should succeed"
wait_states "scardlab 00 00" "Card removed,Card inserted,Card removed"

"$SCARDLAB" card insert --lab "$lab" --slot 1 "$card/card.conf" || fail "card insert (slot 1) should succeed"
wait_states "scardlab 00 01" "Card removed,Card inserted"
"$SCARDLAB" card remove --lab "$lab" --slot 1 || fail "card remove (slot 1) should succeed"
wait_states "scardlab 00 01" "Card removed,Card inserted,Card removed"
[ "$(states "scardlab 00 00")" = "Card removed,Card inserted,Card removed" ] ||
    fail "slot 1's events should not show up in reader 'scardlab 00 00'"
grep -q "ATR: 3B" "$scan" || fail "pcsc_scan should print the card's ATR on insertion"
echo "PASS [$E2E_NAME]"
