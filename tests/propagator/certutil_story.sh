#!/bin/bash
# certutil_story.sh - the story's two certutil commands run against the built
# scardlab, on a store filled from an .sst that this script assembles byte by
# byte with printf (so the format is checked by a second, independent writer).
set -euo pipefail
: "${SCARDLAB:?SCARDLAB must name the scardlab binary}"

work=$(mktemp -d /tmp/scl-e2e-certutil-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# A CA and a user certificate like the story's, minted by openssl.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/ca.key" -subj "/CN=scardlab e2e CA" \
  -days 30 -out "$work/ca.pem" 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -keyout "$work/user.key" -subj "/CN=Firstname Lastname" \
  -out "$work/user.csr" 2>/dev/null
printf 'subjectAltName=otherName:1.3.6.1.4.1.311.20.2.3;UTF8:firstname.lastname@example.test\n' > "$work/ext"
openssl x509 -req -in "$work/user.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
  -set_serial 0x05051c00227f3cddfa98 -days 30 -extfile "$work/ext" -outform DER -out "$work/user.der" 2>/dev/null

u32le() { printf "\\x$(printf %02x $(($1 & 255)))\\x$(printf %02x $((($1 >> 8) & 255)))\\x$(printf %02x $((($1 >> 16) & 255)))\\x$(printf %02x $((($1 >> 24) & 255)))"; }
utf16z() { local s=$1 i; for ((i = 0; i < ${#s}; i++)); do printf '%s\x00' "${s:i:1}"; done; printf '\x00\x00'; }
entry() { u32le "$1"; u32le 1; u32le "$(stat -c %s "$2")"; cat "$2"; }

container=0c5a29e3-1f4b-4c1d-9e8a-2b7c6d5fc105
provider="Microsoft Base Smart Card Crypto Provider"
# CRYPT_KEY_PROV_INFO: offsets 28 and 28+74, ProvType 1, Flags 0, no params, KeySpec 1.
{ u32le 28; u32le $((28 + (${#container} + 1) * 2)); u32le 1; u32le 0; u32le 0; u32le 0; u32le 1
  utf16z "$container"; utf16z "$provider"; } > "$work/kpi.bin"
[ "$(stat -c %s "$work/kpi.bin")" = 186 ] || fail "KEY_PROV_INFO is $(stat -c %s "$work/kpi.bin") bytes, not 186"
{ printf '\x00\x00\x00\x00CERT'; entry 2 "$work/kpi.bin"; entry 32 "$work/user.der"; printf '\x00%.0s' {1..12}; } > "$work/story.sst"

export SCARDLAB_PROFILE="$work/profile"
unset PCSCLITE_CSOCK_NAME
"$SCARDLAB" certutil -user -importsst My "$work/story.sst" >/dev/null || fail "importsst"

sha1=$(openssl dgst -sha1 -r "$work/user.der" | cut -d' ' -f1 | tr a-f A-F)
elem="$SCARDLAB_PROFILE/AppData/Roaming/Microsoft/SystemCertificates/My/Certificates/$sha1"
[ -f "$elem" ] || fail "no element file named by the SHA-1 ($elem)"

# The story's first command (certutil indents by two spaces; grep still matches).
got=$("$SCARDLAB" certutil -v -silent -user -store My "05 05 1c 00 22 7f 3c dd fa 98" | grep "Provider =")
[ "$got" = "  Provider = Microsoft Base Smart Card Crypto Provider" ] || fail "grep gave: $got"

# Exported .sst starts with the magic and ends with 12 zero bytes.
"$SCARDLAB" certutil -user -exportsst My "$work/out.sst" >/dev/null || fail "exportsst"
[ "$(head -c 8 "$work/out.sst" | od -An -tx1 | tr -d ' \n')" = 0000000043455254 ] || fail "sst magic"
[ "$(tail -c 12 "$work/out.sst" | od -An -tx1 | tr -d ' \n')" = 000000000000000000000000 ] || fail "sst end"

# The story's cleanup, typed with en dashes as the article prints it.
"$SCARDLAB" certutil –user –delstore My "Firstname Lastname" > "$work/del.out" || fail "delstore"
grep -q "CertUtil: -delstore command completed successfully." "$work/del.out" || fail "delstore message"
[ ! -e "$elem" ] || fail "element still there after delstore"
rc=0; "$SCARDLAB" certutil -user -store My "Firstname Lastname" > "$work/store.out" || rc=$?
[ "$rc" = 1 ] || fail "store after delete exited $rc, want 1"
grep -q "CRYPT_E_NOT_FOUND" "$work/store.out" || fail "no CRYPT_E_NOT_FOUND line"
echo "certutil story: OK"
