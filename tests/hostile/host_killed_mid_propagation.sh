#!/bin/bash
# The session host killed by SIGKILL while its session's certprop propagates,
# 10 times: 0-400 ms after a card insert into the client's reader starts
# (certprop writes the 4 elements about 100-360 ms after it starts, within
# some 50 ms of each other), or 0-20 ms after the first element lands.  After each kill the
# client exits, certprop does not outlive the host, no host/certprop/client
# process is left, and alice's My store parses with 0..4 of the card's own
# certificates.  A fresh host and client then propagate all 4.
source "$SCL_SRC/tests/e2e/lib.sh"
source "$SCL_SRC/tests/e2e/connect_lib.sh"
source "$SCL_SRC/tests/hostile/hostile_lib.sh"
source "$SCL_SRC/tests/hostile/kill_lib.sh"
kill_init
kill -KILL "${HOST_PIDS[0]}" && wait "${HOST_PIDS[0]}" 2>/dev/null || true
HOST_PIDS=()

# session_lists_reader: the client's reader shows in alice's session.
session_lists_reader() { in_session opensc-tool -l 2>/dev/null | grep -q 'scardlab 00 00'; }

# first_element_within SECONDS: poll tightly (no sleep of 0.2 s) for the
# first element file in alice's store.
first_element_within() {
    local until=$((SECONDS + $1))
    while [ $SECONDS -lt $until ]; do
        compgen -G "$E2E_TMP/alice/$MY_REL/[0-9A-F]*" >/dev/null && return 0
        sleep 0.005
    done
    return 1
}

runs=(0 0 0 0 0)
declare -A phases # how many kills left 0, 1, 2, 3, 4 elements
for i in $(seq 10); do
    rm -rf "$E2E_TMP/alice"
    host_up "$E2E_TMP/host.conf"
    host_pid=${HOST_PIDS[-1]}
    client_up "client$i" --profile "$E2E_TMP/client" --password-env ALICE_PW \
        /v:127.0.0.1:$PORT /u:alice /cert:ignore
    client_pid=${CONNECT_PIDS[-1]}
    wait_for 30 session_lists_reader || fail "alice's session should list the client's reader ($i)"
    session_dir=$(readlink -f "$E2E_TMP/state/users/alice/current")
    certprop_pid=$(cut -d' ' -f1 "$session_dir/certprop.pid")
    # certprop.json is appended to when a later host reuses the folder.
    json_from=$(($(wc -l <"$session_dir/certprop.json") + 1))
    "$SCARDLAB" card insert --lab "$lab" --slot 0 "$E2E_TMP/card/card.conf" >/dev/null &
    insert_pid=$!
    if [ $((i % 2)) = 1 ]; then
        sleep "0.$(printf %03d $((RANDOM % 401)))"
    else
        first_element_within 30 || fail "nothing propagated within 30 s ($i)"
        sleep "0.0$(printf %02d $((RANDOM % 21)))"
    fi
    kill -KILL "$host_pid"
    wait "$host_pid" 2>/dev/null || true
    HOST_PIDS=()
    wait_for 20 sh -c "! kill -0 $client_pid 2>/dev/null" || fail "the client should exit when the host dies ($i)"
    wait "$client_pid" 2>/dev/null || true
    CONNECT_PIDS=()
    wait_for 20 pid_stopped "$certprop_pid" || fail "certprop ($certprop_pid) should not outlive the host ($i)"
    no_leftovers "$E2E_TMP" "kill $i"
    store_check "$E2E_TMP/alice" "$fps" "kill $i"
    runs[STORE_N]=$((runs[STORE_N] + 1))
    # What certprop had done: it reads the whole card, then writes; the
    # SIGTERM the host's death sends it (PR_SET_PDEATHSIG) ends the read.
    added=$(tail -n +"$json_from" "$session_dir/certprop.json" | grep -c '"cert_added"' || true)
    errs=$(tail -n +"$json_from" "$session_dir/certprop.json" | grep -c '"error"' || true)
    if [ "$added" -gt 0 ]; then phase=written; elif [ "$errs" -gt 0 ]; then phase=read_failed; else phase=no_event; fi
    phases[$phase]=$((${phases[$phase]:-0} + 1))
    [ "$added" = "$STORE_N" ] || fail "certprop reported $added added, the store holds $STORE_N (kill $i)"
    wait "$insert_pid" || fail "card insert should succeed ($i)"
    "$SCARDLAB" card remove --lab "$lab" --slot 0 >/dev/null || fail "card remove should succeed ($i)"
done
note "10 kills left 0/1/2/3/4 elements: ${runs[*]}"
note "certprop at the kill: $(for k in "${!phases[@]}"; do printf '%s=%s ' "$k" "${phases[$k]}"; done)"

note "a fresh host and client propagate all 4"
rm -rf "$E2E_TMP/alice"
"$SCARDLAB" card insert --lab "$lab" --slot 0 "$E2E_TMP/card/card.conf" >/dev/null ||
    fail "card insert should succeed (final)"
host_up "$E2E_TMP/host.conf"
client_up final --profile "$E2E_TMP/client" --password-env ALICE_PW \
    /v:127.0.0.1:$PORT /u:alice /cert:ignore
wait_for 30 alice_store_has_at_least 4 || fail "the fresh session should propagate 4, has $(alice_store_count)"
store_check "$E2E_TMP/alice" "$fps" "final"
[ "$STORE_N" = 4 ] || fail "certutil should list 4 after the fresh session, listed $STORE_N"
client_down
host_stop_clean
echo "PASS [$E2E_NAME]"
