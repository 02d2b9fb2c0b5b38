# connect_lib.sh - helpers for the connect_* end-to-end tests (sourced after
# lib.sh): a session host and `scardlab connect` clients started in the
# background, recorded by pid and stopped by that pid in the EXIT trap,
# before lib.sh's cleanup takes the labs down.

CONNECT_PIDS=()  # clients first, then hosts: stopped in this order
HOST_PIDS=()

connect_cleanup() {
    local rc=$? p
    for p in "${CONNECT_PIDS[@]}" "${HOST_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${CONNECT_PIDS[@]}" "${HOST_PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
    if [ $rc -ne 0 ] && [ -n "${E2E_TMP:-}" ]; then
        for f in "$E2E_TMP"/*.out "$E2E_TMP"/host.log; do
            [ -f "$f" ] && { echo "=== tail $f"; grep -v '^\[' "$f" | tail -n 20; } >&2
        done
    fi
    # errexit off: under set -e, (exit $rc) would end the trap before the labs go down.
    set +e
    (exit $rc)
    e2e_cleanup
}

# A free loopback port (the kernel picks, we release it at once).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_for SECONDS CMD...: poll CMD every 0.2 s until it succeeds.
wait_for() {
    local secs=$1; shift
    local i
    for i in $(seq $((secs * 5))); do "$@" && return 0; sleep 0.2; done
    return 1
}

# host_up CONF: start the session host; waits for its listening line.
host_up() {
    "$SCARDLAB" host --config "$1" >"$E2E_TMP/host.log" 2>&1 &
    HOST_PIDS+=($!)
    wait_for 20 grep -q "listening on" "$E2E_TMP/host.log" ||
        fail "scardlab host --config $1 should listen (log above)"
}

# write_host_conf FILE PORT: alice (password in $ALICE_PW), certprop running.
write_host_conf() {
    cat >"$1" <<CONF
[host]
listen = 127.0.0.1:$2
state_dir = $E2E_TMP/state
auth = nla
[policy]
fEnableSmartCard = 1
certprop_service = running
[user alice]
password = $ALICE_PW
profile = $E2E_TMP/alice
CONF
}

# client_up NAME ARGS...: `scardlab connect ARGS` in the background, output
# in $E2E_TMP/NAME.out; waits for "connected to".
client_up() {
    local name=$1; shift
    "$SCARDLAB" connect "$@" >"$E2E_TMP/$name.out" 2>"$E2E_TMP/$name.err" &
    CONNECT_PIDS+=($!)
    wait_for 30 grep -q "scardlab connect: connected to" "$E2E_TMP/$name.out" ||
        fail "scardlab connect $* should connect (output above)"
}

# client_down: SIGTERM the last client; it must exit 0 and say so.
client_down() {
    local pid=${CONNECT_PIDS[-1]} rc=0
    kill -TERM "$pid"
    wait "$pid" || rc=$?
    [ "$rc" = 0 ] || fail "scardlab connect should exit 0 on SIGTERM, exited $rc"
}

# Certificates in alice's My store (certutil's own files).
alice_store_count() {
    local d="$E2E_TMP/alice/AppData/Roaming/Microsoft/SystemCertificates/My/Certificates"
    [ -d "$d" ] && find "$d" -type f | wc -l || echo 0
}

# alice_store_has_at_least N: for wait_for (counts again on every poll).
alice_store_has_at_least() { [ "$(alice_store_count)" -ge "$1" ]; }

# in_session CMD...: run CMD in alice's current session.
in_session() {
    "$SCARDLAB" session exec --host-dir "$E2E_TMP/state" --user alice -- "$@"
}

# session_sees_card: for wait_for; true once a reader in alice's session
# holds a card (rdpdr announces the device and readers after "connected").
session_sees_card() { in_session opensc-tool -l 2>/dev/null | grep -qE '^[0-9]+ +Yes'; }

connect_init() {
    e2e_init pcscd pkcs15-tool python3 "$@"
    trap connect_cleanup EXIT
    ALICE_PW="e2e-$RANDOM-pw"
    export ALICE_PW
    lab_up "$E2E_TMP/lab"
    mint "$E2E_TMP/card" "Alice Smith"
    "$SCARDLAB" card insert --lab "$E2E_TMP/lab" --slot 0 "$E2E_TMP/card/card.conf" >/dev/null ||
        fail "card insert should succeed"
    export PCSCLITE_CSOCK_NAME="$E2E_TMP/lab/run/pcscd/pcscd.comm"
    PORT=$(free_port)
    write_host_conf "$E2E_TMP/host.conf" "$PORT"
    host_up "$E2E_TMP/host.conf"
}
