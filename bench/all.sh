#!/bin/bash
# all.sh SCARDLAB_BIN - the whole benchmark suite behind `make bench` (issue 8);
# writes docs/benchmarks.md.  Everything runs in private labs and on loopback:
# a session host, headless `scardlab connect` clients (one lab each), and the
# PC/SC programs bench/apdu_rtt and bench/prop_lat.  Comparisons are ratios of
# rounds interleaved in the same run (the machine is shared and noisy).
# Needs root (the labs do).  Bounded: about 3-5 minutes, matrix included.
# Knobs: BENCH_ROUNDS (7), BENCH_MIX_N (60), BENCH_CERT_N (15),
# BENCH_PROP_TRIALS (11), BENCH_CONC ("1 8 32"), BENCH_SKIP_MATRIX=1.
set -euo pipefail

SCARDLAB=$(realpath "${1:?usage: bench/all.sh path/to/scardlab}")
BIN=$(dirname "$SCARDLAB")
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=${BENCH_OUT:-$SRC/docs/benchmarks.md}
ROUNDS=${BENCH_ROUNDS:-7}
MIX_N=${BENCH_MIX_N:-60}
CERT_N=${BENCH_CERT_N:-15}
PROP_TRIALS=${BENCH_PROP_TRIALS:-11}
CONC=${BENCH_CONC:-"1 8 32"}
for b in apdu_rtt prop_lat scardlab-host scardlab-connect; do
    [ -x "$BIN/$b" ] || { echo "bench: $BIN/$b not built" >&2; exit 1; }
done

