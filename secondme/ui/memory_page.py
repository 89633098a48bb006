"""The memory browser: search with filters and a detail editor, the profile, the topic summaries."""

from __future__ import annotations

from datetime import UTC, datetime, time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from secondme.core.types import Record, Sensitivity
from secondme.memory.browse import MemoryFilter, find, sources
from secondme.memory.store import MemoryStore
from secondme.ui.memory_detail import MemoryDetail, when
from secondme.ui.profile_tab import ProfileTab, TopicsTab
from secondme.ui.tasks import BackgroundTasks

ALL = "All"


def fill_table(table: QTableWidget, rows: list[list[str]], keys: list[object]) -> None:
    """Replace a table's rows; each row's first cell carries its key."""
    table.setRowCount(0)
    table.setRowCount(len(rows))
    for row, (cells, key) in enumerate(zip(rows, keys, strict=True)):
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            if column == 0:
                item.setData(Qt.ItemDataRole.UserRole, key)
            table.setItem(row, column, item)


def make_table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.horizontalHeader().setStretchLastSection(True)
    table.verticalHeader().setVisible(False)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
    table.setWordWrap(False)
    return table


def day(text: str, end: bool = False) -> datetime | None:
    """A YYYY-MM-DD field as the start (or end) of that local day; None when empty or not a date."""
    try:
        date = datetime.strptime(text.strip(), "%Y-%m-%d").date()
    except ValueError:
        return None
    moment = datetime.combine(date, time.max if end else time.min).astimezone()
    return moment.astimezone(UTC)


class SearchTab(QWidget):
    """Hybrid search (or the newest memories) with filters; the chosen one in the editor beside."""

    def __init__(self, store: MemoryStore, tasks: BackgroundTasks) -> None:
        super().__init__()
        self.store, self.tasks = store, tasks
        self.records: list[Record] = []
        self.query = QLineEdit(placeholderText="Search memories…  (Ctrl+K)", clearButtonEnabled=True)
        self.source = QComboBox()
        self.source.addItem(ALL)
        self.sensitivity = QComboBox()
        self.sensitivity.addItems([ALL, *(str(s) for s in Sensitivity)])
        self.person = QLineEdit(placeholderText="Person")
        self.place = QLineEdit(placeholderText="Place")
        self.since = QLineEdit(placeholderText="From YYYY-MM-DD")
        self.until = QLineEdit(placeholderText="To YYYY-MM-DD")
        self.table = make_table(["Date", "Source", "Title", "Sensitivity", "Text"])
        self.detail = MemoryDetail(store, tasks)
        self._debounce = QTimer(self, singleShot=True, interval=250, timeout=self.search)
        self._layout()
        for edit in (self.query, self.person, self.place, self.since, self.until):
            edit.textChanged.connect(self._debounce.start)
            edit.returnPressed.connect(self.search)
        for combo in (self.source, self.sensitivity):
            combo.currentIndexChanged.connect(self._debounce.start)
        self.table.itemSelectionChanged.connect(self._selected)
        self.detail.changed.connect(lambda _: self.search())
        self.detail.deleted.connect(lambda _: self.search())

    def _layout(self) -> None:
        filters = QHBoxLayout()
        for widget in (self.source, self.sensitivity, self.person, self.place, self.since, self.until):
            filters.addWidget(widget)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.query)
        left_layout.addLayout(filters)
        left_layout.addWidget(self.table, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.detail)
        split.setSizes([620, 380])
        QVBoxLayout(self).addWidget(split)

    def wanted(self) -> MemoryFilter:
        source, level = self.source.currentText(), self.sensitivity.currentText()
        until = day(self.until.text(), end=True)
        return MemoryFilter((source,) if source != ALL else (), day(self.since.text()), until,
                            self.person.text().strip(), self.place.text().strip(),
                            (level,) if level != ALL else ())

    def reload(self) -> None:
        self.search()

    def search(self) -> None:
        store, query, wanted = self.store, self.query.text(), self.wanted()
        self.tasks.run(lambda: (find(store, query, wanted), sources(store)), self._show)

    def _show(self, found: tuple[list[Record], list[str]]) -> None:
        self.records, known = found
        self._offer_sources(known)
        rows = [[when(r)[:10], r.source, r.title, str(r.sensitivity), " ".join(r.text.split())[:160]]
                for r in self.records]
        fill_table(self.table, rows, [r.id for r in self.records])
        self.table.resizeColumnsToContents()

    def _offer_sources(self, known: list[str]) -> None:
        shown = [self.source.itemText(i) for i in range(1, self.source.count())]
        if shown != known:
            current = self.source.currentText()
            self.source.blockSignals(True)
            self.source.clear()
            self.source.addItems([ALL, *known])
            self.source.setCurrentText(current)
            self.source.blockSignals(False)

    def _selected(self) -> None:
        rows = {index.row() for index in self.table.selectedIndexes()}
        self.detail.show_record(self.records[rows.pop()] if rows else None)


class MemoryPage(QWidget):
    """Search, Profile and Topics tabs; `focus_search()` is what Ctrl+K calls."""

    def __init__(self, store: MemoryStore, tasks: BackgroundTasks | None = None) -> None:
        super().__init__()
        self.tasks = tasks or BackgroundTasks(self)
        self.search = SearchTab(store, self.tasks)
        self.profile = ProfileTab(store, self.tasks)
        self.topics = TopicsTab(store, self.tasks)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.search, "Search")
        self.tabs.addTab(self.profile, "Profile")
        self.tabs.addTab(self.topics, "Topics")
        self.tabs.currentChanged.connect(self.refresh)
        QVBoxLayout(self).addWidget(self.tabs)

    def refresh(self) -> None:
        self.tabs.currentWidget().reload()  # type: ignore[attr-defined]

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)  # type: ignore[arg-type]
        self.refresh()

    def focus_search(self) -> None:
        self.tabs.setCurrentWidget(self.search)
        self.search.query.setFocus()
        self.search.query.selectAll()

