#!/bin/bash
# connect_redirect_off: a custom .rdp with redirectsmartcards:i:0 (and the
# file's own full address and username) leaves the session without a card
# and alice's store empty; a malformed .rdp is refused with file:line; an
# untrusted certificate is refused unless the user said otherwise.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/connect_lib.sh"
connect_init

rdp="$E2E_TMP/custom.rdp"
printf 'full address:s:127.0.0.1:%s\r\nusername:s:alice\r\nredirectsmartcards:i:0\r\nauthentication level:i:0\r\n' \
    "$PORT" | iconv -f UTF-8 -t UTF-16LE | { printf '\xff\xfe'; cat; } >"$rdp"

note "connect with the custom file (address, user and certificate choice from it)"
trace="$E2E_TMP/trace.jsonl"
client_up client "$rdp" --password-env ALICE_PW --trace "$trace"
expect_contains "$(cat "$E2E_TMP/client.out")" "smart cards not redirected (redirectsmartcards:i:0)" \
    "client output"
wait_for 20 grep -q "session started for user alice" "$E2E_TMP/host.log" ||
    fail "the host should start alice's session"
# certprop needs well under a second once a card shows up; give it plenty.
sleep 5
[ "$(alice_store_count)" = 0 ] || fail "alice's My store should stay empty, has $(alice_store_count)"
out=$(in_session pkcs15-tool --list-certificates 2>&1) || true
! grep -q '^X.509 Certificate' <<<"$out" || { echo "$out" >&2; fail "the session should see no card"; }
[ ! -s "$trace" ] || fail "no smart-card call should be traced"
client_down

note "a malformed .rdp file is refused with file:line, exit 3"
printf 'full address:s:127.0.0.1\nthis line is garbage\n' >"$E2E_TMP/bad.rdp"
rc=0
out=$("$SCARDLAB" connect "$E2E_TMP/bad.rdp" 2>&1) || rc=$?
[ "$rc" = 3 ] || { echo "$out" >&2; fail "a malformed .rdp should exit 3, exited $rc"; }
expect_contains "$out" "bad.rdp:2: expected key:type:value" "client output"
note "without /cert:ignore the host's self-signed certificate is refused, exit 4"
rc=0
out=$(timeout 60 "$SCARDLAB" connect --profile "$E2E_TMP/client" --password-env ALICE_PW \
      /v:127.0.0.1:$PORT /u:alice 2>/dev/null) || rc=$?
[ "$rc" = 4 ] || { echo "$out" >&2; fail "an untrusted certificate should exit 4, exited $rc"; }
expect_contains "$out" "certificate refused: 127.0.0.1:$PORT" "client output"
echo "PASS [$E2E_NAME]"
