#!/usr/bin/env bash
# `make test-browser`: Debian's Chromium for the browser tests of `tts web`, if it is missing.
# As root on Debian/Ubuntu it installs the `chromium` package with apt-get; otherwise it
# says what to install. Playwright drives this binary; it never downloads a browser.
set -euo pipefail
CHROMIUM="${TTS_CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "test-browser: installing Debian's chromium (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
    echo "test-browser: no Chromium at $CHROMIUM; install it (sudo apt-get install chromium) or set TTS_CHROMIUM"
    exit 1
fi
