#!/usr/bin/env bash
# Renders OUT_DIR/report.html in headless Chromium and fails on any console
# error, uncaught exception or blocked (external) resource load.
#
#   scripts/browser_check.sh OUT_DIR [SCREENSHOT.png]
#
# Writes the screenshot (default: OUT_DIR/../report.png, or $TMPDIR when
# that is not writable) so a person can look at the page. Exits 0 with a
# "skip" message when no chromium is installed (CI machines without a
# browser), 1 when the page logs errors, 2 on bad usage.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
    echo "usage: $0 OUT_DIR [SCREENSHOT.png]" >&2
    exit 2
fi
out_dir=$1
report="$out_dir/report.html"
if [[ ! -f "$report" ]]; then
    echo "browser_check: $report does not exist" >&2
    exit 2
fi

browser=""
for b in chromium chromium-browser google-chrome-stable google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then
        browser=$(command -v "$b")
        break
    fi
done
if [[ -z "$browser" ]]; then
    echo "browser_check: skip: no chromium installed (apt-get install chromium)"
    exit 0
fi

abs_report=$(cd "$(dirname "$report")" && pwd)/report.html
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
shot=${2:-}
if [[ -z "$shot" ]]; then
    parent=$(cd "$(dirname "$abs_report")/.." && pwd)
    if [[ -w "$parent" ]]; then shot="$parent/report.png"; else shot="$work/report.png"; fi
fi

log="$work/chromium.log"
set +e
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --disable-background-networking --disable-component-update \
    --disable-sync --disable-extensions --hide-scrollbars \
    --user-data-dir="$work/profile" \
    --enable-logging=stderr --v=0 \
    --window-size=1280,2000 --screenshot="$shot" \
    "file://$abs_report" >"$log" 2>&1
rc=$?
set -e

if [[ $rc -ne 0 ]]; then
    echo "browser_check: chromium exited with status $rc" >&2
    tail -n 20 "$log" >&2
    exit 1
fi
if [[ ! -s "$shot" ]]; then
    echo "browser_check: no screenshot was written" >&2
    tail -n 20 "$log" >&2
    exit 1
fi

# Console messages of the page are logged as `INFO:CONSOLE:N] "..."` (the
# page has no script, so any is an error), exceptions as `Uncaught`;
# a blocked load (the page must not fetch anything) as `Refused to` /
# `net::ERR_`. Chromium's own chatter about dbus, GPU, etc. is not the
# page's and is ignored.
if grep -E 'Uncaught|:CONSOLE[:(]|CONSOLE\(|Refused to|net::ERR_|Content Security Policy' "$log" >"$work/errors"; then
    echo "browser_check: the page logged errors:" >&2
    cat "$work/errors" >&2
    exit 1
fi
echo "browser_check: ok: $report rendered without console errors; screenshot $shot"
