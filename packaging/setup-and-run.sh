#!/usr/bin/env bash
# Quick start (a): set up .venv with the default models, then run SecondMe:
# the desktop app when a display is present, otherwise the headless demo.
set -euo pipefail
cd "$(dirname "$0")/.."
source packaging/venv.sh "answer,gui"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    exec .venv/bin/secondme-app "$@"
fi
exec .venv/bin/secondme demo
