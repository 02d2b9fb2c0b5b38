# host_lib.sh - helpers for the session host's end-to-end tests (sourced after
# lib.sh): a host config, the host, Xvfb and stock xfreerdp clients, each
# recorded by pid and stopped by that pid in the EXIT trap.

HOST_PIDS=()   # host, clients: SIGTERM then wait
XVFB_PID=""

host_cleanup() {
    local rc=$?
    for p in "${HOST_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${HOST_PIDS[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$p" 2>/dev/null || true
    done
    [ -n "$XVFB_PID" ] && { kill "$XVFB_PID" 2>/dev/null || true; wait "$XVFB_PID" 2>/dev/null || true; }
    if [ $rc -ne 0 ] && [ -n "${E2E_TMP:-}" ]; then
        for f in "$E2E_TMP"/host.log "$E2E_TMP"/xf-*.log "$E2E_TMP"/state/sessions/*/certprop.log; do
            [ -f "$f" ] && { echo "=== tail $f"; tail -n 25 "$f"; } >&2
        done
    fi
    # errexit off: under set -e, (exit $rc) would end the trap before the labs go down.
    set +e
    (exit $rc)
    e2e_cleanup
}

# host_init: e2e_init plus the tools, Xvfb on a free display, the cleanup trap.
host_init() {
    e2e_init "$@"
    command -v xfreerdp >/dev/null && command -v Xvfb >/dev/null || {
        echo "SKIP [$E2E_NAME]: xfreerdp or Xvfb missing (Debian: freerdp2-x11 xvfb)"; exit 77; }
    trap host_cleanup EXIT
    Xvfb -displayfd 3 -nolisten tcp 3>"$E2E_TMP/xdisplay" >"$E2E_TMP/xvfb.log" 2>&1 &
    XVFB_PID=$!
    for _ in $(seq 1 50); do [ -s "$E2E_TMP/xdisplay" ] && break; sleep 0.1; done
    [ -s "$E2E_TMP/xdisplay" ] || fail "Xvfb should report its display"
    export DISPLAY=":$(head -1 "$E2E_TMP/xdisplay")"
    HOST_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    HOST_STATE="$E2E_TMP/state"
}

# host_config FILE [policy lines...]: alice and bob, profiles under E2E_TMP.
host_config() {
    local f=$1; shift
    mkdir -p "$E2E_TMP/profiles/alice" "$E2E_TMP/profiles/bob"
    {
        echo "[host]"; echo "listen=127.0.0.1:$HOST_PORT"; echo "state_dir=$HOST_STATE"; echo "auth=nla"
        echo "[policy]"; for l in "$@"; do echo "$l"; done
        echo "[user alice]"; echo "password=Alice-pw1"; echo "profile=$E2E_TMP/profiles/alice"
        echo "[user bob]"; echo "password=Bob-pw2"; echo "profile=$E2E_TMP/profiles/bob"
    } >"$f"
}

# host_start CONFIG: run the host, wait until it listens.
host_start() {
    "$SCARDLAB" host --config "$1" >>"$E2E_TMP/host.log" 2>&1 &
    HOST_PID=$!
    HOST_PIDS+=("$HOST_PID")
    for _ in $(seq 1 100); do grep -q "listening on" "$E2E_TMP/host.log" && return 0; sleep 0.1; done
    fail "host should log 'listening on' (host.log above)"
}

# client_start NAME USER PASSWORD LAB [xfreerdp args...]: stock xfreerdp with
# the lab as its PC/SC; sets CLIENT_PID.
client_start() {
    local name=$1 user=$2 pw=$3 lab=$4; shift 4
    local env=()
    [ -n "$lab" ] && env=(PCSCLITE_CSOCK_NAME="$lab/run/pcscd/pcscd.comm")
    env "${env[@]}" xfreerdp /v:127.0.0.1:"$HOST_PORT" /u:"$user" /p:"$pw" /cert:ignore /sec:nla \
        "$@" >"$E2E_TMP/xf-$name.log" 2>&1 &
    CLIENT_PID=$!
    HOST_PIDS+=("$CLIENT_PID")
}

# alice_and_bob_labs: labs laba and labb with alice's and bob's freshly
# minted cards (in $E2E_TMP/alice and $E2E_TMP/bob) in slot 0.
alice_and_bob_labs() {
    lab_up "$E2E_TMP/laba"
    lab_up "$E2E_TMP/labb"
    mint "$E2E_TMP/alice" "Alice Example"
    mint "$E2E_TMP/bob" "Bob Example"
    "$SCARDLAB" card insert --lab "$E2E_TMP/laba" --slot 0 "$E2E_TMP/alice/card.conf" >/dev/null || fail "insert alice"
    "$SCARDLAB" card insert --lab "$E2E_TMP/labb" --slot 0 "$E2E_TMP/bob/card.conf" >/dev/null || fail "insert bob"
}

# wait_log PATTERN SECONDS: the host log shows PATTERN in time.
wait_log() {
    for _ in $(seq 1 $(($2 * 10))); do grep -qE -- "$1" "$E2E_TMP/host.log" && return 0; sleep 0.1; done
    fail "host.log should show '$1' within $2 s"
}

# wait_certs USER N SECONDS: the user's current certprop reported N cert_added.
wait_certs() {
    local j n=0
    for _ in $(seq 1 $(($3 * 10))); do
        j=$(readlink "$HOST_STATE/users/$1/current" 2>/dev/null || true)/certprop.json
        n=$(grep -c '"cert_added"' "$j" 2>/dev/null || true)
        [ "$n" -ge "$2" ] && return 0
        sleep 0.1
    done
    fail "certprop in $1's session should add $2 certificates within $3 s (added $n)"
}

# my_count PROFILE: element files in the profile's My store.
my_count() {
    local d="$1/AppData/Roaming/Microsoft/SystemCertificates/My/Certificates"
    find "$d" -type f 2>/dev/null | wc -l
}

in_session() {
    local user=$1; shift
    "$SCARDLAB" session exec --host-dir "$HOST_STATE" --user "$user" -- "$@"
}
