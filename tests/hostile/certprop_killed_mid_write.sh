#!/bin/bash
# certprop killed by SIGKILL at small random delays after a card is inserted,
# 20 times: some kills land inside the store writes.  After each, the My store
# parses element by element (certutil -store), every listed element is one
# of the card's certificates, no *.tmp.* leftover counts as an element, and
# no certprop process is left.  The next run then propagates all 4.
. "$SCL_SRC/tests/e2e/certprop_lib.sh" || exit 1
e2e_init openssl iconv od

lab=$E2E_TMP/lab card=$E2E_TMP/card profile=$E2E_TMP/profile
my=$profile/$MY_REL
lab_up "$lab"
mint "$card" "Kill Ninefold"
fps=" "
for s in 9a 9c 9d 9e; do fps+="$(sha1_of "$card/$s.crt") "; done

store_is_whole() {
    local out n files
    out=$("$SCARDLAB" certutil --profile "$profile" -user -store My 2>&1) ||
        { echo "$out" >&2; fail "certutil -store should parse every element ($1)"; }
    # A write cut by SIGKILL leaves NAME.tmp.PID.N: certutil must skip it (and
    # nothing else) rather than read it as an element.
    if grep -i "warning\|skipp" <<<"$out" | grep -qv '\.tmp\.[0-9]*\.[0-9]*: name is not a SHA-1; skipped'; then
        echo "$out" >&2; fail "only *.tmp.* leftovers may be skipped ($1)"
    fi
    n=$(grep -c "^================ Certificate" <<<"$out" || true)
    files=$( (find "$my" -maxdepth 1 -type f -regextype egrep -regex '.*/[0-9A-F]{40}' 2>/dev/null || true) | wc -l)
    [ "$n" = "$files" ] || { echo "$out" >&2; fail "certutil lists $n, but My holds $files elements ($1)"; }
    for f in "$my"/*; do
        [ -e "$f" ] || continue
        name=$(basename "$f")
        [[ $name =~ ^[0-9A-F]{40}$ ]] || continue
        [[ $fps == *" $name "* ]] || fail "$name in My is not one of the card's certificates ($1)"
    done
}

tmp_left=0 partial_runs=0
for i in $(seq 20); do
    rm -rf "$profile"
    certprop_start "$lab" "$profile"
    pid=$CERTPROP_PID
    "$SCARDLAB" card insert --lab "$lab" --slot 0 "$card/card.conf" || fail "card insert ($i)"
    sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    CERTPROP_PID=
    kill -0 "$pid" 2>/dev/null && fail "certprop ($pid) should be gone after SIGKILL ($i)"
    "$SCARDLAB" card remove --lab "$lab" --slot 0 || fail "card remove ($i)"
    store_is_whole "iteration $i"
    t=$( (find "$my" -maxdepth 1 -name '*.tmp.*' 2>/dev/null || true) | wc -l)
    tmp_left=$((tmp_left + t))
    n=$( (find "$my" -maxdepth 1 -type f -regextype egrep -regex '.*/[0-9A-F]{40}' 2>/dev/null || true) | wc -l)
    [ "$n" -gt 0 ] && [ "$n" -lt 4 ] && partial_runs=$((partial_runs + 1))
done
pgrep -f -- "certprop --profile $profile" >/dev/null && fail "no certprop may be left running"
note "20 kills: $partial_runs left 1-3 whole elements, $tmp_left *.tmp.* leftovers (ignored by certutil)"

# The next run succeeds and completes the store.
certprop_start "$lab" "$profile"
"$SCARDLAB" card insert --lab "$lab" --slot 0 "$card/card.conf" || fail "card insert (final)"
wait_count "$my" 4 "a run after 20 kills"
store_is_whole "final run"
certprop_stop
echo "PASS [$E2E_NAME]"
