#!/bin/bash
# demo.sh SCARDLAB_BIN - `make demo`: the leak, told at the console of one
# machine in a private PC/SC lab.  Firstname Lastname's card goes into a
# reader, real PC/SC tools read it, the propagation service copies its
# certificates into the profile with a private-key claim, the card is pulled,
# the claim stays, certutil finds it by serial and deletes it.
# (Once the RDP session host lands, the card reaches the service over RDP.)
set -euo pipefail

SCARDLAB=$(realpath "${1:?usage: demo/demo.sh path/to/scardlab}")
SERIAL="05 05 1c 00 22 7f 3c dd fa 98"

if [ "$(id -u)" != 0 ]; then
    echo "demo: the private PC/SC lab needs root (mount and network namespaces); see docs/lab.md" >&2
    exit 1
fi

TMP=$(mktemp -d /tmp/scardlab-demo.XXXXXX)
LAB=$TMP/lab CARD=$TMP/card PROFILE=$TMP/profiles/alice
CERTPROP_PID=
cleanup() {
    step "Tearing the lab down"
    if [ -n "$CERTPROP_PID" ]; then kill "$CERTPROP_PID" 2>/dev/null || true; wait "$CERTPROP_PID" 2>/dev/null || true; fi
    "$SCARDLAB" lab down --dir "$LAB" && echo "lab stopped; nothing left running"
    rm -rf "$TMP"
}
trap cleanup EXIT

if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B= N=; fi
step() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
# Print the command as a user would type it (quoting words with spaces), then run it.
show() {
    local a line='$'
    for a in "$@"; do
        case $a in *' '*) line+=" \"$a\"" ;; *) line+=" $a" ;; esac
    done
    printf '%s\n' "$line"
    "$@"
}

step "1. A private PC/SC lab (its own pcscd + vpcd, invisible to the machine's)"
show "$SCARDLAB" lab up --dir "$LAB"
export PCSCLITE_CSOCK_NAME=$LAB/run/pcscd/pcscd.comm

step "2. Minting Firstname Lastname's smart card (serial $SERIAL)"
"$SCARDLAB" pki mint --out "$CARD" --holder "Firstname Lastname" \
    --upn firstname.lastname@contoso.test --serial "$SERIAL" --key rsa2048

step "3. The Certificate Propagation Service runs for the user's profile"
echo "$ scardlab certprop --profile $PROFILE &"
"$SCARDLAB" certprop --profile "$PROFILE" 2>"$TMP/certprop.log" &
CERTPROP_PID=$!
for _ in $(seq 100); do
    grep -q "watching reader" "$TMP/certprop.log" 2>/dev/null && break
    sleep 0.05
done

step "4. Inserting the card into the reader"
show "$SCARDLAB" card insert --lab "$LAB" --slot 0 "$CARD/card.conf"
show opensc-tool -l

step "5. What any PC/SC program can read from it"
show pkcs15-tool --list-certificates
echo
echo "certificate 01 (PIV Authentication), read from the card:"
pkcs15-tool --read-certificate 01 2>/dev/null | openssl x509 -noout -subject -serial -issuer

step "6. The service copied every certificate into the profile's My store"
MY=$PROFILE/AppData/Roaming/Microsoft/SystemCertificates/My/Certificates
for _ in $(seq 100); do
    [ "$(ls "$MY" 2>/dev/null | wc -l)" -ge 4 ] && break
    sleep 0.05
done
sed 's/^/  /' "$TMP/certprop.log"
show ls "$MY"
echo
show "$SCARDLAB" certutil --profile "$PROFILE" -silent -user -store My "$SERIAL"
echo
echo "The story's look-up, by serial number:"
echo "\$ scardlab certutil -v -silent -user -store My \"$SERIAL\" | grep \"Provider =\""
"$SCARDLAB" certutil --profile "$PROFILE" -v -silent -user -store My "$SERIAL" | grep "Provider ="

step "7. Pulling the card: the certificates stay, and so does the private-key claim"
show "$SCARDLAB" card remove --lab "$LAB" --slot 0
show opensc-tool -l
echo
echo "$ scardlab certutil -user -verifykeys My"
"$SCARDLAB" certutil --profile "$PROFILE" -user -verifykeys My || true
echo
echo "(claimed: Windows would say you have the private key; reachable: no card holds it now)"

step "8. The manual clean-up: certutil -user -delstore My \"Firstname Lastname\""
show "$SCARDLAB" certutil --profile "$PROFILE" -user -delstore My "Firstname Lastname"
echo
echo "$ ls $MY"
ls "$MY"
echo "(empty: the profile no longer holds the card's certificates)"
