"""One memory in full: source, date, text and sensitivity, with edit, delete and "Open file"."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from secondme.core.types import Record, Sensitivity
from secondme.memory.origins import origin_path
from secondme.memory.store import MemoryStore
from secondme.ui.tasks import BackgroundTasks


def file_of(record: Record) -> Path | None:
    """The file a record came from, when its origin names one."""
    path = Path(origin_path(record.origin))  # a part ("chat.txt#2024-05-01") opens its file
    return path if record.origin and path.is_absolute() else None


def when(record: Record) -> str:
    return record.time.astimezone().strftime("%Y-%m-%d %H:%M")


class MemoryDetail(QWidget):
    """Shows a record; Save writes the edited text and sensitivity, Delete forgets it (both off the Qt thread)."""

    changed = Signal(object)
    deleted = Signal(str)

    def __init__(self, store: MemoryStore | None, tasks: BackgroundTasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store, self.tasks = store, tasks  # no store: read-only
        self.record: Record | None = None
        self.heading = QLabel()
        self.heading.setObjectName("title")
        self.heading.setWordWrap(True)
        self.source, self.date, self.people = QLabel(), QLabel(), QLabel()
        self.text = QPlainTextEdit()
        self.sensitivity = QComboBox()
        self.sensitivity.addItems([str(s) for s in Sensitivity])
        self.save = QPushButton("Save")
        self.save.setObjectName("primary")
        self.delete = QPushButton("Delete")
        self.delete.setObjectName("danger")
        self.open_file = QPushButton("Open file")
        self._layout()
        self.save.clicked.connect(self.save_changes)
        self.delete.clicked.connect(self.forget)
        self.open_file.clicked.connect(self.open_origin)
        self.show_record(None)

    def _layout(self) -> None:
        form = QFormLayout()
        for label, widget in (("Source", self.source), ("Date", self.date), ("People, place", self.people),
                              ("Sensitivity", self.sensitivity)):
            form.addRow(label, widget)
        buttons = QHBoxLayout()
        for button in (self.open_file, self.delete):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.save)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(form)
        layout.addWidget(self.text, 1)
        layout.addLayout(buttons)

    def show_record(self, record: Record | None) -> None:
        self.record = record
        for widget in (self.text, self.sensitivity, self.save, self.delete):
            widget.setEnabled(record is not None and self.store is not None)
        self.heading.setText(record.title or "Memory" if record else "No memory selected")
        self.source.setText(f"{record.source} · {record.origin}" if record else "")
        self.date.setText(when(record) if record else "")
        self.people.setText(", ".join(filter(None, [*record.people, record.place])) if record else "")
        self.text.setPlainText(record.text if record else "")
        if record:
            self.sensitivity.setCurrentText(str(record.sensitivity))
        self.open_file.setVisible(record is not None and file_of(record) is not None)

    def save_changes(self) -> None:
        if self.record is None or self.store is None:
            return
        store = self.store
        record_id, text, level = self.record.id, self.text.toPlainText(), Sensitivity(self.sensitivity.currentText())
        self.save.setEnabled(False)
        self.tasks.run(lambda: store.update(record_id, text=text, sensitivity=level), self._saved, self._failed)

    def _saved(self, record: Record | None) -> None:
        self.save.setEnabled(True)
        if record is not None:
            self.show_record(record)
            self.changed.emit(record)

    def _failed(self, message: str) -> None:
        self.save.setEnabled(self.record is not None)
        QMessageBox.warning(self, "SecondMe", message)

    def forget(self) -> None:
        if self.record is None or self.store is None:
            return
        store, record_id = self.store, self.record.id
        self.tasks.run(lambda: store.forget(record_id), lambda _: self._forgotten(record_id), self._failed)

    def _forgotten(self, record_id: str) -> None:
        self.show_record(None)
        self.deleted.emit(record_id)

    def open_origin(self) -> None:
        path = file_of(self.record) if self.record else None
        if path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


class MemoryDialog(QDialog):
    """The memory a citation chip points at."""

    def __init__(self, store: MemoryStore | None, tasks: BackgroundTasks, record: Record,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Memory · {record.title or record.source}")
        self.resize(560, 460)
        self.detail = MemoryDetail(store, tasks, self)
        self.detail.show_record(record)
        self.detail.deleted.connect(lambda _: self.accept())
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.detail, 1)
        layout.addWidget(close)
