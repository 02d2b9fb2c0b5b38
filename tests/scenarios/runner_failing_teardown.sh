#!/bin/bash
# runner_failing_teardown.sh - `scardlab run` on a scenario whose expectation
# is wrong, and on one whose wait times out: exit 1, a message naming the
# line, the store and the certificate (or the wait), the later steps skipped,
# and every process the run started (its own children, the lab's daemons)
# gone afterwards, its temporary root removed.
set -euo pipefail
: "${SCARDLAB:?}" "${SCL_SRC:?}"
F=$SCL_SRC/tests/scenarios/files
T=$(mktemp -d /tmp/scl-h12-runner.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL [runner_failing_teardown]: $*" >&2; exit 1; }
if [ "$(id -u)" != 0 ] && ! unshare --user --map-root-user true 2>/dev/null; then
    echo "SKIP: not root and no user namespaces"; exit 77
fi

# pids_gone JSON: every process noted in the JSON report has exited.
pids_gone() {
    local n=0
    for pid in $(python3 -c 'import json,sys; [print(p["pid"]) for s in json.load(open(sys.argv[1]))["scenarios"] for p in s["processes"]]' "$1"); do
        n=$((n + 1))
        # a zombie is gone for our purpose only once reaped: check /proc state too
        if kill -0 "$pid" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; then
            ps -o pid,cmd -p "$pid" >&2 || true
            fail "process $pid from $1 is still running after the run"
        fi
    done
    [ "$n" -ge 4 ] || fail "expected the report to list the run's processes (lab, card, certprop...), found $n"
    local root
    root=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["scenarios"][0]["root"])' "$1")
    [ ! -e "$root" ] || fail "temporary root $root should be removed"
}

rc=0
"$SCARDLAB" run --json "$T/wrong.json" --junit "$T/wrong.xml" "$F/wrong-expectation.scn" >"$T/wrong.out" 2>&1 || rc=$?
cat "$T/wrong.out"
[ $rc = 1 ] || fail "a wrong expectation should exit 1, got $rc"
grep -q '^\[FAIL\] line  13  expect store laptop-console alice My lacks "05 05 1c 00 22 7f 3c dd fa 98"' "$T/wrong.out" ||
    fail "the narration should name the failing line and statement"
grep -q 'store laptop-console/alice My should hold no certificate "05 05 1c 00 22 7f 3c dd fa 98", holds 1' "$T/wrong.out" ||
    fail "the message should name the store and the certificate"
grep -q '^\[ok  \] line  14' "$T/wrong.out" || fail "a failed expectation should not stop the next one"
grep -q '<failure message="unexpected' "$T/wrong.xml" || fail "JUnit should carry the failure"
pids_gone "$T/wrong.json"

rc=0
"$SCARDLAB" run --json "$T/wait.json" "$F/wait-timeout.scn" >"$T/wait.out" 2>&1 || rc=$?
cat "$T/wait.out"
[ $rc = 1 ] || fail "a wait that times out should exit 1, got $rc"
grep -q 'timed out after 1500 ms waiting for store (line 11); last check: store laptop-console/alice My holds no certificate from card alice-card' "$T/wait.out" ||
    fail "the timeout message should say what was awaited and what was seen"
grep -q '^\[skip\] line  12  step remove alice-card from laptop' "$T/wait.out" || fail "steps after a failed step are skipped"
pids_gone "$T/wait.json"
echo "PASS runner_failing_teardown"
