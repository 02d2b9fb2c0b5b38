# lib.sh - shared helpers for the lab's end-to-end tests (sourced, not run).
# Each test gets its own temp dir; every lab started through lab_up is torn
# down by the EXIT trap, whether the test passed or not.

set -euo pipefail

: "${SCARDLAB:?SCARDLAB must name the built scardlab binary}"
PKCS11_MODULE=${PKCS11_MODULE:-/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so}
E2E_NAME=$(basename "$0" .sh)
E2E_LABS=()

fail() { echo "FAIL [$E2E_NAME]: $*" >&2; exit 1; }
note() { echo "--- $*"; }

e2e_cleanup() {
    local rc=$?
    for d in "${E2E_LABS[@]}"; do
        "$SCARDLAB" lab down --dir "$d" || echo "cleanup: lab down $d failed" >&2
    done
    if [ $rc -ne 0 ]; then
        for d in "${E2E_LABS[@]}"; do
            for f in "$d"/pcscd.log "$d"/lab.log "$d"/slot*.log; do
                [ -f "$f" ] && { echo "=== tail $f"; tail -n 15 "$f"; } >&2
            done
        done
    fi
    [ -n "${E2E_TMP:-}" ] && rm -rf "$E2E_TMP"
    exit $rc
}

e2e_init() {
    # Not root: the lab makes its own user namespace; skip where the kernel forbids that.
    if [ "$(id -u)" != 0 ] && ! unshare --user --map-root-user true 2>/dev/null; then
        echo "SKIP [$E2E_NAME]: not root and unprivileged user namespaces are off (see docs/lab.md)"
        exit 77
    fi
    for t in "$@"; do
        command -v "$t" >/dev/null || fail "tool '$t' is not installed"
    done
    E2E_TMP=$(mktemp -d "/tmp/scl-e2e-$E2E_NAME.XXXXXX")
    trap e2e_cleanup EXIT
    trap 'exit 130' INT TERM
}

# lab_up DIR: start a lab and register it for teardown.
lab_up() {
    E2E_LABS+=("$1")
    "$SCARDLAB" lab up --dir "$1" >/dev/null || fail "lab up --dir $1 should succeed"
}

# in_lab DIR CMD...: run a PC/SC client against that lab's pcscd.
in_lab() {
    local d=$1; shift
    PCSCLITE_CSOCK_NAME="$d/run/pcscd/pcscd.comm" "$@"
}

# mint OUT HOLDER [pki mint options...]
mint() {
    local out=$1 holder=$2; shift 2
    "$SCARDLAB" pki mint --out "$out" --holder "$holder" "$@" >/dev/null ||
        fail "pki mint --out $out --holder '$holder' $* should succeed"
    [ -f "$out/card.conf" ] || fail "pki mint should write $out/card.conf"
}

# lab_with_card DIR HOLDER: a lab with a freshly minted card (in
# $E2E_TMP/card) in slot 0, and PC/SC clients of this script pointed at it.
lab_with_card() {
    lab_up "$1"
    mint "$E2E_TMP/card" "$2"
    "$SCARDLAB" card insert --lab "$1" --slot 0 "$E2E_TMP/card/card.conf" >/dev/null ||
        fail "card insert should succeed"
    export PCSCLITE_CSOCK_NAME="$1/run/pcscd/pcscd.comm"
}

# expect_contains TEXT NEEDLE WHAT
expect_contains() {
    grep -qF -- "$2" <<<"$1" || { echo "$1" >&2; fail "$3: expected to find '$2' (output above)"; }
}

# Certificate as DER, from the PEM the minting wrote.
der_of() { openssl x509 -in "$1" -outform DER; }

# pid_gone PID STARTTIME: true if that process no longer runs (zombies count as gone).
pid_gone() {
    local st
    st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    st=${st##*) }
    [ "${st%% *}" = Z ] && return 0
    [ "$(awk '{print $20}' <<<"$st")" != "$2" ]
}

# APDUs through opensc-tool: prints only the response status words line by line.
apdu_sws() {
    local d=$1; shift
    local args=()
    for a in "$@"; do args+=(-s "$a"); done
    in_lab "$d" opensc-tool -r 0 "${args[@]}" 2>&1 |
        awk '/^Received/ { sub(/.*SW1=0x/, ""); sub(/, SW2=0x/, " "); sub(/\).*/, ""); print toupper($0) }'
}

# PIV slot of a PKCS#15 id as OpenSC's PIV emulation numbers them.
slot_of_id() { case $1 in 01) echo 9a;; 02) echo 9c;; 03) echo 9d;; 04) echo 9e;; esac; }

# check_certs_on_card LAB CARDDIR UPN: every minted certificate is listed and
# reads back byte for byte, with the minted subject and UPN.
check_certs_on_card() {
    local d=$1 card=$2 upn=$3 out id slot
    out=$(in_lab "$d" opensc-tool -l 2>&1)
    grep -qE '^0 +Yes +scardlab 00 00' <<<"$out" ||
        { echo "$out" >&2; fail "opensc-tool -l should list reader 'scardlab 00 00' with a card"; }
    out=$(in_lab "$d" pkcs15-tool --list-certificates 2>&1)
    local n
    n=$(grep -c '^X.509 Certificate' <<<"$out" || true)
    [ "$n" = 4 ] || { echo "$out" >&2; fail "pkcs15-tool --list-certificates should list 4 certificates, listed $n"; }
    for id in 01 02 03 04; do
        slot=$(slot_of_id $id)
        expect_contains "$out" "ID             : $id" "pkcs15-tool --list-certificates (slot $slot)"
        in_lab "$d" pkcs15-tool --read-certificate $id -o "$E2E_TMP/read-$id.pem" >/dev/null 2>&1 ||
            fail "pkcs15-tool --read-certificate $id should succeed"
        cmp -s <(der_of "$card/$slot.crt") <(der_of "$E2E_TMP/read-$id.pem") ||
            fail "certificate $id read from the card should equal minted $card/$slot.crt (DER)"
        [ "$(openssl x509 -in "$E2E_TMP/read-$id.pem" -noout -subject)" = \
          "$(openssl x509 -in "$card/$slot.crt" -noout -subject)" ] ||
            fail "certificate $id subject should be the minted one"
        expect_contains "$(openssl x509 -in "$E2E_TMP/read-$id.pem" -noout -ext subjectAltName)" \
            "$upn" "certificate $id subjectAltName"
    done
}

# sign_and_verify LAB CARDDIR ID MECH [extra pkcs11-tool args]: sign with the
# card's key, verify with openssl against the minted certificate.
sign_and_verify() {
    local d=$1 card=$2 id=$3 mech=$4; shift 4
    local slot data sig pub out
    slot=$(slot_of_id "$id")
    data="$E2E_TMP/data.txt"; sig="$E2E_TMP/sig-$id.bin"; pub="$E2E_TMP/pub-$id.pem"
    echo "scardlab e2e $E2E_NAME $id $RANDOM" >"$data"
    out=$(in_lab "$d" pkcs11-tool --module "$PKCS11_MODULE" --login --pin 123456 --sign \
          --id "$id" -m "$mech" "$@" -i "$data" -o "$sig" 2>&1) ||
        { echo "$out" >&2; fail "pkcs11-tool --sign --id $id -m $mech should succeed"; }
    openssl x509 -in "$card/$slot.crt" -noout -pubkey >"$pub"
    out=$(openssl dgst -sha256 -verify "$pub" -signature "$sig" "$data" 2>&1) ||
        { echo "$out" >&2; fail "openssl should verify the $mech signature of key $id (slot $slot)"; }
}
