#!/usr/bin/env bash
# Makes sure a Chromium is on PATH for scripts/check-report.sh: installs Debian's package when it
# is missing and this runs as root with apt-get. Exits non-zero when there is none and none can be
# installed. CI starts it in the background while Maven builds (apt is mostly network and disk).
set -euo pipefail
if command -v chromium > /dev/null || command -v chromium-browser > /dev/null; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
  echo "installing chromium (Debian package)..."
  apt-get update -qq > /dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null
  command -v chromium > /dev/null
else
  echo "chromium is not installed and cannot be installed here (not root, or no apt-get)" >&2
  exit 2
fi
