#!/bin/bash
# The lab's promises about processes and the machine: vpcd unreachable from
# outside, no double start, occupied slots refused, lab down stops every
# recorded process and is idempotent, stale pid files are harmless, and the
# machine's /run/pcscd is never touched.
. "$(dirname "$0")/lib.sh" || exit 1
e2e_init opensc-tool

run_before=$(ls -la --time-style=+%s /run/pcscd 2>&1 || true)
lab=$E2E_TMP/lab card=$E2E_TMP/card
mint "$card" "Erin Lifecycle" --slots 9a --key p256
lab_up "$lab"

[ "$(stat -c %a "$lab")" = 700 ] || fail "the lab dir should be mode 0700"
if (exec 3<>/dev/tcp/127.0.0.1/35963) 2>/dev/null; then
    fail "vpcd's port 35963 should not be reachable outside the lab's network namespace"
fi
out=$("$SCARDLAB" lab up --dir "$lab" 2>&1) && fail "a second lab up in the same dir should fail"
expect_contains "$out" "already running" "second lab up"

"$SCARDLAB" card insert --lab "$lab" "$card/card.conf" || fail "card insert should succeed"
out=$("$SCARDLAB" card insert --lab "$lab" "$card/card.conf" 2>&1) && fail "inserting into an occupied slot should fail"
expect_contains "$out" "already holds a card" "insert into occupied slot"
out=$("$SCARDLAB" card remove --lab "$lab" --slot 1 2>&1) && fail "removing from an empty slot should fail"
expect_contains "$out" "holds no card" "remove from empty slot"
"$SCARDLAB" lab status --dir "$lab" >/dev/null || fail "lab status should exit 0 while the lab is up"

pids=()
for f in lab.pid pcscd.pid slot0.pid; do
    [ -f "$lab/$f" ] || fail "lab should record $f"
    pids+=("$(cat "$lab/$f")")
done
"$SCARDLAB" lab down --dir "$lab" || fail "lab down should succeed"
for p in "${pids[@]}"; do
    # shellcheck disable=SC2086
    pid_gone $p || fail "process '$p' recorded by the lab should be gone after lab down"
done
for f in lab.pid pcscd.pid slot0.pid run/pcscd/pcscd.comm; do
    [ ! -e "$lab/$f" ] || fail "lab down should remove $f"
done
st=0; "$SCARDLAB" lab status --dir "$lab" >/dev/null || st=$?
[ $st = 3 ] || fail "lab status should exit 3 once the lab is down (got $st)"
"$SCARDLAB" lab down --dir "$lab" || fail "a second lab down should succeed (idempotent)"

# A stale pid file naming a live process that is not ours must not stop it.
sleep 60 &
bystander=$!
echo "$bystander 1" >"$lab/lab.pid"
"$SCARDLAB" lab down --dir "$lab" || fail "lab down over a stale pid file should succeed"
kill -0 "$bystander" 2>/dev/null || fail "lab down should not signal pid $bystander, which a stale file named"
echo "$bystander 1" >"$lab/lab.pid"
lab_up "$lab"
"$SCARDLAB" lab down --dir "$lab" || fail "lab down after restart should succeed"
kill -0 "$bystander" 2>/dev/null || fail "lab up/down should not signal the bystander $bystander"
kill "$bystander"

[ "$(ls -la --time-style=+%s /run/pcscd 2>&1 || true)" = "$run_before" ] ||
    fail "the machine's /run/pcscd should be untouched by the lab"
echo "PASS [$E2E_NAME]"
