"""Regenerates packaging/screenshot.png: the chat window answering the demo question.

Run: QT_QPA_PLATFORM=offscreen SECONDME_HOME=/tmp/shot .venv/bin/python packaging/screenshot.py
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import QApplication

from secondme import config as config_module
from secondme.app import build
from secondme.assets import sample_notes_dir
from secondme.demo import DEMO_OWNER, DEMO_QUESTION
from secondme.ingestion import Ingestor
from secondme.paths import data_dir
from secondme.ui.chat_window import ChatWindow


def main() -> int:
    app = QApplication(sys.argv)
    home = data_dir()
    services = build(replace(config_module.load(home), owner=DEMO_OWNER), home)
    Ingestor(services.store).ingest([sample_notes_dir()])
    window = ChatWindow(services.assistant())
    window.show()
    window.input.setPlainText(DEMO_QUESTION)
    window.ask()
    while window.worker is not None:
        app.processEvents()
    target = Path(__file__).with_name("screenshot.png")
    window.grab().save(str(target))
    print(target)
    services.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
