#!/bin/bash
# Users mapped to local accounts (local_account=): two users at once, each
# session folder, socket, profile and certprop file owned by its account; the
# socket serves that uid alone (not the other account, not root, not a third
# uid); `session exec` as root runs as the account; bad mappings fail at load.
# The accounts exist only in this test's private mount namespace, over
# bind-mounted copies of /etc/passwd and /etc/group: none is created.
NS_MARK=SCL_LOCAL_ACCOUNTS_NS
if [ -z "${!NS_MARK:-}" ]; then
    name=$(basename "$0" .sh)
    [ "$(id -u)" = 0 ] || { echo "SKIP [$name]: needs root (to map accounts and bind-mount)"; exit 77; }
    unshare --mount --propagation private true 2>/dev/null ||
        { echo "SKIP [$name]: unshare --mount failed (no mount namespaces here)"; exit 77; }
    export "$NS_MARK"=1
    exec unshare --mount --propagation private bash "$0" "$@"
fi

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/host_lib.sh"
host_init pkcs15-tool opensc-tool openssl python3 setpriv

A_UID=61001 B_UID=61002 OTHER_UID=61003
{ cat /etc/passwd
  echo "scl-alice:x:$A_UID:$A_UID:scardlab test:/nonexistent:/usr/sbin/nologin"
  echo "scl-bob:x:$B_UID:$B_UID:scardlab test:/nonexistent:/usr/sbin/nologin"; } >"$E2E_TMP/passwd"
{ cat /etc/group; echo "scl-alice:x:$A_UID:"; echo "scl-bob:x:$B_UID:"; } >"$E2E_TMP/group"
chmod 644 "$E2E_TMP/passwd" "$E2E_TMP/group"
mount --bind "$E2E_TMP/passwd" /etc/passwd || fail "bind-mount the test passwd (private namespace)"
mount --bind "$E2E_TMP/group" /etc/group || fail "bind-mount the test group"
[ "$(id -u scl-alice)" = $A_UID ] || fail "scl-alice should resolve in this namespace"

# The accounts must get through E2E_TMP to STATE/sessions; the host opens
# STATE and STATE/sessions (0711) itself.
chmod 711 "$E2E_TMP"
mkdir -m 755 "$E2E_TMP/profiles"
mkdir -m 700 "$E2E_TMP/profiles/bob" && chown $B_UID:$B_UID "$E2E_TMP/profiles/bob" # alice's: made by the host

cat >"$E2E_TMP/host.conf" <<EOF
[host]
listen=127.0.0.1:$HOST_PORT
state_dir=$HOST_STATE
[policy]
certprop_service=running
[user alice]
password=Alice-pw1
profile=$E2E_TMP/profiles/alice
local_account=scl-alice
[user bob]
password=Bob-pw2
profile=$E2E_TMP/profiles/bob
local_account = scl-bob
[user carol]
password=Carol-pw3
profile=$E2E_TMP/profiles/carol
local_account=scl-alice
EOF
mkdir -m 700 "$E2E_TMP/profiles/carol" # root's: the host must not hand it over

note "config errors: an unknown account (FILE:LINE), a mapping on a non-root host"
sed 's/^local_account = scl-bob$/local_account = scl-nobody/' "$E2E_TMP/host.conf" >"$E2E_TMP/unknown.conf"
out=$("$SCARDLAB" host --config "$E2E_TMP/unknown.conf" 2>&1) && fail "a host with an unknown local_account should not start"
expect_contains "$out" "unknown.conf:13: local_account: no such account in the passwd database: 'scl-nobody'" \
    "host with local_account = scl-nobody"
mkdir -m 755 "$E2E_TMP/nonroot"
sed "s|^state_dir=.*|state_dir=$E2E_TMP/nonroot/state|" "$E2E_TMP/host.conf" >"$E2E_TMP/nonroot/host.conf"
chmod 644 "$E2E_TMP/nonroot/host.conf"
out=$(setpriv --reuid=$A_UID --regid=$A_UID --clear-groups "$SCARDLAB" host --config "$E2E_TMP/nonroot/host.conf" 2>&1) &&
    fail "a non-root host with local_account should not start"
expect_contains "$out" "host.conf:9: local_account 'scl-alice' needs the host to run as root (euid $A_UID)" \
    "host as uid $A_UID with local_account"
[ ! -e "$E2E_TMP/nonroot/state" ] || fail "a refused config should leave no state behind"

alice_and_bob_labs
host_start "$E2E_TMP/host.conf"
client_start alice alice Alice-pw1 "$E2E_TMP/laba" /smartcard
client_start bob bob Bob-pw2 "$E2E_TMP/labb" /smartcard
wait_certs alice 4 40
wait_certs bob 4 40
wait_log "alice-1: session started for user alice \(local account scl-alice, uid $A_UID\)" 5
wait_log "bob-1: session started for user bob \(local account scl-bob, uid $B_UID\)" 5

note "1. ownership: session folders, sockets, profiles and every file certprop wrote"
for u in alice bob; do
    acct=scl-$u
    dir=$(readlink "$HOST_STATE/users/$u/current")
    [ "$(stat -c '%U %a' "$dir")" = "$acct 700" ] ||
        fail "$dir should be 0700 and owned by $acct, is $(stat -c '%U %a' "$dir")"
    [ "$(stat -c '%U %a' "$dir/pcscd.comm")" = "$acct 600" ] ||
        fail "$dir/pcscd.comm should be owned by $acct, is $(stat -c '%U %a' "$dir/pcscd.comm")"
    prof=$E2E_TMP/profiles/$u
    [ "$(stat -c '%U %a' "$prof")" = "$acct 700" ] ||
        fail "$prof should be 0700 and owned by $acct, is $(stat -c '%U %a' "$prof")"
    [ "$(my_count "$prof")" = 4 ] || fail "$u's store should hold 4 certificates"
    n=$(find "$prof" | wc -l)
    owners=$(find "$prof" -printf '%u\n' | sort -u | tr '\n' ' ')
    [ "$owners" = "$acct " ] || { find "$prof" -printf '%u %p\n' >&2; fail "everything under $prof ($n entries) should be $acct's, owners: $owners"; }
    pid=$(cat "$dir/certprop.pid")
    [ "$(stat -c %u "/proc/$pid")" = "$(id -u $acct)" ] || fail "$u's certprop (pid $pid) should run as $acct"
