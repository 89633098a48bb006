#!/usr/bin/env bash
# Smoke test of a built bundle: copies dist/SecondMe to a temp dir outside the repo, runs it headless
# with --version from there (no repo, no .venv on its paths) and checks the answer.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
bundle="${1:-$repo/dist/SecondMe}"
[ -x "$bundle/secondme-app" ] || { echo "no bundle at $bundle: run packaging/build-bundle.sh" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp -a "$bundle" "$tmp/SecondMe"
want="secondme-app $(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/pyproject.toml")"
got="$(cd "$tmp" && env -i HOME="$tmp" PATH=/usr/bin:/bin QT_QPA_PLATFORM=offscreen SECONDME_HOME="$tmp/home" \
       timeout 120 ./SecondMe/secondme-app --version)"
[ "$got" = "$want" ] || { echo "smoke test failed: expected '$want', got '$got'" >&2; exit 1; }
echo "smoke test passed: $got"
