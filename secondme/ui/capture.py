"""The quick "Remember…" box (from the tray menu or the hotkey): a note stored as a memory, off the Qt thread."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from secondme.core.memory_commands import note_record
from secondme.core.types import Sensitivity
from secondme.memory.store import MemoryStore
from secondme.ui.tasks import BackgroundTasks


class RememberDialog(QDialog):
    """`remembered(ids)` once the note is stored."""

    remembered = Signal(object)

    def __init__(self, store: MemoryStore, clock: Callable[[], datetime], tasks: BackgroundTasks,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store, self.clock, self.tasks = store, clock, tasks
        self.setWindowTitle("Remember…")
        self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint)
        self.resize(440, 220)
        self.text = QPlainTextEdit(placeholderText="What should SecondMe remember?")
        self.sensitivity = QComboBox()
        self.sensitivity.addItems([str(s) for s in Sensitivity])
        self.error = QLabel()
        self.error.setObjectName("muted")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.keep)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.text, self.sensitivity, self.error, self.buttons):
            layout.addWidget(widget)

    def keep(self) -> None:
        text = self.text.toPlainText().strip()
        if not text:
            self.error.setText("Write something to remember first.")
            return
        store, record = self.store, note_record(text, self.clock(), Sensitivity(self.sensitivity.currentText()))
        self.buttons.setEnabled(False)
        self.tasks.run(lambda: store.add([record]).added, self._stored, self._failed)

    def _stored(self, ids: list[str]) -> None:
        self.remembered.emit(ids)
        self.accept()

    def _failed(self, message: str) -> None:
        self.buttons.setEnabled(True)
        self.error.setText(f"Not stored: {message}")