done
[ "$(stat -c %a "$HOST_STATE")" = 711 ] && [ "$(stat -c %a "$HOST_STATE/sessions")" = 711 ] ||
    fail "STATE and STATE/sessions should be 0711 (enter, not list) with mapped users"
[ "$(stat -c %a "$HOST_STATE/users")" = 700 ] || fail "STATE/users should stay 0700"

note "2. alice's socket serves scl-alice alone"
adir=$(readlink "$HOST_STATE/users/alice/current")
asock=$adir/pcscd.comm
as_uid() { local id=$1; shift; PCSCLITE_CSOCK_NAME=$asock setpriv --reuid="$id" --regid="$id" --clear-groups "$@"; }
out=$(as_uid $A_UID pkcs15-tool --list-certificates 2>&1) || { echo "$out" >&2; fail "pkcs15-tool as scl-alice on her socket"; }
[ "$(grep -c '^X.509 Certificate' <<<"$out")" = 4 ] || { echo "$out" >&2; fail "scl-alice should list her 4 certificates"; }
out=$(PCSCLITE_CSOCK_NAME=$asock opensc-tool --list-readers 2>&1) || true
grep -q "Yes" <<<"$out" && { echo "$out" >&2; fail "root should be refused by alice's socket"; }
wait_log "refused peer pid [0-9]+ uid 0: only uid $A_UID may use this socket" 5
# Only the peer check stands in the other uids' way now.
chmod 711 "$adir" && chmod 666 "$asock"
for id in $B_UID $OTHER_UID; do
    out=$(as_uid $id opensc-tool --list-readers 2>&1) || true
    grep -q "Yes" <<<"$out" && { echo "$out" >&2; fail "uid $id should be refused by alice's socket"; }
    wait_log "refused peer pid [0-9]+ uid $id: only uid $A_UID may use this socket" 5
done
chmod 700 "$adir" && chmod 600 "$asock"
out=$(as_uid $A_UID opensc-tool --list-readers 2>&1) || true
grep -q "Yes" <<<"$out" || { echo "$out" >&2; fail "scl-alice should still see her reader with a card"; }

note "3. session exec as root runs as the account and reads the card"
[ "$(in_session alice id -u)" = $A_UID ] || fail "session exec for alice should run as uid $A_UID"
[ "$(in_session bob id -un)" = scl-bob ] || fail "session exec for bob should run as scl-bob"
[ "$(in_session alice sh -c 'echo $HOME')" = /nonexistent ] || fail "session exec should set HOME to the account's"
in_session alice pkcs15-tool --read-certificate 01 >"$E2E_TMP/alice-s01.pem" 2>/dev/null ||
    fail "pkcs15-tool through session exec for alice"
cmp -s <(der_of "$E2E_TMP/alice/9a.crt") <(der_of "$E2E_TMP/alice-s01.pem") ||
    fail "session exec for alice should read alice's 9A certificate"
# The account owns its session folder: a symlink it plants there is not read by root.
setpriv --reuid=$A_UID --regid=$A_UID --clear-groups ln -sfn /etc/shadow "$adir/profile" ||
    fail "scl-alice should be able to replace files in her own session folder"
out=$(in_session alice id -u 2>&1) && fail "session exec should refuse a profile file scl-alice replaced"
expect_contains "$out" "$adir/profile: " "session exec with a planted symlink"
grep -q "root:" <<<"$out" && fail "session exec should not show what the symlink points at"

note "4. an existing profile folder of another owner is not handed over"
client_start carol carol Carol-pw3 ""
wait_log "carol-1: session start failed: profile $E2E_TMP/profiles/carol: must be a folder owned by local account scl-alice \(uid $A_UID\); it is a folder owned by uid 0" 20
[ "$(stat -c %U "$E2E_TMP/profiles/carol")" = root ] || fail "carol's profile folder should still be root's"
[ ! -e "$HOST_STATE/users/carol/current" ] || fail "a refused session should have no current link"

note "SIGTERM: the host (root) tears down the accounts' sessions and exits 0"
cp_pids="$(cat "$HOST_STATE"/sessions/*/certprop.pid)"
kill "$HOST_PID"
for _ in $(seq 1 100); do kill -0 "$HOST_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$HOST_PID" 2>/dev/null; then fail "host should exit within 10 s of SIGTERM"; fi
wait "$HOST_PID" || fail "host should exit 0 on SIGTERM"
HOST_PIDS=("${HOST_PIDS[@]:1}")
[ -z "$(find "$HOST_STATE" -name pcscd.comm)" ] || fail "no PC/SC socket should remain in the accounts' folders"
for p in $cp_pids; do kill -0 "$p" 2>/dev/null && fail "certprop pid $p (run as its account) should be stopped"; done
if grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$E2E_TMP/host.log" \
        "$HOST_STATE"/sessions/*/certprop.log; then
    grep -hA30 -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$E2E_TMP/host.log" \
        "$HOST_STATE"/sessions/*/certprop.log | head -60 >&2
    fail "a sanitizer report in the host's or certprop's log"
fi
echo "PASS [$E2E_NAME]"
