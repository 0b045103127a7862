#!/usr/bin/env bash
# The tests start private Mosquitto and PostgreSQL servers from Debian's binaries, and drive the
# console in Debian's Chromium (with Playwright, never a downloaded browser).
# Installs the Debian packages when they are missing and we are root; otherwise says what to install.
set -euo pipefail
missing=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null 2>&1 ||
    missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[run-tests] installing Debian packages: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The packages' own services are not needed: the tests start private instances.
    exit 0
fi
echo "[run-tests] the tests need these Debian packages: ${missing[*]}" >&2
echo "[run-tests] install them with: sudo apt-get install ${missing[*]}" >&2
exit 1
