#!/usr/bin/env bash
# Creates .venv (if needed) and installs the project from the pinned versions in constraints.txt.
# Re-installs only when pyproject.toml or constraints.txt changed since the last install.
# Usage: scripts/bootstrap-venv.sh [EXTRA]   (EXTRA: an optional-dependencies group, e.g. dev)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
extra=${1:-}
venv="$root/.venv"

log() { printf '[bootstrap] %s\n' "$*" >&2; }

find_python() {
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

python=$(find_python) || {
    log "Python 3.11 or newer is required (apt-get install python3)."
    exit 1
}

if [ ! -x "$venv/bin/python" ]; then
    log "creating virtualenv in $venv with $python"
    if ! "$python" -m venv "$venv" 2>/dev/null; then
        rm -rf "$venv"
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            log "python venv support is missing: installing Debian's python3-venv"
            apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
            "$python" -m venv "$venv"
        else
            log "cannot create a virtualenv: install Debian's python3-venv (sudo apt-get install python3-venv)"
            exit 1
        fi
    fi
fi

target="${extra:-base}"
stamp="$venv/.installed-$target"
want=$(cat "$root/pyproject.toml" "$root/constraints.txt" | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi

spec="$root"
[ -n "$extra" ] && spec="$root[$extra]"
if [ -f "$venv/.installed-base" ] || [ -f "$venv/.installed-dev" ]; then
    log "updating pepeunit${extra:+[$extra]} to the pinned versions (constraints.txt)"
else
    log "installing pepeunit${extra:+[$extra]} from the pinned versions (constraints.txt):" \
        "about 1.1 GB, a minute or more on first use"
fi
"$root/scripts/pip-install-with-progress.sh" "$venv" \
    --constraint "$root/constraints.txt" --editable "$spec"
echo "$want" > "$stamp"
log "done"
