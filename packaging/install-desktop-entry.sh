#!/usr/bin/env bash
# Run from inside an unpacked bundle: puts secondme.desktop (pointing at this folder) and the icon into
# ~/.local/share, so SecondMe shows up in the desktop's application menu.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
share="${XDG_DATA_HOME:-$HOME/.local/share}"
mkdir -p "$share/applications" "$share/icons/hicolor/scalable/apps"
cp "$here/secondme.svg" "$share/icons/hicolor/scalable/apps/secondme.svg"
sed -e "s|^Exec=.*|Exec=\"$here/secondme-app\"|" -e "s|^Icon=.*|Icon=secondme|" "$here/secondme.desktop" \
    > "$share/applications/secondme.desktop"
grep -q '^Icon=' "$share/applications/secondme.desktop" || echo "Icon=secondme" >> "$share/applications/secondme.desktop"
echo "Installed $share/applications/secondme.desktop"