TMP=$(mktemp -d /tmp/scl-bench-all.XXXXXX)
LABS=()     # lab folders: `lab down` in the trap
CLIENTS=()  # scardlab connect pids
HOSTS=()    # scardlab-host pids
stop_pids() { # SIGTERM, wait up to 5 s, SIGKILL; by pid only
    local p
    for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "$@"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
}
cleanup() {
    local rc=$?
    stop_pids "${CLIENTS[@]}"
    stop_pids "${HOSTS[@]}"
    for d in "${LABS[@]}"; do "$SCARDLAB" lab down --dir "$d" >/dev/null 2>&1 || true; done
    [ $rc -ne 0 ] && echo "bench: failed (rc $rc); logs kept in $TMP" >&2 || rm -rf "$TMP"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export BENCH_PW="bench-$RANDOM-pw"
now_ns() { date +%s%N; }
store_of() { echo "$1/AppData/Roaming/Microsoft/SystemCertificates/My/Certificates"; }
store_count() { find "$(store_of "$1")" -type f 2>/dev/null | wc -l; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
field() { tr '\t' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
# stats: numbers on stdin -> "median min max n"
stats() { sort -g | awk '{a[NR]=$1} END {if (!NR) {print "nan nan nan 0"; exit}
    m = NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.3f %.3f %.3f %d\n", m, a[1], a[NR], NR}'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }

# lab_with_card DIR: a lab whose slot 0 holds the bench card.
lab_with_card() {
    LABS+=("$1")
    "$SCARDLAB" lab up --dir "$1" >/dev/null
    "$SCARDLAB" card insert --lab "$1" --slot 0 "$TMP/card/card.conf" >/dev/null
}

# host_conf FILE PORT STATE USERS...: NLA, certprop running, one profile each.
host_conf() {
    local f=$1 port=$2 state=$3 u; shift 3
    { echo "[host]"; echo "listen = 127.0.0.1:$port"; echo "state_dir = $state"; echo "auth = nla"
      echo "[policy]"; echo "fEnableSmartCard = 1"; echo "certprop_service = running"
      for u in "$@"; do
          echo "[user $u]"; echo "password = $BENCH_PW"; echo "profile = $TMP/profiles/$state_tag/$u"
      done; } >"$f"
}

# host_start CONF LOG: sets HOST_PID (scardlab execs scardlab-host, same pid).
host_start() {
    "$SCARDLAB" host --config "$1" >"$2" 2>&1 &
    HOST_PID=$!
    HOSTS+=("$HOST_PID")
    for _ in $(seq 200); do grep -q "listening on" "$2" && return 0; sleep 0.1; done
    echo "bench: host did not listen ($2)" >&2; return 1
}

# client_start NAME LAB PORT USER [--trace F]: sets CLIENT_PID.
client_start() {
    local name=$1 lab=$2 port=$3 user=$4; shift 4
    PCSCLITE_CSOCK_NAME="$lab/run/pcscd/pcscd.comm" "$SCARDLAB" connect --profile "$TMP/clients/$name" \
        --password-env BENCH_PW "$@" /v:127.0.0.1:"$port" /u:"$user" /cert:ignore \
        >"$TMP/$name.out" 2>"$TMP/$name.err" &
    CLIENT_PID=$!
    CLIENTS+=("$CLIENT_PID")
}

wait_store() { # PROFILE N SECONDS
    for _ in $(seq $(($3 * 10))); do [ "$(store_count "$1")" -ge "$2" ] && return 0; sleep 0.1; done
    return 1
}

proc_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
proc_cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
sys_busy_ticks() { awk '/^cpu / {print $2+$3+$4+$7+$8}' /proc/stat; }

cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
echo "== bench in $TMP ($cpu, $(nproc) CPUs)"
"$SCARDLAB" pki mint --out "$TMP/card" --holder "Bench Card" --key rsa2048 >/dev/null
cert_bytes=$(for s in 9a 9c 9d 9e; do openssl x509 -in "$TMP/card/$s.crt" -outform DER | wc -c; done | tr '\n' ' ')

# ---------------------------------------------------------------- 7: vicc
echo "== 7. our card vs vicc (bench/run.sh, same lab, VERIFY 00 20 00 80)"
labrun=$(BENCH_N=${BENCH_N:-3000} BENCH_N_SLOW=${BENCH_N_SLOW:-60} bash "$SRC/bench/run.sh" "$SCARDLAB" 2>&1) ||
    { echo "$labrun" >&2; exit 1; }
ours_med=$(grep -P '^scardlab card\t' <<<"$labrun" | tr '\t' '\n' | sed -n 's/^median=//p')
vicc_med=$(grep -P '^vicc \(iso7816\)\t' <<<"$labrun" | tr '\t' '\n' | sed -n 's/^median=//p' || true)
vicc_note=$(grep -E '^vicc (did not|baseline skipped)' <<<"$labrun" || true)

# ------------------------------------------------- phase A: host + 3 clients
echo "== host with alice (client traced), bob (not traced) and carol (--freerdp-transmit)"
state_tag=A
lab_with_card "$TMP/labA"
lab_with_card "$TMP/labB"
lab_with_card "$TMP/labC"
PORT=$(free_port)
host_conf "$TMP/hostA.conf" "$PORT" "$TMP/stateA" alice bob carol
host_start "$TMP/hostA.conf" "$TMP/hostA.log"
HOST_A=$HOST_PID
client_start alice "$TMP/labA" "$PORT" alice --trace "$TMP/alice.trace" --trace-toggle
ALICE_CLIENT=$CLIENT_PID
client_start bob "$TMP/labB" "$PORT" bob
BOB_CLIENT=$CLIENT_PID
client_start carol "$TMP/labC" "$PORT" carol --freerdp-transmit
CAROL_CLIENT=$CLIENT_PID
for u in alice bob carol; do
    wait_store "$TMP/profiles/A/$u" 4 60 || { echo "bench: $u's session did not propagate (see $TMP)" >&2; exit 1; }
done
in_sess() { local u=$1; shift; "$SCARDLAB" session exec --host-dir "$TMP/stateA" --user "$u" -- "$@"; }
on_lab() { local l=$1; shift; PCSCLITE_CSOCK_NAME="$l/run/pcscd/pcscd.comm" "$@"; }

# 1 + 4: rounds of the mix, order rotated each round: lab (bob's card,
# direct), bob's session (untraced client), and alice's session, where
# apdu_rtt pauses or resumes her client's trace (SIGUSR1) before every
# operation: traced and paused operations alternate one by one in the same
# process, session and card, and print as "traced" and "traced-toggled".
echo "== 1/4. APDU mix: lab vs redirected; traced vs paused (one client, alternating), $ROUNDS rounds x $MIX_N"
: >"$TMP/mix.tsv"
# Voluntary context switches of every thread of PID so far (threads that
# ended are not counted: the host's per-program socket thread).
csw() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/ {s += $2} END {print s + 0}'; }
: >"$TMP/csw.tsv"
mix_one() { # KIND
    local a=(--mix -n "$MIX_N" --warmup 5 --reader "scardlab 00 00" --label "$1")
    case $1 in
        lab) on_lab "$TMP/labB" "$BIN/apdu_rtt" "${a[@]}" ;;
        redir) counted "$1" "$BOB_CLIENT" in_sess bob "$BIN/apdu_rtt" "${a[@]}" ;;
        stock) counted "$1" "$CAROL_CLIENT" in_sess carol "$BIN/apdu_rtt" "${a[@]}" ;;
        traced) in_sess alice "$BIN/apdu_rtt" "${a[@]}" -n $((2 * MIX_N)) --toggle-pid "$ALICE_CLIENT" ;;
    esac
}
counted() { # KIND CLIENT_PID CMD...: CMD, with the switches of that client and of the host
    local kind=$1 cl=$2 c0 h0; shift 2
    c0=$(csw "$cl"); h0=$(csw "$HOST_A")
    "$@"
    echo "$kind	$(($(csw "$cl") - c0))	$(($(csw "$HOST_A") - h0))" >>"$TMP/csw.tsv"
}
kinds=(lab redir traced stock)
for r in $(seq "$ROUNDS"); do
    for k in 0 1 2 3; do
        kind=${kinds[$(((k + r) % 4))]}
        mix_one "$kind" | while IFS= read -r line; do echo "$r	$line"; done >>"$TMP/mix.tsv"
    done
    echo "   round $r: $(awk -F'\t' -v r="$r" '$1==r {printf "%s ", $2; for(i=3;i<=NF;i++) if ($i ~ /^median=/) printf "%s  ", $i}' "$TMP/mix.tsv")"
