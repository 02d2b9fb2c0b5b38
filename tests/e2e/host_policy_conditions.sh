#!/bin/bash
# Server policy, each condition false on its own, with stock xfreerdp: with
# fEnableSmartCard=0 the device is refused, nothing is redirected and alice's
# store stays empty; with certprop_service=stopped the card is usable in the
# session but nothing propagates, until SIGHUP with the service running.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/host_lib.sh"
host_init pkcs15-tool python3

lab_up "$E2E_TMP/lab"
mint "$E2E_TMP/alice" "Alice Example"
"$SCARDLAB" card insert --lab "$E2E_TMP/lab" --slot 0 "$E2E_TMP/alice/card.conf" >/dev/null ||
    fail "card insert should succeed"
ALICE_PROFILE="$E2E_TMP/profiles/alice"

note "fEnableSmartCard=0: the device is refused, the client stays connected, no certificates"
host_config "$E2E_TMP/off.conf" fEnableSmartCard=0 certprop_service=running
host_start "$E2E_TMP/off.conf"
client_start off alice Alice-pw1 "$E2E_TMP/lab" /smartcard
wait_log "alice-1: rdpdr: smart-card device [0-9]+ refused by policy fEnableSmartCard=0" 20
wait_log "alice-1: certprop started" 5
sleep 5
kill -0 "$CLIENT_PID" 2>/dev/null || fail "the client should see no error and stay connected"
[ "$(my_count "$ALICE_PROFILE")" = 0 ] || fail "fEnableSmartCard=0 should leave alice's store empty"
out=$(in_session alice pkcs15-tool --list-certificates 2>&1) && { echo "$out" >&2; fail "no card should be visible in the session"; }
kill "$HOST_PID"; wait "$HOST_PID" || fail "host should exit 0 on SIGTERM"
wait "$CLIENT_PID" || true

note "certprop_service=stopped: the card works in the session, nothing propagates"
host_config "$E2E_TMP/stopped.conf" fEnableSmartCard=1 certprop_service=stopped
host_start "$E2E_TMP/stopped.conf"
client_start stopped alice Alice-pw1 "$E2E_TMP/lab" /smartcard
wait_log "alice-2: scard: contexts established" 20
out=$(in_session alice pkcs15-tool --list-certificates 2>&1) || { echo "$out" >&2; fail "pkcs15-tool in the session"; }
sleep 3
[ "$(my_count "$ALICE_PROFILE")" = 0 ] || fail "a stopped service should leave alice's store empty"
s=$(readlink "$HOST_STATE/users/alice/current")
[ ! -e "$s/certprop.pid" ] || fail "no certprop should run while the service is stopped"

note "SIGHUP with the service running starts certprop in the live session"
host_config "$E2E_TMP/stopped.conf" fEnableSmartCard=1 certprop_service=running
kill -HUP "$HOST_PID"
wait_log "alice-2: certprop started" 10
wait_certs alice 4 30
[ "$(my_count "$ALICE_PROFILE")" = 4 ] || fail "the started service should propagate 4 certificates"
echo "PASS [$E2E_NAME]"
