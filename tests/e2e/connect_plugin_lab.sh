#!/bin/bash
# connect_plugin_lab: the smart-card plug-in around FreeRDP's own device,
# driven with rdpdr-style IRPs (plugin_harness, no server) against a private
# lab with a card: the trace shows the SELECT and GET DATA APDUs, the
# plug-in's own Transmit answers as FreeRDP's does, and the strict reader
# policy hides readers from ListReaders, GetStatusChange and Connect.
source "$(dirname "$0")/lib.sh"
e2e_init pcscd opensc-tool
HARNESS=${SCL_BUILD:?}/bin/plugin_harness
[ -x "$HARNESS" ] || fail "plugin_harness not built ($HARNESS)"

lab="$E2E_TMP/lab"
lab_with_card "$lab" "Alice Smith"

note "no policy: both readers listed, the card answers, every call traced"
trace="$E2E_TMP/trace.jsonl"
out=$(timeout 60 "$HARNESS" --trace "$trace" --connect "scardlab 00 00" 2>&1) ||
    { echo "$out" >&2; fail "harness without policy should succeed"; }
expect_contains "$out" "reader: scardlab 00 00" "ListReadersW through the plug-in"
expect_contains "$out" "reader: scardlab 00 01" "ListReadersW through the plug-in"
grep -q '^Transmit .*"pbRecvBuffer":"61.*9000"' <<<"$out" ||
    { echo "$out" >&2; fail "SELECT PIV should answer 61 .. 90 00 through FreeRDP's device"; }
for ioctl in EstablishContext ListReadersW GetStatusChangeW ConnectW Transmit Disconnect ReleaseContext; do
    n=$(grep -c "\"ioctl\":\"$ioctl\"" "$trace" || true)
    [ "$n" -ge 2 ] || fail "trace should hold a call and a return of $ioctl (found $n lines)"
done
python3 - "$trace" <<'PY' || fail "every trace line should be one JSON object with time and dir"
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert o["time"].endswith("Z") and o["dir"] in ("call", "return"), o
PY
grep -q '"pbSendBuffer":"00a4040009a0000003080000100000"' "$trace" || fail "trace should show the SELECT PIV APDU as hex"
grep -q '"pbSendBuffer":"00cb3fff' "$trace" || fail "trace should show the GET DATA APDU as hex"

note "--freerdp-transmit: the same answers through FreeRDP's device threads"
out2=$(timeout 60 "$HARNESS" --connect "scardlab 00 00" --freerdp-transmit 2>&1) ||
    { echo "$out2" >&2; fail "harness with --freerdp-transmit should succeed"; }
[ "$(grep '^Transmit ' <<<"$out")" = "$(grep '^Transmit ' <<<"$out2")" ] ||
    { diff <(grep '^Transmit ' <<<"$out") <(grep '^Transmit ' <<<"$out2") >&2
      fail "the plug-in's own Transmit and FreeRDP's should answer alike"; }

note "--reader-allow 'scardlab 00 00': the other reader is never named"
out=$(timeout 60 "$HARNESS" --reader-allow "scardlab 00 00" 2>&1) || fail "harness with policy should run"
expect_contains "$out" "reader: scardlab 00 00" "allowed reader"
! grep -q "reader: scardlab 00 01" <<<"$out" || fail "reader 'scardlab 00 01' should be hidden"

note "--reader-allow nomatch: no reader, GetStatusChange says UNKNOWN, Connect refused"
trace2="$E2E_TMP/trace2.jsonl"
out=$(timeout 60 "$HARNESS" --trace "$trace2" --reader-allow nomatch --probe "scardlab 00 00" \
      --connect "scardlab 00 00" 2>&1) || { echo "$out" >&2; fail "harness with nomatch should run"; }
! grep -q "^reader:" <<<"$out" || { echo "$out" >&2; fail "no reader should be listed"; }
grep -q '^ListReadersW .*"ReturnCode":"0x8010002E"' <<<"$out" ||
    { echo "$out" >&2; fail "ListReadersW should say SCARD_E_NO_READERS_AVAILABLE"; }
grep -q '^GetStatusChangeW .*"dwEventState":7' <<<"$out" ||
    { echo "$out" >&2; fail "GetStatusChangeW should report the probed reader UNKNOWN|CHANGED|IGNORE"; }
grep -q '^ConnectW .*"ReturnCode":"0x80100009"' <<<"$out" ||
    { echo "$out" >&2; fail "ConnectW to the real name should get SCARD_E_UNKNOWN_READER"; }
! grep -q '"ioctl":"Transmit"' "$trace2" || fail "no APDU should reach the card"
grep -q '"policy":"denied: reader not allowed"' "$trace2" || fail "trace should record the denial"
echo "PASS [$E2E_NAME]"
