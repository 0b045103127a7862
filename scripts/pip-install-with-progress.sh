#!/usr/bin/env bash
# Runs `pip install ARGS...` with VENV's pip, printing a progress line every few seconds
# (packages resolved, size of the virtualenv, what pip is doing) instead of a long silence;
# on failure prints pip's own output.
# Usage: scripts/pip-install-with-progress.sh VENV ARGS...
# PROGRESS_INTERVAL_S sets the seconds between two lines (default 5).
set -euo pipefail
venv=$1
shift
interval=${PROGRESS_INTERVAL_S:-5}

log() { printf '[bootstrap] %s\n' "$*" >&2; }

pip_log=$(mktemp)
trap 'rm -f "$pip_log"' EXIT
"$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar off "$@" \
    >"$pip_log" 2>&1 &
pip_pid=$!
trap 'kill "$pip_pid" 2>/dev/null || true; rm -f "$pip_log"' EXIT INT TERM

started=$SECONDS
while kill -0 "$pip_pid" 2>/dev/null; do
    for _ in $(seq "$((interval * 10))"); do
        kill -0 "$pip_pid" 2>/dev/null || break 2
        sleep 0.1
    done
    resolved=$(grep -c '^Collecting ' "$pip_log" || true)
    size=$(du -sm "$venv" 2>/dev/null | cut -f1)
    if grep -q '^Installing collected packages' "$pip_log"; then
        doing="installing"
    else
        doing=$(grep -E '^(Collecting|Downloading|Using cached) ' "$pip_log" | tail -n 1 | cut -c 1-60 || true)
    fi
    log "$((SECONDS - started)) s: resolved ${resolved} package(s), ${size} MB in $(basename "$venv")/; ${doing:-starting}"
done
if ! wait "$pip_pid"; then
    log "pip failed:"
    cat "$pip_log" >&2
    exit 1
fi
log "installed $(grep -c '^Collecting ' "$pip_log" || true) package(s) in $((SECONDS - started)) s, $(du -sm "$venv" | cut -f1) MB"
