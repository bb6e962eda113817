#!/usr/bin/env bash
# Set up (once) and run every check: ruff, then the whole pytest suite (browser tests included).
# Debian's chromium, postgresql and nginx are installed when missing: the tests start them for real.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
MISSING=()
[ -x /usr/bin/chromium ] || MISSING+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || MISSING+=(postgresql)
[ -x /usr/sbin/nginx ] || MISSING+=(nginx)
if [ ${#MISSING[@]} -gt 0 ]; then
  SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${MISSING[@]}" >/dev/null
fi
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
