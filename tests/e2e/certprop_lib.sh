# certprop_lib.sh - helpers for certprop's end-to-end tests (sourced, not run).
# The service runs in the background against a private lab; its pid is
# recorded and it is stopped by that pid in the EXIT trap.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 1

MY_REL=AppData/Roaming/Microsoft/SystemCertificates/My/Certificates
ROOT_REL=ProgramData/Microsoft/SystemCertificates/SmartCardRoot/Certificates
BASE_CSP="Microsoft Base Smart Card Crypto Provider"
KSP="Microsoft Smart Card Key Storage Provider"
CERTPROP_PID=

# certprop_start LAB PROFILE [certprop options...]: events go to
# $E2E_TMP/certprop.json (stdout) and $E2E_TMP/certprop.err (stderr).
certprop_start() {
    local lab=$1 profile=$2; shift 2
    # Started directly (not through a shell function) so $! is certprop itself.
    PCSCLITE_CSOCK_NAME="$lab/run/pcscd/pcscd.comm" "$SCARDLAB" certprop --profile "$profile" \
        --json "$@" >"$E2E_TMP/certprop.json" 2>"$E2E_TMP/certprop.err" &
    CERTPROP_PID=$!
    # (exit $st) hands the script's status on to e2e_cleanup, which reads $?.
    trap 'st=$?; [ $st = 0 ] || E2E_SHOW_LOG=1; certprop_kill; set +e; (exit $st); e2e_cleanup' EXIT
    # Ready once it has listed the lab's readers.
    for _ in $(seq 100); do
        grep -q "watching reader 'scardlab 00 01'" "$E2E_TMP/certprop.err" 2>/dev/null && return 0
        kill -0 "$CERTPROP_PID" 2>/dev/null || break
        sleep 0.05
    done
    cat "$E2E_TMP/certprop.err" >&2
    fail "certprop should start and watch both lab readers"
}

certprop_kill() {
    if [ -n "$CERTPROP_PID" ]; then
        kill -TERM "$CERTPROP_PID" 2>/dev/null || true
        wait "$CERTPROP_PID" 2>/dev/null || true
        if [ -s "$E2E_TMP/certprop.err" ] && [ "${E2E_SHOW_LOG:-0}" = 1 ]; then
            { echo "=== certprop.err"; cat "$E2E_TMP/certprop.err"; } >&2
        fi
        CERTPROP_PID=
    fi
}

# certprop_stop: SIGTERM must end it with exit status 0.
certprop_stop() {
    local rc=0
    kill -TERM "$CERTPROP_PID" || fail "certprop (pid $CERTPROP_PID) should still be running"
    wait "$CERTPROP_PID" || rc=$?
    CERTPROP_PID=
    [ $rc = 0 ] || { cat "$E2E_TMP/certprop.err" >&2; fail "certprop should exit 0 on SIGTERM, exited $rc"; }
}

# Upper-case hex SHA-1 of a PEM certificate: the element's file name.
sha1_of() { openssl x509 -in "$1" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g'; }
hex_of_file() { od -An -tx1 -v "$1" | tr -d ' \n'; }
hex_of_der() { der_of "$1" | od -An -tx1 -v | tr -d ' \n'; }
utf16_hex() { printf '%s' "$1" | iconv -f UTF-8 -t UTF-16LE | od -An -tx1 -v | tr -d ' \n'; }

# wait_count DIR N WHAT: poll (bounded) until DIR holds N element files.
wait_count() {
    local n
    for _ in $(seq 1000); do
        # A store folder that does not exist yet holds 0.
        n=$( (find "$1" -maxdepth 1 -type f -regextype egrep -regex '.*/[0-9A-F]{40}' 2>/dev/null ||
              true) | wc -l)
        [ "$n" = "$2" ] && return 0
        sleep 0.01
    done
    cat "$E2E_TMP/certprop.err" >&2
    fail "$3: expected $2 certificate files in $1, found $n"
}

# wait_event PATTERN WHAT: poll (bounded) until a JSON line contains PATTERN.
wait_event() {
    for _ in $(seq 200); do
        grep -qF -- "$1" "$E2E_TMP/certprop.json" && return 0
        sleep 0.025
    done
    cat "$E2E_TMP/certprop.json" "$E2E_TMP/certprop.err" >&2
    fail "$2: expected an event containing '$1'"
}

# Key container name certprop must give a slot of a minted card: the card's
# GUID with its last 3 bytes replaced by the slot's object tag.
container_of() {
    local guid tag
    guid=$(awk '$1 == "guid" { print $2 }' "$1/card.conf")
    case $2 in 9a) tag=5fc105;; 9c) tag=5fc10a;; 9d) tag=5fc10b;; 9e) tag=5fc101;; esac
    echo "${guid:0:30}$tag"
}

# check_element DIR CARD SLOT PROVIDER: the file named by the SHA-1 of the
# slot's certificate holds its DER and a KEY_PROV_INFO (prop id 2, encoding 1)
# naming the slot's key container and PROVIDER (UTF-16LE, NUL-terminated).
check_element() {
    local dir=$1 card=$2 slot=$3 provider=$4 f hex
    f=$dir/$(sha1_of "$card/$slot.crt")
    [ -f "$f" ] || fail "$f (SHA-1 of $card/$slot.crt) should exist"
    hex=$(hex_of_file "$f")
    grep -q "$(hex_of_der "$card/$slot.crt")" <<<"$hex" || fail "$f should hold the DER of $slot.crt"
    grep -q "0200000001000000" <<<"$hex" || fail "$f should carry KEY_PROV_INFO (prop id 2)"
    grep -q "$(utf16_hex "$provider")0000" <<<"$hex" ||
        fail "$f KEY_PROV_INFO should name provider '$provider'"
    grep -q "$(utf16_hex "$(container_of "$card" "$slot")")0000" <<<"$hex" ||
        fail "$f KEY_PROV_INFO should name container '$(container_of "$card" "$slot")'"
}
