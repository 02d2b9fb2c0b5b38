#!/bin/bash
# The clean-up after the leak: a card inserted into a lab reader is propagated
# by certprop into alice's profile on srv01; `scardlab sweep` finds exactly
# those certificates, --apply removes them (alice's own and bob's stay byte
# for byte), a re-run finds nothing, and `sweep restore` puts them back.
. "$(dirname "$0")/certprop_lib.sh" || exit 1
e2e_init openssl sha256sum

lab=$E2E_TMP/lab card=$E2E_TMP/card own=$E2E_TMP/own
fleet=$E2E_TMP/fleet alice=$fleet/srv01/alice bob=$fleet/srv01/bob backup=$E2E_TMP/backup
lab_up "$lab"
mint "$card" "Firstname Lastname" --serial "05 05 1c 00 22 7f 3c dd fa 98"
mint "$own" "Alice"

# Each user's own certificate, added the way an administrator would.
for p in "$alice" "$bob"; do
    mkdir -p "$p/AppData"
done
"$SCARDLAB" certutil -user -addstore My "$own/9a.crt" --profile "$alice" >/dev/null ||
    fail "certutil -addstore into alice's profile should succeed"
snap() { (cd "$1/$MY_REL" && sha256sum ./* | sort); }

# The leak.
"$SCARDLAB" card insert --lab "$lab" --slot 0 "$card/card.conf" || fail "card insert should succeed"
# pcscd notices the insertion ~0.5 s later: run certprop --once until it has.
for _ in $(seq 40); do
    in_lab "$lab" "$SCARDLAB" certprop --profile "$alice" --once >/dev/null 2>"$E2E_TMP/certprop.err" ||
        { cat "$E2E_TMP/certprop.err" >&2; fail "certprop --once should succeed"; }
    [ "$(ls "$alice/$MY_REL" | wc -l)" = 5 ] && break
    sleep 0.25
done
[ "$(ls "$alice/$MY_REL" | wc -l)" = 5 ] ||
    { cat "$E2E_TMP/certprop.err" >&2; fail "alice's My should hold her own + 4 card certificates"; }
after_leak=$(snap "$alice")

# Dry run: exactly the four card certificates, as propagated (and foreign).
"$SCARDLAB" sweep --profiles "$fleet" --json "$E2E_TMP/dry.json" >"$E2E_TMP/dry.out" 2>"$E2E_TMP/dry.err" ||
    { cat "$E2E_TMP/dry.err" >&2; fail "sweep dry run should exit 0"; }
[ ! -s "$E2E_TMP/dry.err" ] || { cat "$E2E_TMP/dry.err" >&2; fail "sweep should print nothing on stderr when it is not a terminal"; }
expect_contains "$(cat "$E2E_TMP/dry.out")" "2 profiles (0 skipped), 5 certificates, 1 own, 4 findings, 0 removed" "sweep summary"
for slot in 9a 9c 9d 9e; do
    t=$(sha1_of "$card/$slot.crt")
    grep -q "\"thumbprint\":[[:space:]]*\"$t\"" "$E2E_TMP/dry.json" || fail "dry run JSON should list the $slot certificate $t"
    grep -q "srv01 *alice *propagated,foreign *$t" "$E2E_TMP/dry.out" || fail "table should show $slot as propagated,foreign"
done
grep -q '"serial":[[:space:]]*"05051c00227f3cddfa98"' "$E2E_TMP/dry.json" || fail "JSON should carry the story's serial"
[ "$(snap "$alice")" = "$after_leak" ] || fail "a dry run must not change the store"

# Apply: the four go, the backup holds them.
"$SCARDLAB" sweep --profiles "$fleet" --apply --backup "$backup" >"$E2E_TMP/apply.out" ||
    fail "sweep --apply should exit 0"
expect_contains "$(cat "$E2E_TMP/apply.out")" "4 findings, 4 removed" "sweep --apply summary"
[ "$(ls "$alice/$MY_REL")" = "$(sha1_of "$own/9a.crt")" ] || fail "only alice's own certificate should remain"
[ -s "$backup/manifest.jsonl" ] || fail "the backup should have a manifest"
n_sst=$(ls "$backup/sst" | wc -l)
[ "$n_sst" = 1 ] || fail "one .sst per swept profile expected, found $n_sst"

# A re-run finds nothing.
out=$("$SCARDLAB" sweep --profiles "$fleet") || fail "sweep re-run should exit 0"
expect_contains "$out" "1 own, 0 findings" "sweep re-run"

# certutil agrees: the story's serial is gone.
if "$SCARDLAB" certutil -user -store My "05 05 1c 00 22 7f 3c dd fa 98" --profile "$alice" >/dev/null 2>&1; then
    fail "certutil should no longer find the story's serial"
fi

# Restore, twice: byte-identical to the store after the leak.
out=$("$SCARDLAB" sweep restore "$backup") || fail "sweep restore should exit 0"
expect_contains "$out" "4 certificates restored, 0 already present, 0 differ" "sweep restore"
[ "$(snap "$alice")" = "$after_leak" ] || fail "restore should put back every element byte for byte"
out=$("$SCARDLAB" sweep restore "$backup") || fail "second sweep restore should exit 0"
expect_contains "$out" "0 certificates restored, 4 already present, 0 differ" "second sweep restore"

# The rule and filter flags reach the engine.
out=$("$SCARDLAB" sweep --profiles "$fleet" --rule foreign --serial "05051c00227f3cddfa98") ||
    fail "sweep --rule foreign --serial should exit 0"
expect_contains "$out" "1 findings" "sweep --serial"
rc=0; "$SCARDLAB" sweep --profiles "$fleet" --rule bogus >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "--rule bogus should be a usage error (2), got $rc"
"$SCARDLAB" sweep --profiles "$E2E_TMP/nowhere" >/dev/null 2>"$E2E_TMP/err" && fail "a missing root should fail"
expect_contains "$(cat "$E2E_TMP/err")" "nowhere: not a folder" "missing root"
echo "PASS [$E2E_NAME]"
