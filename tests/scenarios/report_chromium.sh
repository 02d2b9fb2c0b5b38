#!/bin/bash
# report_chromium.sh - the HTML report of a real run renders in headless
# Chromium: the DOM has the SVG, the six lifelines, the verdict rows and the
# certificate crossings; a screenshot is a real, non-blank PNG.  Also the
# demo (`scardlab demo --report DIR`), non-interactive: it names each of the
# four conditions and the Provider line, exits 0, leaves the report and no
# process.  Exit 77 only when not root.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "SKIP: labs need root"; exit 77; }
command -v chromium >/dev/null || { echo "FAIL: chromium is not installed (Debian package chromium)"; exit 1; }
TMP=$(mktemp -d /tmp/scl-report-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# --- the demo, as `make demo` runs it, with stdin not a terminal ---
"$SCARDLAB" demo --step --report "$TMP/rep" </dev/null >"$TMP/demo.out" 2>&1 || { cat "$TMP/demo.out"; fail "demo exited non-zero"; }
for want in "Condition 1 of 4 is true: the card is in the reader" \
            "Condition 2 of 4 is true: no custom .rdp, so Documents\\Default.rdp applies" \
            "Condition 3 of 4 is true: smart cards are checked in Default.rdp" \
            "Condition 4 of 4 is true: the Certificate Propagation Service is running" \
            "| redirectsmartcards:i:1" \
            "|   Provider = Microsoft Base Smart Card Crypto Provider" \
            "-verifykeys" "-delstore" "Deleting Certificate" "$TMP/rep/rdp-story.html"; do
    grep -qF -- "$want" "$TMP/demo.out" || fail "demo narration lacks: $want"
done
REPORT=$TMP/rep/rdp-story.html
[ -s "$REPORT" ] || fail "no report at $REPORT"
ROOT=$(sed -n 's/^    machines in //p' "$TMP/demo.out")
[ -n "$ROOT" ] || fail "demo did not say where its machines were"
[ ! -e "$ROOT" ] || fail "demo left $ROOT behind"
left=$(pgrep -f -- "$ROOT" || true)
[ -z "$left" ] || fail "processes of the demo still run: $left"
! grep -q '<script' "$REPORT" || fail "report contains a script element"
! grep -qE '(src|href)="(https?:)?//' "$REPORT" || fail "report references an external resource"

# --- Chromium renders it ---
chrome() {
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$(mktemp -d "$TMP/prof.XXXXXX")" "$@" 2>>"$TMP/chromium.err"
}
chrome --dump-dom "file://$REPORT" >"$TMP/dom.html" || { tail "$TMP/chromium.err"; fail "chromium --dump-dom failed"; }
grep -q '<svg' "$TMP/dom.html" || fail "rendered DOM has no <svg>"
for lane in "card" "client (plug-in)" "RDP" "session" "certprop" "store"; do
    grep -qF ">$lane</text>" "$TMP/dom.html" || fail "rendered DOM lacks the lifeline '$lane'"
done
grep -q 'class="verdict pass"' "$TMP/dom.html" || fail "rendered DOM has no verdict rows"
[ "$(grep -o 'class="verdict pass"' "$TMP/dom.html" | wc -l)" -ge 20 ] || fail "fewer than 20 passing verdict rows"
grep -qF 'GET DATA 5FC105 (X.509 Certificate for PIV Authentication (9A))' "$TMP/dom.html" || fail "no GET DATA of the 9A certificate"
grep -qE '5FC105: [0-9]{3,} bytes, SW 90 00' "$TMP/dom.html" || fail "no byte count of the 9A certificate"
grep -qE 'cert_added My\\[0-9A-F]{40}' "$TMP/dom.html" || fail "no store write (cert_added) in the diagram"
(cd "$TMP" && chrome --screenshot="$TMP/shot.png" --window-size=1280,2000 "file://$REPORT") || fail "chromium --screenshot failed"
[ -s "$TMP/shot.png" ] || fail "no screenshot"
head -c 8 "$TMP/shot.png" | od -An -tx1 | grep -q '89 50 4e 47' || fail "screenshot is not a PNG"
size=$(stat -c %s "$TMP/shot.png")
# a blank 1280x2000 PNG compresses to a few KB; text, tables and the diagram do not
[ "$size" -gt 40000 ] || fail "screenshot is only $size bytes: blank?"
echo "PASS: demo narrated, report rendered (screenshot $size bytes)"
