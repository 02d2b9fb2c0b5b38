#!/bin/bash
# Through the per-session socket, pcsc_scan sees a removal and an insertion
# done on the lab, in the right reader; and SCardCancel ends an INFINITE
# SCardGetStatusChange with SCARD_E_CANCELLED, after which the context works.
. "$(dirname "$0")/pcsock_lib.sh" || exit 1
e2e_init pcsc_scan stdbuf timeout

lab=$E2E_TMP/lab card=$E2E_TMP/card
lab_up "$lab"
mint "$card" "Dave Socket" --slots 9a --key p256
"$SCARDLAB" card insert --lab "$lab" --slot 0 "$card/card.conf" || fail "card insert should succeed"
pcsock_up "$lab"

out=$(in_sock timeout 20 "$PCSOCK_HELPERS/pcsock_cancel_helper" "scardlab 00 00" 2>&1) ||
    { echo "$out" >&2; fail "SCardCancel through pcsock should end the INFINITE wait with SCARD_E_CANCELLED"; }
expect_contains "$out" "0x80100002" "pcsock_cancel_helper"

scan=$E2E_TMP/scan.out
in_sock stdbuf -oL pcsc_scan -n >"$scan" 2>&1 &
scan_pid=$!
trap 'st=$?; kill $scan_pid 2>/dev/null || true; wait $scan_pid 2>/dev/null || true; [ $st = 0 ] || tail -n 30 "$PCSOCK_DIR/serve.log" >&2; pcsock_kill; set +e; (exit $st); e2e_cleanup' EXIT

# states READER: the "Card state" lines pcsc_scan printed for that reader.
states() {
    tr -d '\r' <"$scan" | awk -v r="$1" '
        /^ Reader [0-9]+: / { cur = substr($0, index($0, ": ") + 2) }
        /^  Card state: / && cur == r { s = $0; sub(/^  Card state: /, "", s); sub(/, *$/, "", s); print s }' |
        paste -sd, -
}
wait_states() {
    for _ in $(seq 100); do
        [ "$(states "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    cat "$scan" >&2
    fail "pcsc_scan through pcsock should show '$2' for reader '$1', showed '$(states "$1")'"
}

wait_states "scardlab 00 00" "Card inserted"
"$SCARDLAB" card remove --lab "$lab" --slot 0 || fail "card remove should succeed"
wait_states "scardlab 00 00" "Card inserted,Card removed"
"$SCARDLAB" card insert --lab "$lab" --slot 0 "$card/card.conf" || fail "card insert should succeed"
wait_states "scardlab 00 00" "Card inserted,Card removed,Card inserted"
[ "$(states "scardlab 00 01")" = "Card removed" ] ||
    fail "reader 'scardlab 00 01' should show no events, showed '$(states "scardlab 00 01")'"
grep -q "ATR: 3B" "$scan" || fail "pcsc_scan should print the card's ATR on insertion"
echo "PASS [$E2E_NAME]"
