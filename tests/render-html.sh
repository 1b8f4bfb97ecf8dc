#!/usr/bin/env bash
# Renders HTML reports in headless Chromium (Debian's chromium package), takes a screenshot of
# each next to it (FILE.png), and one more with the "failed" filter chosen (FILE.failed.png),
# and fails if a page logs anything to the console or no screenshot comes out. It also checks
# that each page fits the window at 1280, 1024 and 800 pixels wide: a copy with a measuring
# script (the reports themselves have none) must not be wider than the window.
#
#   tests/render-html.sh reports/report.html ...
#
# Installs chromium with apt-get when it is missing (CI runs as root on Debian).
set -euo pipefail

if (($# == 0)); then
  echo "usage: $0 FILE.html..." >&2
  exit 2
fi
if ! command -v chromium >/dev/null; then
  echo "== installing Debian's chromium (needed to render the HTML reports)"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
    echo "chromium is missing and could not be installed: run 'apt-get install chromium' (Debian) and retry" >&2
    exit 1
  fi
fi

profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT

render() { # page.html screenshot.png
  local log="$profile/log"
  # No network, no first-run work: the page must render from the file alone.
  if ! timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile/data" --enable-logging=stderr --v=0 --window-size=1280,2000 \
    --screenshot="$2" "file://$(realpath "$1")" 2>"$log"; then
    cat "$log" >&2
    echo "chromium failed on $1" >&2
    return 1
  fi
  if grep -q ':CONSOLE' "$log"; then
    grep ':CONSOLE' "$log" >&2
    echo "$1 logs to the browser console" >&2
    return 1
  fi
  if [[ ! -s "$2" ]]; then
    echo "no screenshot of $1" >&2
    return 1
  fi
  echo "rendered $1 -> $2"
}

fits() { # page.html width
  local copy="$profile/measure-$2.html" dom
  sed 's#</body>#<script>document.title = "scroll=" + document.documentElement.scrollWidth + " inner=" + window.innerWidth;</script></body>#' \
    "$1" >"$copy"
  dom="$(timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile/data" --window-size="$2,1000" --dump-dom "file://$copy" 2>/dev/null)"
  local title scroll inner
  title="$(grep -o '<title>scroll=[0-9]* inner=[0-9]*</title>' <<<"$dom" || true)"
  scroll="$(sed -E 's/.*scroll=([0-9]+).*/\1/' <<<"$title")"
  inner="$(sed -E 's/.*inner=([0-9]+).*/\1/' <<<"$title")"
  if [[ -z "$title" ]]; then
    echo "could not measure $1 at $2 px" >&2
    return 1
  fi
  if ((scroll > inner)); then
    echo "$1 is $scroll px wide in a $inner px window: long words or tables overflow" >&2
    return 1
  fi
}

for page in "$@"; do
  for width in 1280 1024 800; do
    fits "$page" "$width"
  done
  render "$page" "$page.png"
  # The same page with the "failed" filter chosen: pure CSS, no script.
  filtered="$profile/$(basename "$page")"
  sed 's/ id="st-all" aria-label="show all" checked>/ id="st-all" aria-label="show all">/; s/ id="st-failed" aria-label="show failed">/ id="st-failed" aria-label="show failed" checked>/' \
    "$page" >"$filtered"
  grep -q 'id="st-failed" aria-label="show failed" checked' "$filtered" || {
    echo "$page has no status filter" >&2
    exit 1
  }
  render "$filtered" "$page.failed.png"
done
