"""Regenerates docs/screenshot.png (the main window answering the demo question from the sample notes,
rendered by the real app under offscreen Qt) and assets/icon.png (the app icon at 256 px).

Run: QT_QPA_PLATFORM=offscreen SECONDME_HOME=/tmp/shot .venv/bin/python packaging/screenshot.py
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from secondme import config as config_module
from secondme.app import build
from secondme.assets import icon_path, sample_notes_dir
from secondme.demo import DEMO_OWNER, DEMO_QUESTION
from secondme.ingestion import Ingestor
from secondme.paths import data_dir
from secondme.ui.main_window import MainWindow
from secondme.ui.theme import apply_theme

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    app = QApplication(sys.argv)
    apply_theme(app, "light")
    QIcon(str(icon_path("svg"))).pixmap(256, 256).save(str(icon_path("png")))
    home = data_dir()
    services = build(replace(config_module.load(home), owner=DEMO_OWNER), home)
    Ingestor(services.store).ingest([sample_notes_dir()])
    window = MainWindow(services, services.assistant())
    window.resize(1280, 800)
    window.show()
    window.chat.ask(DEMO_QUESTION)
    while window.chat.worker is not None or window.tasks.busy:
        app.processEvents()
    app.processEvents()
    target = ROOT / "docs" / "screenshot.png"
    target.parent.mkdir(exist_ok=True)
    window.grab().save(str(target))
    print(target)
    window.tasks.shutdown()
    services.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
