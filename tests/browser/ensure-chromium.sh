#!/usr/bin/env bash
# Installs Debian's chromium for the browser test (tests/browser) when it is missing.
# Idempotent and quiet; never fails the run: without root or apt, the test skips and says why.
set -u
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: no chromium, and no root apt-get to install it: the browser test will skip" >&2
  exit 0
fi
echo "ensure-chromium: installing Debian's chromium for the browser test (a few minutes)..." >&2
log=$(mktemp)
if DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 &&
   DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >>"$log" 2>&1; then
  echo "ensure-chromium: installed $(/usr/bin/chromium --version 2>/dev/null)" >&2
else
  echo "ensure-chromium: apt-get could not install chromium (the browser test will skip); last lines:" >&2
  tail -n 5 "$log" >&2
fi
rm -f "$log"
exit 0
