#!/usr/bin/env bash
# campaign.sh BUILD_DIR [JOBS] - the long fuzzing campaign issue 7 asks for:
# every fuzz_* target of a SCL_FUZZ=ON build runs until 10,000,000 executions
# (libFuzzer -runs) or 1800 CPU-seconds of its own process (user+sys from
# /proc/PID/stat; then SIGINT), JOBS targets at a time (default 1), each under
# nice -n 19, from its seed corpus plus a persistent work corpus
# BUILD_DIR/fuzz/NAME.work.  Crash/leak/timeout inputs go to
# BUILD_DIR/fuzz/NAME.artifacts/.  It writes docs/fuzz-campaign.md from the
# logs (after every target, and at the end).  Not for CI: see run.sh.
#
# Overrides (for trying the script): FUZZ_RUNS, FUZZ_CPU_SECONDS,
# FUZZ_TARGETS (space-separated names), FUZZ_CAMPAIGN_DOC (output path).
set -u
export LC_ALL=C

build=$(cd "${1:?usage: campaign.sh BUILD_DIR [JOBS]}" && pwd) || exit 2
jobs=${2:-1}
runs=${FUZZ_RUNS:-10000000}
cpu_limit=${FUZZ_CPU_SECONDS:-1800}
here=$(cd "$(dirname "$0")" && pwd)
doc=${FUZZ_CAMPAIGN_DOC:-$here/../../docs/fuzz-campaign.md}
meta=$build/fuzz
goal_runs=10000000 # the goal is issue 7's, whatever the limits of this run
goal_cpu=1800
tck=$(getconf CLK_TCK)
campaign_id=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$meta"

# The sanitizers as the asan preset runs them, unless the caller says otherwise.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

boundary_of() {
  case $1 in
  fuzz_apdu) echo "card: APDU sequences from the reader side" ;;
  fuzz_vpcd_frame) echo "card: vpcd framing (length, control bytes, APDUs) from the driver" ;;
  fuzz_card_file) echo "card files" ;;
  fuzz_esc_call) echo "MS-RDPESC call decoding (client side)" ;;
  fuzz_esc_return) echo "MS-RDPESC return decoding (server side)" ;;
  fuzz_pcsock_wire) echo "pcsc-lite socket messages at the session host" ;;
  fuzz_piv_read) echo "certprop's PIV reader vs a scripted card" ;;
  fuzz_policy) echo "policy files" ;;
  fuzz_rdpdr_client_pdu) echo "rdpdr PDUs from a client into the host's channel state machine" ;;
  fuzz_rdpfile) echo ".rdp files" ;;
  fuzz_scenario) echo "scenario files" ;;
  fuzz_sst) echo ".sst files" ;;
  fuzz_store_element) echo "store elements (and CERT_KEY_PROV_INFO)" ;;
  fuzz_sweep_owners) echo "sweep owners file" ;;
  *) echo "see tests/fuzz/$1.c" ;;
  esac
}

# utime+stime of a live process, in whole CPU-seconds, into CPU (empty once
# it is gone).  Builtins only, no subshell: the runner's children must be the
# fuzzer alone, so that `times` below is the fuzzer's.
cpu_of() {
  CPU=
  local line
  read -r line 2>/dev/null <"/proc/$1/stat" || return
  local -a f
  read -r -a f <<<"${line##*) }" # fields from 3 (state) on
  CPU=$(((f[11] + f[12]) / tck)) # fields 14 and 15
}

