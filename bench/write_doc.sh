# write_doc.sh - sourced by bench/all.sh: write_doc prints docs/benchmarks.md
# from the variables all.sh measured.  Not runnable on its own.
verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN {ok = op == "<" ? v < t : v <= t; print ok ? "met" : "**missed**"}'; }
write_doc() {
    echo "# Benchmarks (issue 8)"
    echo
    echo "Written by \`bench/all.sh\` (\`make bench\`) on $(date -u +%Y-%m-%dT%H:%MZ). All numbers"
    echo "come from one run; every comparison is a ratio of rounds interleaved in that run"
    echo "(the machine is shared: other engineers build and test on the same 2 CPUs)."
    echo "Spread is min..max over rounds (ratios) or trials."
    echo
    echo "| # | metric | target | measured (median, min..max) | peer / baseline | ratio | verdict |"
    echo "|---|---|---|---|---|---|---|"
    echo "| 1 | APDU mix through the redirection ($mix_apdus APDUs per op) | ≤ 2× local | $redir_med µs ($redir_min..$redir_max) | same program on the lab: $lab_med µs ($lab_min..$lab_max) | ${r1_med}× ($r1_min..$r1_max) | $(verdict "$r1_med" 2 "<=") |"
    echo "| 1′ | the same mix, every Transmit left to FreeRDP's device threads (\`--freerdp-transmit\`, stock FreeRDP's path) | — | $stock_med µs ($stock_min..$stock_max) | same program on the lab: $lab_med µs | ${r1s_med}× ($r1s_min..$r1s_max) | — |"
    echo "| 2 | full certificate read (SELECT, CHUID, 4 certs, paged; ${cr_apdus} APDUs) | < 100 ms | $cr_med ms ($cr_min..$cr_max) | same read on the lab: $crl_med ms ($crl_min..$crl_max) | ${r2_med}× ($r2_min..$r2_max) | $(verdict "$cr_med" 100 "<") |"
    echo "| 3 | propagation: pcscd reports PRESENT → first cert in remote store ($prop_n trials) | < 150 ms | $prop_med ms ($prop_min..$prop_max); all four: $propall_med ms ($propall_min..$propall_max) | pcscd presence detection (card insert → PRESENT), excluded: $poll_med ms ($poll_min..$poll_max) | — | $(verdict "$propall_med" 150 "<") |"
    echo "| 4 | tracing overhead: mix through the traced client | < 10% | $traced_med µs ($traced_min..$traced_max) | same client, same session, trace paused: $paused_med µs ($paused_min..$paused_max) | ${r4_med}× ($r4_min..$r4_max) | $(verdict "$r4_med" 1.10 "<") |"
    for row in "${conc_rows[@]}"; do
        IFS='|' read -r n okn lmed lmin lmax wall scpu hcpu base hwm per cpp <<<"$row"
        v=$(awk -v l="$lmax" -v p="$per" 'BEGIN {print (l < 5 && p < 8) ? "met" : "**missed**"}')
        [ "${okn%/*}" = "$n" ] || v="**missed** ($okn propagated)"
        echo "| 5 | concurrency N=$n: clients start → 4 certs in store, per session | all < 5 s, < 8 MB host/session | $lmed s ($lmin..$lmax); wall $wall s; CPU $scpu s (host $hcpu s); host $per MB/session | host RSS before sessions $base MB, peak (VmHWM) $hwm MB; certprop $cpp MB/session (separate process) | — | $v |"
    done
    echo "| 6 | \`scardlab matrix\` (18 rows, default -j ${matrix_jobs:-?} on $(nproc) CPUs) | < 60 s | $matrix_s s (${matrix_spread:-n/a}; 3 runs, exit ${matrix_rc:-n/a}) | — | — | $( [ "$matrix_s" = skipped ] && echo skipped || verdict "$matrix_s" 60 "<") |"
    if [ -n "$vicc_med" ]; then
        echo "| 7 | VERIFY 00 20 00 80 APDUs/s, our card | — | $(awk -v m="$ours_med" 'BEGIN {printf "%.0f", 1e6 / m}')/s (median $ours_med µs) | vicc -t iso7816: $(awk -v m="$vicc_med" 'BEGIN {printf "%.0f", 1e6 / m}')/s (median $vicc_med µs) | $(div "$vicc_med" "$ours_med")× faster | — |"
    else
        echo "| 7 | our card vs vicc | — | $ours_med µs | $vicc_note | — | — |"
    fi
    echo
    echo "## Method"
    echo
    echo "- One RSA-2048 card (\`scardlab pki mint --key rsa2048\`; certificates of $cert_bytes bytes DER)"
    echo "  in slot 0 of private labs (docs/lab.md). A session host (\`scardlab host\`, NLA, certprop"
    echo "  running) on loopback; headless clients \`scardlab connect\` each with its own lab as PC/SC."
    echo "- **1, 4**: \`bench/apdu_rtt --mix\`: one op = SELECT PIV, GET DATA 5FC105 (paged with GET"
    echo "  RESPONSE), VERIFY PIN, GENERAL AUTHENTICATE 9A RSA-2048 (two chained links, paged answer)."
    echo "  Per round ($ROUNDS rounds, order rotated) the same binary runs $MIX_N ops (after 5 warm-up)"
    echo "  on bob's lab directly, in bob's session (\`scardlab session exec\`, untraced client), in"
    echo "  carol's (client with \`--freerdp-transmit\`, row 1′; her lab is a copy of bob's), and"
    echo "  in alice's session, whose client runs with \`--trace --trace-toggle\`: there apdu_rtt"
    echo "  (\`--toggle-pid\`) sends the client SIGUSR1 before every op and waits until it is taken,"
    echo "  so ops alternate traced and paused ($MIX_N of each; a paused trace does no work). Item 1"
    echo "  compares bob's session with his lab; item 4 alice's traced ops with her paused ones: same"
    echo "  process, session and card, with the machine's noise spread over both alike. Ratio per"
    echo "  round of the medians; table shows the median of the per-round ratios. Process start,"
    echo "  SCardConnect and the toggles are outside the timing."
    echo "- **2**: \`bench/apdu_rtt --certread\`: BeginTransaction, SELECT, GET DATA CHUID and the four"
    echo "  containers 5FC105/0A/0B/01 with paging, EndTransaction — certprop's reads (not its parse"
    echo "  and store write, which item 3 covers). $CERT_N reads per round, interleaved with the lab."
    echo "- **3**: \`bench/prop_lat\` (on the client's lab pcscd) blocks in SCardGetStatusChange and"
    echo "  timestamps PRESENT; inotify (IN_MOVED_TO) on bob's remote My store timestamps each"
    echo "  certificate renamed into place by certprop. Then \`scardlab card insert\`. pcscd's presence"
    echo "  detection (insert started → PRESENT) is reported separately and excluded."
    echo "- **5**: a fresh host per N, N labs with cards present, N clients started at once; latency"
    echo "  per session = mtime of its certprop.json (the 4th cert_added line) − the moment the first client started; 32 sessions use 16 users (the host takes at most 16), two sessions each (so it includes FreeRDP's TCP,"
    echo "  TLS and NLA handshake). CPU = busy jiffies of the whole machine (/proc/stat) and of the host"
    echo "  (/proc/PID/stat) over the phase. Host memory per session = (VmHWM − VmRSS before any session) / N."
    echo "- **6**: wall time of \`scardlab matrix\`, median of 3 runs (its own rows use labs, host and clients; per-phase breakdown and the -j sweep in [bench-matrix.md](bench-matrix.md))."
    echo "- **7**: \`bench/run.sh\` (also writes [bench-lab.md](bench-lab.md)): VERIFY status round"
    echo "  trips on the same lab, our card then vicc on the other slot."
    echo
    echo "## Profile of the slowest path (the redirected APDU, item 1)"
    echo
    echo "A redirected APDU crosses these threads (\`perf sched timehist\` shows the wake-ups):"
    echo
    echo "1. the program's pcsc-lite client → the host's thread for that program's socket (pcsock),"
    echo "   which encodes the IRP and sends it over TLS itself;"
    echo "2. → the client's main thread (FreeRDP's transport), where our plug-in sees the PDU before"
    echo "   FreeRDP queues it for rdpdr's thread, makes the Transmit → the client's pcscd → the card,"
    echo "   and sends the completion over TLS from there;"
    echo "3. → the host's peer thread, which reads the completion and writes the pcsc-lite reply to"
    echo "   the program itself, in one sendmsg."
    echo
    echo "A local APDU wakes four threads in turn: pcscd (the program's request), the card, pcscd"
    echo "again, the program. A redirected one wakes eight: the host's socket thread where pcscd's"
    echo "thread stood, then the client's main thread, pcscd, the card, pcscd, the main thread, the"
    echo "host's peer thread, the program. The four extra ones are the two ends of each TLS crossing;"
    echo "none passes data between two threads of one process. On 2 vCPUs that halt when idle, a"
    echo "wake-up on the other CPU costs tens of µs, so the count is most of the cost (perf: ~3/4 of"
    echo "both processes' samples are the kernel's scheduler, eventfd and futex paths; TLS ≈ 5%, our"
    echo "own code ≈ 2%)."
    echo
    echo "Voluntary context switches per redirected APDU in this run: bob's client $csw_redir_client,"
    echo "the host $csw_redir_host (its per-program socket thread not counted: it ends with the"
    echo "program); carol's client, with every Transmit through FreeRDP's device, $csw_stock_client"
    echo "(host $csw_stock_host)."
    echo
    echo "- In this run (item 1's medians divided by $mix_apdus APDUs per op): a redirected APDU took"
    echo "  $redir_apdu_us µs, a local one $lab_apdu_us µs. Of the $redir_apdu_us µs, $dev_us µs (median over alice's"
    echo "  traced Transmits) passed inside the client between the plug-in seeing the Transmit and its"
    echo "  completion: the client's PC/SC to its lab and the card. The other $rest_apdu_us µs are"
    echo "  the rest of the path above: the host's two threads, FreeRDP's server and client transports"
    echo "  with TLS, loopback TCP."
    echo
    echo "What was ours on the path, and is fixed:"
    echo
    echo "- The trace was rendered on the IRP's path (~10%); it is rendered by its own thread (item 4)."
    echo "- FreeRDP's client queued each IRP for rdpdr's thread, which handed it to the device thread,"
    echo "  then to the context's thread; the completion went back the same way and was queued for the"
    echo "  main thread to send: six hand-offs. Our plug-in now makes a plain Transmit on the main"
    echo "  thread that received it and sends the completion from there (docs/client.md), falling"
    echo "  back to rdpdr's thread, and then to FreeRDP's device, whenever that could reorder calls."
    echo "  Row 1′ is the same mix the stock way, in the same run."
    echo "- The host woke its peer thread to send each IRP, woke the program's socket thread with each"
    echo "  completion, and woke every waiting caller (the status thread's long GetStatusChange"
    echo "  included) on every completion. Now the calling thread sends under the session's transport"
    echo "  lock, the peer thread answers the program directly (docs/session-host.md), and only the"
    echo "  caller of an IRP is woken."
    echo
    echo "How item 1 moved on this machine (2026-11-27): 3.13× (2.63..3.70) before any of this, in"
    echo "alternating runs of the mix against the previous build (2 × 8 rounds each); 2.44× after the"
    echo "host's changes and the plug-in's Transmit on rdpdr's thread; about 2.0–2.2× in \`make bench\`"
    echo "runs once that thread also sent the completion; with the main thread answering, 1.80× in one"
    echo "5-round trial, then 2.22× (1.86..2.37) and 2.28× (1.74..2.43) in two full \`make bench\` runs."
    echo "So item 1 sits just above the target: about 2.2×, with single rounds below 2×. What is left"
    echo "is not ours: both ends of RDP run TLS over TCP, which costs the four extra wake-ups and most"
    echo "of the rest."
    echo
    echo "## Outside our code"
    echo
    echo "- pcscd's presence detection (the vpcd driver polls; the ~0.4 s poll interval bounds it),"
    echo "  reported separately in item 3."
    echo "- The RDP transport (TLS over loopback TCP) at both ends, and FreeRDP 2.11's client channel"
    echo "  threading for every call our plug-in leaves to it (all but plain Transmits)."
    echo "- In item 5, FreeRDP's connection setup (TCP, TLS, NLA/CredSSP, capability exchange) dominates"
    echo "  the per-session time to propagate; the card read + store write is item 2/3's few ms."
    echo
    echo "## Machine"
    echo
    echo "- CPU: $cpu ($(nproc) online), $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo) RAM; kernel $(uname -sr)"
    echo "- build: $(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BIN/../CMakeCache.txt" 2>/dev/null || echo unknown) ($BIN)"
    echo "- pcsc-lite $(dpkg-query -W -f='${Version}' pcscd 2>/dev/null), FreeRDP $(dpkg-query -W -f='${Version}' libfreerdp2-2 2>/dev/null || echo 2.11), vsmartcard-vpcd $(dpkg-query -W -f='${Version}' vsmartcard-vpcd 2>/dev/null)"
    echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other engineers' builds and tests share the CPUs)"
}
