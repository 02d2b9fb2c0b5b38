#!/bin/bash
# runner_bad_files.sh - bad scenario files stop `scardlab run` before
# anything starts: exit 3 with FILE:LINE:COLUMN messages, every file checked.
set -euo pipefail
: "${SCARDLAB:?}" "${SCL_SRC:?}"
F=$SCL_SRC/tests/scenarios/files
fail() { echo "FAIL [runner_bad_files]: $*" >&2; exit 1; }
rc=0
out=$("$SCARDLAB" run "$F/unknown-step.scn" "$F/undeclared-card.scn" 2>&1) || rc=$?
echo "$out"
[ $rc = 3 ] || fail "bad files should exit 3, got $rc"
echo "$out" | grep -qF "$F/unknown-step.scn:5:6: unknown step 'yank' (expected insert, remove," || fail "unknown step message"
echo "$out" | grep -qF "$F/undeclared-card.scn:4:13: undeclared card 'bob-card' (declared: alice-card)" || fail "undeclared card message"
rc=0
"$SCARDLAB" run --check "$SCL_SRC"/scenarios/files/*.scn || rc=$?
[ $rc = 0 ] || fail "every shipped scenario file should pass --check"
rc=0
"$SCARDLAB" run --bogus 2>/dev/null || rc=$?
[ $rc = 2 ] || fail "an unknown option should exit 2, got $rc"
echo "PASS runner_bad_files"
