#!/usr/bin/env bash
# Opens an htbench report in headless Chromium and checks that the page renders with every chart.
#
#   scripts/check-report.sh [REPORT_DIR]
#
# Without REPORT_DIR it first makes a small report (1 MiB table, a few peers, seconds) with
# benchmarks/target/htbench.jar. Installs Debian's chromium when it is missing and this runs as
# root. Writes REPORT_DIR/screenshot.png. Exits non-zero when the page or an image fails.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=java25.sh
. scripts/java25.sh

dir="${1:-}"
if [ -z "$dir" ]; then
  dir="$(mktemp -d)/report"
  "$(find_java)" -Xmx2g -jar benchmarks/target/htbench.jar --impl hashkernel,hashkernel-unbatched,chm,agrona \
      --op find,insert --dist uniform,zipf:1.09 --table-mib 1 --threads 2 --seconds 0.2 --warmup 0.1 \
      --report "$dir" > "$dir.log" 2>&1 || { cat "$dir.log"; exit 1; }
fi
[ -f "$dir/report.html" ] || { echo "no report.html in $dir" >&2; exit 1; }

bash scripts/install-chromium.sh
browser="$(command -v chromium || command -v chromium-browser)"

profile="$(mktemp -d)"
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --user-data-dir="$profile" --allow-file-access-from-files
       --virtual-time-budget=10000 --window-size=1100,2400)
page="file://$(cd "$dir" && pwd)/report.html"
dom="$("$browser" "${flags[@]}" --dump-dom "$page" 2> /dev/null)"
"$browser" "${flags[@]}" --screenshot="$dir/screenshot.png" "$page" > /dev/null 2>&1 || true
rm -rf "$profile"

images=$(grep -o '<img ' "$dir/report.html" | wc -l)
loaded=$(printf '%s' "$dom" | grep -o 'data-images-loaded="[0-9]*"' | grep -o '[0-9]*' || true)
broken=$(printf '%s' "$dom" | grep -o 'data-images-broken="[0-9]*"' | grep -o '[0-9]*' || true)
if [ -z "$loaded" ]; then
  echo "FAIL: the page did not finish loading in chromium (no data-images-loaded on <body>)" >&2; exit 1
fi
if [ "$images" -lt 2 ] || [ "$loaded" != "$images" ] || [ "$broken" != 0 ]; then
  echo "FAIL: $loaded of $images images rendered, $broken broken" >&2; exit 1
fi
echo "report renders in $("$browser" --version 2> /dev/null | head -1): $loaded of $images charts loaded ($dir/report.html, screenshot $dir/screenshot.png)"