done
mix_med() { awk -F'\t' -v r="$1" -v k="$2" '$1==r && $2==k {for(i=3;i<=NF;i++) if ($i ~ /^median=/) {sub("median=","",$i); print $i}}' "$TMP/mix.tsv"; }
mix_apdus=$(awk -F'\t' '$2=="lab" {for(i=3;i<=NF;i++) if ($i ~ /^apdus_per_op=/) {sub("apdus_per_op=","",$i); print $i; exit}}' "$TMP/mix.tsv")
: >"$TMP/r1"; : >"$TMP/r4"; : >"$TMP/r1s"; : >"$TMP/lab_us"; : >"$TMP/redir_us"; : >"$TMP/traced_us"; : >"$TMP/paused_us"; : >"$TMP/stock_us"
for r in $(seq "$ROUNDS"); do
    l=$(mix_med "$r" lab); d=$(mix_med "$r" redir); t=$(mix_med "$r" traced); p=$(mix_med "$r" traced-toggled)
    st=$(mix_med "$r" stock)
    echo "$l" >>"$TMP/lab_us"; echo "$d" >>"$TMP/redir_us"; echo "$t" >>"$TMP/traced_us"; echo "$p" >>"$TMP/paused_us"
    echo "$st" >>"$TMP/stock_us"
    div "$d" "$l" >>"$TMP/r1"; echo >>"$TMP/r1"
    div "$st" "$l" >>"$TMP/r1s"; echo >>"$TMP/r1s"
    div "$t" "$p" >>"$TMP/r4"; echo >>"$TMP/r4"
done
read -r r1_med r1_min r1_max _ < <(stats <"$TMP/r1")
read -r r4_med r4_min r4_max _ < <(stats <"$TMP/r4")
read -r r1s_med r1s_min r1s_max _ < <(stats <"$TMP/r1s")
read -r stock_med stock_min stock_max _ < <(stats <"$TMP/stock_us")
# Switches per redirected APDU (warm-up ops included), client and host.
csw_per() { awk -F'\t' -v k="$1" -v c="$2" -v n=$(((MIX_N + 5) * ${mix_apdus%.*})) \
    '$1 == k {s += $c; m++} END {printf "%.1f", m ? s / m / n : 0}' "$TMP/csw.tsv"; }
