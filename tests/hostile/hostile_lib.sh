# hostile_lib.sh - helpers for tests/hostile/ scripts (sourced after
# connect_lib.sh): stop the session host ourselves and fail on any
# sanitizer report in its log, so an ASan build catches what the fault did.

# host_stop_clean: SIGTERM the host; it must exit 0 within 20 s, and no
# AddressSanitizer/LeakSanitizer/UBSan report may be in host.log.
host_stop_clean() {
    local pid=${HOST_PIDS[0]} rc=0
    kill -TERM "$pid" 2>/dev/null || fail "the host ($pid) should still be running"
    wait_for 20 sh -c "! kill -0 $pid 2>/dev/null" || fail "the host should exit within 20 s of SIGTERM"
    wait "$pid" 2>/dev/null || rc=$?
    HOST_PIDS=()
    if grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$E2E_TMP/host.log"; then
        grep -A30 -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$E2E_TMP/host.log" | head -60 >&2
        fail "the host's log has a sanitizer report"
    fi
    [ "$rc" = 0 ] || fail "the host should exit 0 on SIGTERM, exited $rc"
}
