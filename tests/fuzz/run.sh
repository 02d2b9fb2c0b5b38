#!/usr/bin/env bash
# run.sh BUILD_DIR - fuzz every fuzz_* target of a SCL_FUZZ=ON build for a
# bounded time (FUZZ_SECONDS each, default 60) starting from its seed corpus,
# and print the executions per target.  New inputs and crash artifacts go to
# BUILD_DIR/fuzz/NAME.work/.  Exits non-zero if any target found a crash.
set -u

build=${1:?usage: run.sh BUILD_DIR}
seconds=${FUZZ_SECONDS:-60}
bin_dir=$build/bin
meta_dir=$build/fuzz
status=0
found=0

for bin in "$bin_dir"/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  found=1
  if ! grep -qa 'max_total_time' "$bin"; then
    echo "$name: not a libFuzzer binary (configure with the asan preset: SCL_FUZZ=ON)" >&2
    status=1
    continue
  fi
  seeds=$(cat "$meta_dir/$name.corpus" 2>/dev/null || true)
  work=$meta_dir/$name.work
  mkdir -p "$work"
  log=$meta_dir/$name.log
  "$bin" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$work/" \
    "$work" ${seeds:+"$seeds"} >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if [ $rc -eq 0 ]; then
    echo "$name: ${execs:-?} executions in ${seconds}s (${rate:-?}/s), no findings"
  else
    echo "$name: FAILED (exit $rc) after ${execs:-?} executions; see $log and $work/" >&2
    grep -m5 -E 'ERROR|SUMMARY|crash-|leak-|timeout-' "$log" >&2
    status=1
  fi
done

if [ $found -eq 0 ]; then
  echo "no fuzz_* binaries in $bin_dir" >&2
  exit 1
fi
exit $status
