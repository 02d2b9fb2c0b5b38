#!/bin/bash
# The per-session socket refuses a peer of another uid (even with the file
# system opened to it) while serving root; and garbage, lies about sizes,
# half messages and abandoned waits close only the offending connection:
# a stock client still works afterwards.
. "$(dirname "$0")/pcsock_lib.sh" || exit 1
e2e_init opensc-tool setpriv
[ "$(id -u)" = 0 ] || { echo "SKIP [$E2E_NAME]: needs root to run a client as nobody"; exit 77; }

lab=$E2E_TMP/lab card=$E2E_TMP/card
lab_up "$lab"
mint "$card" "Eve Socket" --slots 9a --key p256
"$SCARDLAB" card insert --lab "$lab" --slot 0 "$card/card.conf" || fail "card insert should succeed"
pcsock_up "$lab"

# Only the peer check stands in nobody's way now.
chmod 711 "$E2E_TMP" "$PCSOCK_DIR"
chmod 666 "$PCSOCK"
out=$(in_sock setpriv --reuid=nobody --regid=nogroup --clear-groups opensc-tool -l 2>&1) || true
grep -q "scardlab 00" <<<"$out" &&
    { echo "$out" >&2; fail "opensc-tool -l as nobody should see no reader: pcsock serves only its uid and root"; }
out=$(in_sock setpriv --reuid=nobody --regid=nogroup --clear-groups \
      "$PCSOCK_HELPERS/pcsock_cancel_helper" "scardlab 00 00" 2>&1) &&
    { echo "$out" >&2; fail "SCardEstablishContext as nobody should fail"; }
expect_contains "$out" "establish:" "pcsock_cancel_helper as nobody"
grep -q "refused peer pid [0-9]* uid $(id -u nobody)" "$PCSOCK_DIR/serve.log" ||
    { cat "$PCSOCK_DIR/serve.log" >&2; fail "pcsock should log the refused peer with its uid"; }
pcsock_alive "refusing nobody"

out=$("$PCSOCK_HELPERS/pcsock_hostile" "$PCSOCK" 2>&1) ||
    { echo "$out" >&2; fail "every hostile connection should be closed by pcsock (or answered)"; }
pcsock_alive "the hostile client"
grep -q "rxHeader at byte 0: size: SCARD_CONNECT needs 152 bytes, got 151; closing it" \
    "$PCSOCK_DIR/serve.log" || fail "pcsock should log the size lie with the command and sizes"
pcsock_down
echo "PASS [$E2E_NAME]"
