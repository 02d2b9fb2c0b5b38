#!/bin/bash
# Our client plug-in's memory is bounded across a hostile session:
# plugin_hostile --memory-rounds repeats the structured hostile IRPs (cut
# headers, bad lengths, an unknown IOCTL, a 1 MiB Transmit, calls on handles
# never issued or released) and a whole valid card session 2000 times against
# a lab with a card, and fails when VmRSS grows by 2 MiB or more between
# round 200 and round 2000 (about 1 KiB per round, some 40 bytes per IRP).
# No random or mutated input: FreeRDP 2.11's own decoder leaks on some
# mutants (docs/reliability.md).  Once without reader policy, once with the
# allow list, where the plug-in itself decodes every call and completion.
source "$SCL_SRC/tests/e2e/lib.sh"
e2e_init pcscd
HOSTILE=${SCL_BUILD:?}/bin/plugin_hostile
[ -x "$HOSTILE" ] || fail "plugin_hostile not built ($HOSTILE)"
ROUNDS=${MEMORY_ROUNDS:-2000} BOUND_KIB=2048
lab="$E2E_TMP/lab"
lab_with_card "$lab" "Mallory Memory"
# ASan builds: freed blocks go back at once (no quarantine to fill), so RSS
# measures what is held; LeakSanitizer stays on.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}quarantine_size_mb=0"

run_memory() {
    local what=$1 rc=0; shift
    timeout 200 "$HOSTILE" --memory-rounds "$ROUNDS" --memory-bound-kib "$BOUND_KIB" "$@" \
        >"$E2E_TMP/memory.out" 2>"$E2E_TMP/memory.err" || rc=$?
    [ "$rc" != 124 ] || { tail -5 "$E2E_TMP/memory.out" >&2; fail "$what: plugin_hostile hung (killed at 200 s)"; }
    if [ "$rc" != 0 ]; then
        grep -v '^\[' "$E2E_TMP/memory.err" | tail -40 >&2
        grep '^FAIL' "$E2E_TMP/memory.out" | head -20 >&2 || tail -5 "$E2E_TMP/memory.out" >&2
        fail "$what: every case should hold and RSS stay within the bound (exit $rc)"
    fi
    note "$what: $(grep '^ok memory bound' "$E2E_TMP/memory.out")"
}

run_memory "no policy"
run_memory "allow list" --reader-allow "scardlab 00 00" --denied "scardlab 00 01"
echo "PASS [$E2E_NAME]"