csw_redir_client=$(csw_per redir 2); csw_redir_host=$(csw_per redir 3)
csw_stock_client=$(csw_per stock 2); csw_stock_host=$(csw_per stock 3)
read -r lab_med lab_min lab_max _ < <(stats <"$TMP/lab_us")
read -r redir_med redir_min redir_max _ < <(stats <"$TMP/redir_us")
read -r traced_med traced_min traced_max _ < <(stats <"$TMP/traced_us")
read -r paused_med paused_min paused_max _ < <(stats <"$TMP/paused_us")
# Where a redirected APDU's time goes: from alice's trace, the time between
# the plug-in seeing a Transmit and its completion (FreeRDP's device and
# context threads, the client's PC/SC to its lab, the card), per APDU.
dev_us=$(python3 - "$TMP/alice.trace" <<'PY'
import datetime, json, statistics, sys
seen, d = {}, []
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o.get("ioctl") != "Transmit":
        continue
    t = datetime.datetime.strptime(o["time"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
    if o["dir"] == "call":
        seen[o["CompletionId"]] = t
    elif o["CompletionId"] in seen:
        d.append((t - seen.pop(o["CompletionId"])) * 1e6)
print("%.1f" % statistics.median(d) if d else "nan")
PY
)
redir_apdu_us=$(awk -v a="$redir_med" -v n="$mix_apdus" 'BEGIN {printf "%.1f", a / n}')
lab_apdu_us=$(awk -v a="$lab_med" -v n="$mix_apdus" 'BEGIN {printf "%.1f", a / n}')
rest_apdu_us=$(awk -v a="$redir_apdu_us" -v d="$dev_us" 'BEGIN {printf "%.1f", a - d}')

# 2: the certprop read (SELECT, CHUID, four containers, paged), interleaved.
echo "== 2. full certificate read: redirected vs lab, $ROUNDS rounds x $CERT_N"
: >"$TMP/cr_redir"; : >"$TMP/cr_lab"; : >"$TMP/r2"
for r in $(seq "$ROUNDS"); do
    a=(--certread -n "$CERT_N" --warmup 2 --reader "scardlab 00 00")
    if [ $((r % 2)) = 0 ]; then
        x=$(in_sess bob "$BIN/apdu_rtt" "${a[@]}" --label redir); y=$(on_lab "$TMP/labB" "$BIN/apdu_rtt" "${a[@]}" --label lab)
    else
        y=$(on_lab "$TMP/labB" "$BIN/apdu_rtt" "${a[@]}" --label lab); x=$(in_sess bob "$BIN/apdu_rtt" "${a[@]}" --label redir)
    fi
    xm=$(field "$x" median); ym=$(field "$y" median)
    cr_apdus=$(field "$x" apdus_per_op)
    awk -v v="$xm" 'BEGIN {printf "%.3f\n", v / 1000}' >>"$TMP/cr_redir"
    awk -v v="$ym" 'BEGIN {printf "%.3f\n", v / 1000}' >>"$TMP/cr_lab"
    div "$xm" "$ym" >>"$TMP/r2"; echo >>"$TMP/r2"
    echo "   round $r: redirected ${xm} us, lab ${ym} us"
done
read -r cr_med cr_min cr_max _ < <(stats <"$TMP/cr_redir")
read -r crl_med crl_min crl_max _ < <(stats <"$TMP/cr_lab")
read -r r2_med r2_min r2_max _ < <(stats <"$TMP/r2")

# 3: propagation latency.  prop_lat waits on bob's lab pcscd for PRESENT and
# watches bob's remote store; the card goes in after it says "ready".
echo "== 3. propagation latency, $PROP_TRIALS trials"
: >"$TMP/poll_ms"; : >"$TMP/prop_ms"; : >"$TMP/prop_all_ms"; : >"$TMP/e2e_ms"
bob_store=$(store_of "$TMP/profiles/A/bob")
for t in $(seq "$PROP_TRIALS"); do
    "$SCARDLAB" card remove --lab "$TMP/labB" --slot 0 >/dev/null
    sleep 0.3 # certprop in bob's session sees the removal too
    find "$bob_store" -type f -delete
    exec 5< <(on_lab "$TMP/labB" "$BIN/prop_lat" "scardlab 00 00" "$bob_store" 4 15000)
    read -r -u 5 ready
    [ "$ready" = ready ] || { echo "bench: prop_lat did not start" >&2; exit 1; }
    t0=$(now_ns)
    "$SCARDLAB" card insert --lab "$TMP/labB" --slot 0 "$TMP/card/card.conf" >/dev/null
    read -r -u 5 res || true
    exec 5<&-
    p=$(sed -n 's/.*present=\([0-9]*\).*/\1/p' <<<"$res"); f=$(sed -n 's/.*first=\([0-9]*\).*/\1/p' <<<"$res")
    l=$(sed -n 's/.*last=\([0-9]*\).*/\1/p' <<<"$res"); c=$(sed -n 's/.*certs=\([0-9]*\).*/\1/p' <<<"$res")
    if [ "${c:-0}" != 4 ] || [ "${p:-0}" = 0 ]; then echo "   trial $t: incomplete ($res)"; continue; fi
    awk -v a="$p" -v b="$t0" 'BEGIN {printf "%.1f\n", (a - b) / 1e6}' >>"$TMP/poll_ms"
    awk -v a="$f" -v b="$p" 'BEGIN {printf "%.1f\n", (a - b) / 1e6}' >>"$TMP/prop_ms"
    awk -v a="$l" -v b="$p" 'BEGIN {printf "%.1f\n", (a - b) / 1e6}' >>"$TMP/prop_all_ms"
    awk -v a="$l" -v b="$t0" 'BEGIN {printf "%.1f\n", (a - b) / 1e6}' >>"$TMP/e2e_ms"
    echo "   trial $t: poll $(tail -1 "$TMP/poll_ms") ms, first cert $(tail -1 "$TMP/prop_ms") ms, all four $(tail -1 "$TMP/prop_all_ms") ms"
done
read -r poll_med poll_min poll_max _ < <(stats <"$TMP/poll_ms")
read -r prop_med prop_min prop_max prop_n < <(stats <"$TMP/prop_ms")
read -r propall_med propall_min propall_max _ < <(stats <"$TMP/prop_all_ms")
read -r e2e_med e2e_min e2e_max _ < <(stats <"$TMP/e2e_ms")

stop_pids "${CLIENTS[@]}"; CLIENTS=()
stop_pids "${HOSTS[@]}"; HOSTS=()

# ------------------------------------------------------ 5: concurrency
maxn=0; for n in $CONC; do [ "$n" -gt "$maxn" ] && maxn=$n; done
echo "== 5. concurrency: starting $maxn labs"
for i in $(seq "$maxn"); do lab_with_card "$TMP/lc$i"; done
conc_rows=()
for n in $CONC; do
    echo "== 5. concurrency N=$n"
    state_tag=C$n
    # The host takes at most 16 users; above that, users get two sessions.
    nu=$((n < 16 ? n : 16))
    users=(); for i in $(seq "$nu"); do users+=("u$i"); done
    PORT=$(free_port)
    host_conf "$TMP/hostC$n.conf" "$PORT" "$TMP/stateC$n" "${users[@]}"
    host_start "$TMP/hostC$n.conf" "$TMP/hostC$n.log"
    sleep 0.5
    base_rss=$(proc_kb "$HOST_PID" VmRSS)
    sys0=$(sys_busy_ticks); hc0=$(proc_cpu_ticks "$HOST_PID")
    T0=$(now_ns)
    for i in $(seq "$n"); do
        client_start "c$n-$i" "$TMP/lc$i" "$PORT" "u$(((i - 1) % 16 + 1))"
    done
    peak_rss=0; cp_rss=0
    for _ in $(seq 600); do # up to 60 s
        done_n=0
        for j in "$TMP/stateC$n"/sessions/*/certprop.json; do
            [ -f "$j" ] && [ "$(grep -c '"cert_added"' "$j")" -ge 4 ] && done_n=$((done_n + 1))
        done
        r=$(proc_kb "$HOST_PID" VmRSS); [ "$r" -gt "$peak_rss" ] && peak_rss=$r
        [ "$done_n" = "$n" ] && break
        sleep 0.1
    done
    T1=$(now_ns)
    sleep 0.5 # settle: certprop idle again, sessions still live
    for f in "$TMP/stateC$n"/sessions/*/certprop.pid; do
        [ -f "$f" ] && cp_rss=$((cp_rss + $(proc_kb "$(awk '{print $1}' "$f")" VmRSS)))
    done
    hwm=$(proc_kb "$HOST_PID" VmHWM); rss_live=$(proc_kb "$HOST_PID" VmRSS)
    sys1=$(sys_busy_ticks); hc1=$(proc_cpu_ticks "$HOST_PID")
    : >"$TMP/c$n.lat"
    # Per session: its certprop.json's last write (the 4th cert_added) - T0.
    for j in "$TMP/stateC$n"/sessions/*/certprop.json; do
        [ -f "$j" ] && [ "$(grep -c '"cert_added"' "$j")" -ge 4 ] || continue
        awk -v a="$(stat -c %.9Y "$j")" -v b="$T0" 'BEGIN {printf "%.3f\n", a - b / 1e9}' >>"$TMP/c$n.lat"
    done
    read -r lat_med lat_min lat_max lat_n < <(stats <"$TMP/c$n.lat")
    tick=$(getconf CLK_TCK)
    wall=$(awk -v a="$T1" -v b="$T0" 'BEGIN {printf "%.2f", (a - b) / 1e9}')
    syscpu=$(awk -v a="$sys1" -v b="$sys0" -v t="$tick" 'BEGIN {printf "%.2f", (a - b) / t}')
    hostcpu=$(awk -v a="$hc1" -v b="$hc0" -v t="$tick" 'BEGIN {printf "%.2f", (a - b) / t}')
    per_sess=$(awk -v h="$hwm" -v b="$base_rss" -v n="$n" 'BEGIN {printf "%.2f", (h - b) / n / 1024}')
    per_cp=$(awk -v c="$cp_rss" -v n="$n" 'BEGIN {printf "%.2f", c / n / 1024}')
    conc_rows+=("$n|$lat_n/$n|$lat_med|$lat_min|$lat_max|$wall|$syscpu|$hostcpu|$(awk -v b="$base_rss" 'BEGIN {printf "%.1f", b / 1024}')|$(awk -v h="$hwm" 'BEGIN {printf "%.1f", h / 1024}')|$per_sess|$per_cp")
    echo "   propagated $lat_n/$n; per-session latency median $lat_med s (max $lat_max s); wall $wall s; CPU $syscpu s (host $hostcpu s); host HWM $hwm kB (base $base_rss kB) = $per_sess MB/session; certprop $per_cp MB/session"
    stop_pids "${CLIENTS[@]}"; CLIENTS=()
    stop_pids "${HOSTS[@]}"; HOSTS=()
done
for d in "${LABS[@]}"; do "$SCARDLAB" lab down --dir "$d" >/dev/null 2>&1 || true; done
LABS=()

# ------------------------------------------------------------ 6: matrix
matrix_s=skipped
if [ "${BENCH_SKIP_MATRIX:-0}" != 1 ]; then
    echo "== 6. scardlab matrix (default parallelism), 3 runs"
    matrix_runs=() matrix_rc=0
    for r in 1 2 3; do
        m0=$(now_ns)
        if timeout 120 "$SCARDLAB" matrix >"$TMP/matrix.log" 2>&1; then rc=0; else rc=$?; fi
        m1=$(now_ns)
        [ $rc = 0 ] || matrix_rc=$rc
        matrix_runs+=("$(awk -v a="$m1" -v b="$m0" 'BEGIN {printf "%.1f", (a - b) / 1e9}')")
        echo "   run $r: ${matrix_runs[-1]} s (exit $rc)"
    done
    matrix_s=$(printf '%s\n' "${matrix_runs[@]}" | sort -n | sed -n 2p)
    matrix_spread=$(printf '%s\n' "${matrix_runs[@]}" | sort -n | sed -n '1p;3p' | paste -sd' ' | sed 's/ /../')
    matrix_jobs=$("$SCARDLAB" matrix --help 2>&1 | sed -n 's/.*evened out: \([0-9]*\) on.*/\1/p')
fi

# ------------------------------------------------------------- the doc
source "$SRC/bench/write_doc.sh"
write_doc >"$OUT"
echo "== wrote $OUT"
