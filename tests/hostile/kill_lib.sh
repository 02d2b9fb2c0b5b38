# kill_lib.sh - helpers for the kill -9 tests against the session host and
# its certprop (sourced after connect_lib.sh): the store check every fault
# must leave true, and the scan for processes a fault left behind.

MY_REL=AppData/Roaming/Microsoft/SystemCertificates/My/Certificates

# kill_init: connect_init's lab, card and host, with the card taken out
# again so each test inserts it at the moment it means to kill.  Sets lab
# and fps (card_fps of the card).
kill_init() {
    connect_init openssl
    lab=$E2E_TMP/lab
    fps=$(card_fps "$E2E_TMP/card")
    "$SCARDLAB" card remove --lab "$lab" --slot 0 >/dev/null || fail "card remove should succeed"
}

# card_fps CARDDIR: " FP1 FP2 FP3 FP4 ", the upper-case SHA-1 of each minted
# certificate (the element file names certprop writes).
card_fps() {
    local s fps=" "
    for s in 9a 9c 9d 9e; do
        fps+="$(openssl x509 -in "$1/$s.crt" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g') "
    done
    echo "$fps"
}

# store_check PROFILE FPS WHAT: certutil parses the My store (exit 0); it
# lists 0..4 elements, as many as there are element files, each one of FPS.
# Only a *.tmp.* leftover of a cut write may be skipped.  Sets STORE_N.
store_check() {
    local profile=$1 fps=$2 what=$3 out files f name
    out=$("$SCARDLAB" certutil --profile "$profile" -user -store My 2>&1) ||
        { echo "$out" >&2; fail "certutil -store should parse every element ($what)"; }
    if grep -i "warning\|skipp" <<<"$out" | grep -qv '\.tmp\.[0-9]*\.[0-9]*: name is not a SHA-1; skipped'; then
        echo "$out" >&2; fail "only *.tmp.* leftovers may be skipped ($what)"
    fi
    STORE_N=$(grep -c "^================ Certificate" <<<"$out" || true)
    files=$( (find "$profile/$MY_REL" -maxdepth 1 -type f -regextype egrep -regex '.*/[0-9A-F]{40}' \
              2>/dev/null || true) | wc -l)
    [ "$STORE_N" = "$files" ] || { echo "$out" >&2; fail "certutil lists $STORE_N, My holds $files ($what)"; }
    [ "$STORE_N" -le 4 ] || fail "My holds $STORE_N elements, more than the card's 4 ($what)"
    for f in "$profile/$MY_REL"/*; do
        [ -e "$f" ] || continue
        name=$(basename "$f")
        [[ $name =~ ^[0-9A-F]{40}$ ]] || continue
        [[ $fps == *" $name "* ]] || fail "$name in My is not one of the card's certificates ($what)"
    done
}

# leftovers DIR: pids of scardlab-host, certprop or `scardlab connect`
# processes whose arguments or working folder point into DIR.  The lab's
# own processes are not matched.  A zombie has no arguments: the callers
# check the pids they know with pid_stopped.
leftovers() {
    local d=$1 p cmd cwd
    for p in /proc/[0-9]*; do
        cmd=$( { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null) || continue
        cwd=$(readlink "$p/cwd" 2>/dev/null || true)
        [[ $cmd == *"$d"* || $cwd == "$d"* ]] || continue
        if [[ $cmd =~ scardlab-host|scardlab\ (host|certprop|connect) ]]; then
            echo "${p#/proc/}"
        fi
    done
}

# pid_stopped PID: no such process, or a zombie (it runs no more; an orphan
# waits for init to reap it).
pid_stopped() {
    local st
    st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    st=${st##*) }
    [ "${st%% *}" = Z ]
}

# no_leftovers DIR WHAT: none within 20 s.
no_leftovers() {
    local left
    for _ in $(seq 100); do
        left=$(leftovers "$1")
        [ -z "$left" ] && return 0
        sleep 0.2
    done
    for p in $left; do ps -o pid,stat,args -p "$p" >&2 || true; done
    fail "processes left running after the fault ($2): $left"
}
