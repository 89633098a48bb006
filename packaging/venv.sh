#!/usr/bin/env bash
# Creates .venv and installs SecondMe with the given extras; skips pip when nothing changed.
# Usage: source packaging/venv.sh EXTRAS   (e.g. "answer,gui")
set -euo pipefail
extras="$1"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "Creating .venv with $($python --version)"
    "$python" -m venv .venv
fi
stamp=".venv/.secondme-$(echo "$extras" | tr ',' '-')"
want="$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "Installing SecondMe[$extras] into .venv (the first time compiles llama-cpp-python: ~5 min)"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$extras]"
    echo "$want" > "$stamp"
fi
