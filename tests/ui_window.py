"""Opening the real main window in a GUI test: shown, and closed with its threads and store after."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from secondme.app import Services
from secondme.core.types import NewRecord
from secondme.ui.main_window import MainWindow


def open_main_window(qtbot: Any, services: Services, records: Sequence[NewRecord]) -> Iterator[MainWindow]:
    """A fixture body: store `records`, show the window, yield it; then stop its tasks and close."""
    services.store.add(records)
    main = MainWindow(services, services.assistant())
    qtbot.addWidget(main)
    main.show()
    yield main
    main.tasks.shutdown()
    services.close()
