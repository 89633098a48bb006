#!/usr/bin/env bash
# Quick start (b): set up .venv with the test tools, check the architecture rules, run the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source packaging/venv.sh "dev,gui,answer"
.venv/bin/lint-imports --no-cache
.venv/bin/ruff check secondme ingest assets tests bench
QT_QPA_PLATFORM=offscreen exec .venv/bin/python -m pytest "$@"
