#!/bin/bash
# connect_concurrent_readers: several PC/SC programs read the redirected card
# in the session at once, as certprop and a user's tool do.  Each must finish:
# the host once sent a Connect the client's pcscd held back behind another
# handle's transaction, on the one context FreeRDP serialises, and every
# program in the session hung for good.  Then (a race that needed a gate
# with a hold count): two Connects in flight, the first to end opened the
# gate under the second, a transaction began, and the second Connect reached
# the client's pcscd inside it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/connect_lib.sh"
connect_init timeout

client_up client --profile "$E2E_TMP/client" --password-env ALICE_PW --trace "$E2E_TMP/trace.jsonl" \
    /v:127.0.0.1:$PORT /u:alice /cert:ignore
wait_for 30 session_sees_card || fail "alice's session should see a reader with a card"

note "6 rounds of 4 pkcs15-tool reads at once (certprop reading too in round 1)"
for round in 1 2 3 4 5 6; do
    pids=()
    for i in 1 2 3 4; do
        in_session timeout 60 pkcs15-tool --read-certificate 01 \
            >"$E2E_TMP/read.$round.$i" 2>&1 &
        pids+=($!)
    done
    for i in 1 2 3 4; do
        rc=0
        wait "${pids[$((i - 1))]}" || rc=$?
        [ "$rc" != 124 ] || fail "round $round reader $i hung (killed after 60 s)"
        [ "$rc" = 0 ] || { cat "$E2E_TMP/read.$round.$i" >&2; fail "round $round reader $i exited $rc"; }
        grep -q "BEGIN CERTIFICATE" "$E2E_TMP/read.$round.$i" ||
            fail "round $round reader $i should print the certificate"
    done
done
wait_for 30 alice_store_has_at_least 4 || fail "certprop should still propagate 4 certificates"

note "the client never got a Connect while a handle held a transaction"
# A hang needs the client's pcscd to hold that Connect at the wrong moment;
# the order in the plug-in's trace shows the mistake every time it happens.
client_down
python3 - "$E2E_TMP/trace.jsonl" <<'PY' || fail "the host sent a Connect into another handle's transaction (see above)"
import json, sys
calls, open_tx, bad = {}, {}, 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    h = (o.get("hCard") or {}).get("pbHandle")
    if o["dir"] == "call":
        calls[o["CompletionId"]] = (o["ioctl"], h)
        if o["ioctl"] == "ConnectW" and open_tx:
            print("ConnectW #%d sent while %s held a transaction" % (o["CompletionId"], sorted(open_tx)))
            bad += 1
        if o["ioctl"] in ("EndTransaction", "Disconnect"):
            open_tx.pop(h, None)
        continue
    ioctl, h = calls.pop(o["CompletionId"], (None, None))
    if ioctl == "BeginTransaction" and o.get("ReturnCode") == "0x00000000":
        open_tx[h] = o["CompletionId"]
sys.exit(1 if bad else 0)
PY
echo "PASS [$E2E_NAME]"
