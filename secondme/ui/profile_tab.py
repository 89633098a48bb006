"""The profile (always-in-prompt statements: edit, add, pin, delete, mark) and the topic summaries."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from secondme.core.types import Record, Sensitivity
from secondme.memory import topics
from secondme.memory.browse import topic_pages
from secondme.memory.profile import SECTIONS, Profile, Statement
from secondme.memory.store import MemoryStore
from secondme.ui.rendering import markdown_html
from secondme.ui.tasks import BackgroundTasks


class ProfileTab(QWidget):
    """Every change goes through the core's Profile, off the Qt thread, then the table is read again. The
    places location history adds come last, read-only (`secondme places` names them)."""

    def __init__(self, store: MemoryStore, tasks: BackgroundTasks) -> None:
        super().__init__()
        self.profile, self.tasks = Profile(store), tasks
        self.statements: list[Statement] = []
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Section", "Statement", "Sensitivity", "Pinned"])
        self.table.horizontalHeader().setStretchLastSection(False)
        self.table.horizontalHeader().setSectionResizeMode(1, self.table.horizontalHeader().ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.itemSelectionChanged.connect(self._selected)
        self.sources = QTextBrowser()  # where the selected statement came from
        self.sources.setMaximumHeight(160)
        self.text = QLineEdit(placeholderText="Statement text")
        self.section = QComboBox()
        self.section.addItems(SECTIONS)
        self.sensitivity = QComboBox()
        self.sensitivity.addItems([str(s) for s in Sensitivity])
        self.buttons = {name: QPushButton(name) for name in ("Save text", "Add new", "Pin", "Mark", "Delete")}
        self.buttons["Delete"].setObjectName("danger")
        actions: dict[str, Callable[[], None]] = {
            "Save text": lambda: self._change(lambda p, s: p.edit(s.id, self.text.text())),
            "Add new": self.add,
            "Pin": lambda: self._change(lambda p, s: p.pin(s.id, not s.pinned)),
            "Mark": lambda: self._change(lambda p, s: p.mark(s.id, Sensitivity(self.sensitivity.currentText()))),
            "Delete": lambda: self._change(lambda p, s: p.delete(s.id)),
        }
        for name, button in self.buttons.items():
            button.clicked.connect(actions[name])
        row = QHBoxLayout()
        for widget in (self.section, self.text, self.sensitivity, *self.buttons.values()):
            row.addWidget(widget, 1 if widget is self.text else 0)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.sources)
        layout.addLayout(row)
        self._selected()

    def current(self) -> Statement | None:
        rows = {index.row() for index in self.table.selectedIndexes()}
        row = rows.pop() if rows else len(self.statements)
        return self.statements[row] if row < len(self.statements) else None

    def reload(self) -> None:
        profile = self.profile
        self.tasks.run(lambda: (profile.statements(), profile.located()), self._show, self._failed)

    def _show(self, found: tuple[list[Statement], list[str]]) -> None:
        self.statements, located = found
        rows = [(s.section, s.text, str(s.sensitivity), "📌" if s.pinned else "") for s in self.statements]
        rows += [("places", line, "private", "") for line in located]
        self.table.setRowCount(len(rows))
        for row, texts in enumerate(rows):
            for column, text in enumerate(texts):
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                if row >= len(self.statements):
                    item.setToolTip("From location history: name places with `secondme places name`")
                self.table.setItem(row, column, item)
        self.table.resizeColumnToContents(0)

    def _selected(self) -> None:
        statement = self.current()
        for name in ("Save text", "Pin", "Mark", "Delete"):
            self.buttons[name].setEnabled(statement is not None)
        if statement is None:
            self.sources.setHtml("<p>Select a statement to see the summaries it came from.</p>")
            return
        self.text.setText(statement.text)
        self.section.setCurrentText(statement.section)
        self.sensitivity.setCurrentText(str(statement.sensitivity))
        self.buttons["Pin"].setText("Unpin" if statement.pinned else "Pin")
        profile = self.profile
        self.tasks.run(lambda: (statement, profile.sources_of(statement)), self._show_sources, self._failed)

    def _show_sources(self, found: tuple[Statement, list[Record]]) -> None:
        statement, records = found
        if statement is not self.current():
            return  # another row was selected meanwhile
        if not records:
            self.sources.setHtml(f"<p>{statement.no_sources_note}</p>")
            return
        self.sources.setHtml("<p><b>From:</b></p>" + "".join(
            f"<p>{r.time:%Y-%m-%d} · {escape(r.text)}</p>" for r in records))

    def _change(self, change: Callable[[Profile, Statement], Any]) -> None:
        statement, profile = self.current(), self.profile
        if statement is not None:
            self.tasks.run(lambda: change(profile, statement), lambda _: self.reload(), self._failed)

    def add(self) -> None:
        profile, section, text = self.profile, self.section.currentText(), self.text.text()
        level = Sensitivity(self.sensitivity.currentText())
        self.tasks.run(lambda: profile.add(section, text, level), lambda _: self.reload(), self._failed)

    def _failed(self, message: str) -> None:
        QMessageBox.warning(self, "SecondMe", message)


class TopicsTab(QWidget):
    """The topic pages consolidation keeps: a list of titles, the chosen summary and its history."""

    def __init__(self, store: MemoryStore, tasks: BackgroundTasks) -> None:
        super().__init__()
        self.store, self.tasks = store, tasks
        self.pages: list[Record] = []
        self.list = QListWidget()
        self.view = QTextBrowser()
        self.list.currentRowChanged.connect(self._show_page)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.list)
        split.addWidget(self.view)
        split.setSizes([260, 600])
        QVBoxLayout(self).addWidget(split)

    def reload(self) -> None:
        store = self.store
        self.tasks.run(lambda: topic_pages(store), self._show)

    def _show(self, pages: list[Record]) -> None:
        self.pages = pages
        self.list.clear()
        for page in pages:
            self.list.addItem(QListWidgetItem(page.title or "Topic"))
        if not pages:
            self.view.setHtml("<p>No topics yet: consolidation writes them as memories come in.</p>")

    def _show_page(self, row: int) -> None:
        if 0 <= row < len(self.pages):
            page = self.pages[row]
            summary, history = topics.split(page)
            text = f"## {page.title}\n\n{summary}\n\n" + ("### History\n\n" + "\n".join(f"- {h}" for h in history)
                                                        if history else "")
            self.view.setHtml(markdown_html(text))
