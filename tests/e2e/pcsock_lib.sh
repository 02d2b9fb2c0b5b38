# pcsock_lib.sh - helpers for the per-session PC/SC socket's end-to-end tests
# (sourced, not run).  `scardlab pcsock-serve` runs in the background against
# a private lab; its pid is recorded and it is stopped by that pid in the
# EXIT trap, before the lab goes down.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 1

PCSOCK= PCSOCK_PID= PCSOCK_DIR=
PCSOCK_HELPERS=${SCL_BUILD:-$(dirname "$SCARDLAB")/..}/bin

pcsock_kill() {
    [ -n "$PCSOCK_PID" ] || return 0
    kill -TERM "$PCSOCK_PID" 2>/dev/null || true
    wait "$PCSOCK_PID" 2>/dev/null || true
    PCSOCK_PID=
}

# pcsock_up LAB: serve the lab's readers on $E2E_TMP/sess/pcscd.comm (dir 0700).
pcsock_up() {
    PCSOCK_DIR=$E2E_TMP/sess
    PCSOCK=$PCSOCK_DIR/pcscd.comm
    mkdir -m 700 "$PCSOCK_DIR"
    "$SCARDLAB" pcsock-serve --upstream "$1" --socket "$PCSOCK" \
        >"$PCSOCK_DIR/serve.out" 2>"$PCSOCK_DIR/serve.log" &
    PCSOCK_PID=$!
    trap 'st=$?; [ $st = 0 ] || tail -n 30 "$PCSOCK_DIR/serve.log" >&2; pcsock_kill; set +e; (exit $st); e2e_cleanup' EXIT
    for _ in $(seq 100); do
        grep -q '^ready' "$PCSOCK_DIR/serve.out" 2>/dev/null && return 0
        kill -0 "$PCSOCK_PID" 2>/dev/null || break
        sleep 0.05
    done
    cat "$PCSOCK_DIR/serve.log" >&2
    fail "pcsock-serve --upstream $1 should print 'ready'"
}

# pcsock_down: SIGTERM ends it with status 0 and takes the socket file away.
pcsock_down() {
    kill -TERM "$PCSOCK_PID"
    local st=0
    wait "$PCSOCK_PID" || st=$?
    PCSOCK_PID=
    [ "$st" = 0 ] || fail "pcsock-serve should exit 0 on SIGTERM, exited $st"
    [ ! -e "$PCSOCK" ] || fail "pcsock-serve should remove $PCSOCK when it stops"
}

# in_sock CMD...: run a PC/SC client against the pcsock endpoint.
in_sock() { PCSCLITE_CSOCK_NAME="$PCSOCK" "$@"; }

# pcsock_alive: the endpoint still runs and serves a stock client.
pcsock_alive() {
    kill -0 "$PCSOCK_PID" 2>/dev/null || fail "pcsock-serve should still run ($1)"
    local out
    out=$(in_sock opensc-tool -l 2>&1)
    grep -qE '^0 +Yes +scardlab 00 00' <<<"$out" ||
        { echo "$out" >&2; fail "after $1, opensc-tool -l through pcsock should still list the card"; }
}
