#!/bin/bash
# connect_reader_policy: `scardlab connect --reader-allow nomatch` while the
# client's lab has a reader with alice's card: the session sees no reader,
# a Connect to the real name is refused, and nothing reaches alice's store.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/connect_lib.sh"
connect_init opensc-tool
JUDGE=${SCL_BUILD:?}/bin/pcsc_connect
[ -x "$JUDGE" ] || fail "pcsc_connect not built ($JUDGE)"
# The client's own PC/SC does see the reader and the card.
out=$("$JUDGE" "scardlab 00 00") || { echo "$out" >&2; fail "the lab itself should connect to 'scardlab 00 00'"; }

trace="$E2E_TMP/trace.jsonl"
client_up client --profile "$E2E_TMP/client" --password-env ALICE_PW --trace "$trace" \
    --reader-allow nomatch /v:127.0.0.1:$PORT /u:alice /cert:ignore
wait_for 20 grep -q '"ioctl":"ListReadersW".*"dir":"return"' "$trace" ||
    fail "the host should have listed the client's readers through the plug-in"

note "the session sees no reader"
out=$(in_session opensc-tool -l 2>&1) || true
! grep -q 'scardlab' <<<"$out" || { echo "$out" >&2; fail "opensc-tool -l in the session should list no reader"; }
grep '"ioctl":"ListReadersW".*"dir":"return"' "$trace" | grep -q '"ReturnCode":"0x8010002E"' ||
    fail "every ListReadersW return should be SCARD_E_NO_READERS_AVAILABLE"
! grep '"dir":"return"' "$trace" | grep -q 'scardlab 00 0' ||
    fail "no return may name a lab reader"

note "Connect to the real name is refused"
# The session's PC/SC socket already refuses a name ListReaders never gave;
# the plug-in's own refusal (UNKNOWN_READER, not forwarded) is proven by
# connect_plugin_lab, which sends ConnectW straight to the device.
rc=0
out=$(in_session "$JUDGE" "scardlab 00 00" 2>&1) || rc=$?
[ "$rc" != 0 ] || { echo "$out" >&2; fail "SCardConnect('scardlab 00 00') in the session should fail"; }
! grep -q '"ioctl":"Transmit"' "$trace" || fail "no APDU should reach the card"

sleep 3 # certprop would have read the card by now
[ "$(alice_store_count)" = 0 ] || fail "alice's My store should stay empty, has $(alice_store_count)"
client_down
echo "PASS [$E2E_NAME]"