# This shell's children's user+sys time in milliseconds, into MS, from bash's
# `times` (second line: "0m1.234s 0m0.567s"), run in this shell, not a $().
children_cpu() {
  times >"$1"
  local a b part m s
  MS=0
  { read -r a; read -r a b; } <"$1"
  for part in $a $b; do
    m=${part%%m*}
    s=${part#*m}
    s=${s%s}
    MS=$((MS + m * 60000 + 10#${s%.*} * 1000 + 10#${s#*.}))
  done
}

# One target: run, watch its CPU, stop it at the limit, write NAME.campaign.
run_target() {
  local bin=$1 name
  name=$(basename "$bin")
  local seeds work=$meta/$name.work arts=$meta/$name.artifacts log=$meta/$name.campaign.log
  seeds=$(cat "$meta/$name.corpus" 2>/dev/null || true)
  mkdir -p "$work" "$arts"
  local before
  before=$(ls "$arts")
  local -a cmd=(nice -n 19 "$bin" -runs="$runs" -print_final_stats=1 -timeout=60
    -artifact_prefix="$arts/" "$work" ${seeds:+"$seeds"})
  local started
  started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  # A FIFO nobody writes: `read -t` on it sleeps without forking, so every
  # child of this subshell, and so its `times`, is the fuzzer.
  local fifo=$meta/$name.tick
  rm -f "$fifo" && mkfifo "$fifo"
  exec 3<>"$fifo"
  children_cpu "$meta/$name.times"
  local ms0=$MS
  rm -f "$meta/$name.stop"
  "${cmd[@]}" >"$log" 2>&1 &
  local pid=$! stopped=0
  echo "$pid" >"$meta/$name.pid"
  while :; do
    cpu_of "$pid"
    [ -n "$CPU" ] || break
    if [ "$CPU" -ge "$cpu_limit" ]; then
      kill -INT "$pid" 2>/dev/null && stopped=1
      break
    fi
    read -r -t 2 -u 3 _
    kill -0 "$pid" 2>/dev/null || break
  done
  wait "$pid"
  local rc=$?
  # stopped with the whole campaign (stop_all): libFuzzer's SIGINT exit, no finding
  [ -f "$meta/$name.stop" ] && stopped=1 && rm -f "$meta/$name.stop"
  exec 3>&-
  rm -f "$fifo" "$meta/$name.pid"
  children_cpu "$meta/$name.times"
  local ms=$((MS - ms0)) execs new_arts findings
  rm -f "$meta/$name.times"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  new_arts=$(comm -13 <(echo "$before") <(ls "$arts") | tr '\n' ' ')
  findings=none
  if [ -n "$new_arts" ]; then
    findings="artifacts: $new_arts"
  elif [ "$rc" -ne 0 ] && ! { [ "$stopped" = 1 ] && [ "$rc" -eq 72 ]; }; then
    findings="exit $rc without an artifact; see $log"
  fi
  {
    echo "campaign=$campaign_id"
    echo "name=$name"
    echo "execs=${execs:-0}"
    echo "cpu_ms=$ms"
    echo "rc=$rc"
    echo "stopped_at_cpu_limit=$stopped"
    echo "findings=$findings"
    echo "started=$started"
    echo "command=${cmd[*]}"
  } >"$meta/$name.campaign"
  echo "$name: ${execs:-?} executions, $((ms / 1000)) CPU-s, rc $rc, findings: $findings"
}

field() { sed -n "s/^$1=//p" "$2"; }

# The report, from the NAME.campaign files of this campaign only.
write_doc() {
  local state=$1 tmp="$doc.tmp.$$"
  mkdir -p "$(dirname "$doc")"
  {
    echo "# Fuzzing campaign"
    echo
    echo "Generated by \`tests/fuzz/campaign.sh\` from the libFuzzer logs of campaign"
    echo "$campaign_id ($state). Each target ran alone in its own process under"
    echo "\`nice -n 19\`, $jobs at a time on a shared machine, from its seed corpus"
    echo "(tests/fuzz/corpus/NAME) plus the work corpus BUILD_DIR/fuzz/NAME.work,"
    echo "until $runs executions (\`-runs\`) or $cpu_limit CPU-seconds of its own"
    echo "process (user+sys from /proc/PID/stat; then SIGINT). Executions are"
    echo "libFuzzer's \`stat::number_of_executed_units\`; CPU seconds are the"
    echo "process's user+sys time from wait(); exec/s is executions per CPU-second"
    echo "(wall time means little when the machine is shared). The goal (issue 7)"
    echo "is 10,000,000 executions or 30 CPU-minutes per target. A finding is any"
    echo "crash/leak/timeout/oom artifact (kept in BUILD_DIR/fuzz/NAME.artifacts/)"
    echo "or an exit the campaign did not ask for. Sanitizers: ASAN_OPTIONS=$ASAN_OPTIONS,"
    echo "UBSAN_OPTIONS=$UBSAN_OPTIONS."
    echo
    echo "| target | trust boundary | executions | CPU seconds | exec/s | findings | goal met | date | command |"
    echo "|---|---|---:|---:|---:|---|---|---|---|"
    local bin name f execs ms cpu rate goal
    for bin in "${targets[@]}"; do
      name=$(basename "$bin")
      f=$meta/$name.campaign
      if [ ! -f "$f" ] || [ "$(field campaign "$f")" != "$campaign_id" ]; then
        echo "| $name | $(boundary_of "$name") | | | | not run yet | | | |"
        continue
      fi
      execs=$(field execs "$f")
      ms=$(field cpu_ms "$f")
      cpu=$((ms / 1000))
      rate=$((ms > 0 ? execs * 1000 / ms : 0))
      if [ "$execs" -ge "$goal_runs" ]; then
        goal="yes (10M executions)"
      elif [ "$cpu" -ge "$goal_cpu" ]; then
        goal="yes (30 CPU-minutes)"
      else
        goal="no"
      fi
      echo "| $name | $(boundary_of "$name") | $execs | $cpu.$((ms % 1000 / 100)) | $rate | $(field findings "$f") | $goal | $(field started "$f") | \`$(field command "$f")\` |"
    done
  } >"$tmp" && mv "$tmp" "$doc"
}

targets=()
for bin in "$build"/bin/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  if [ -n "${FUZZ_TARGETS:-}" ] && [[ " $FUZZ_TARGETS " != *" $name "* ]]; then
    continue
  fi
  if ! grep -qa 'max_total_time' "$bin"; then
    echo "$name: not a libFuzzer binary (configure with the asan preset: SCL_FUZZ=ON)" >&2
    exit 1
  fi
  targets+=("$bin")
done
if [ ${#targets[@]} -eq 0 ]; then
  echo "no fuzz_* binaries in $build/bin" >&2
  exit 1
fi

# Stopping the campaign stops its fuzzers (each writes its final stats).
stop_all() {
  local p
  for p in "$meta"/*.pid; do
    [ -f "$p" ] && touch "${p%.pid}.stop" && kill -INT "$(cat "$p")" 2>/dev/null
  done
}
stopping=0
trap 'stopping=1; stop_all' INT TERM

echo "campaign $campaign_id: ${#targets[@]} targets, $jobs at a time, -runs=$runs or $cpu_limit CPU-s each"
write_doc "started"
running=0
# wait -n returns 127 when no job is left, >128 when a signal cut it short.
reap_one() {
  wait -n
  local rc=$?
  if [ $rc -eq 127 ]; then
    running=0
  elif [ $rc -gt 128 ]; then
    return # a signal; the trap stops the fuzzers, their runners end soon
  else
    running=$((running - 1))
  fi
  write_doc "in progress"
}
for bin in "${targets[@]}"; do
  while [ "$running" -ge "$jobs" ]; do
    reap_one
  done
  [ "$stopping" = 1 ] && break
  run_target "$bin" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  reap_one
done
if [ "$stopping" = 1 ]; then
  write_doc "stopped early $(date -u +%Y-%m-%dT%H:%M:%SZ)"
else
  write_doc "finished $(date -u +%Y-%m-%dT%H:%M:%SZ)"
fi
echo "wrote $doc"
status=0
for bin in "${targets[@]}"; do
  f=$meta/$(basename "$bin").campaign
  [ -f "$f" ] && [ "$(field findings "$f")" = none ] || status=1
done
exit $status
