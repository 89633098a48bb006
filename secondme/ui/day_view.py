"""The day view: pick a date and see that day's track and stops on a map beside its records in time order,
above a heat-map of how much was recorded each day. Everything is read off the Qt thread."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from secondme.days import DayTimeline, Entry, activity_counts, day_timeline
from secondme.ui.heatmap import ActivityHeatmap
from secondme.ui.map_canvas import MapCanvas
from secondme.ui.tasks import BackgroundTasks

if TYPE_CHECKING:
    from secondme.app import Services


def entry_line(entry: Entry) -> str:
    """One row of the day's list: "14:05  note  Title — the start of the text"."""
    text = " ".join(entry.text.split())
    head = f"{entry.title} — {text}" if entry.title and entry.title not in text else text
    return f"{entry.time:%H:%M}  {entry.kind}  {head[:140]}"


class DayView(QWidget):
    """`show_day(date)` loads a day; `day_did_load(timeline)` and `counts_did_load(counts)` follow, on the Qt thread."""

    day_did_load = Signal(object)
    counts_did_load = Signal(object)

    def __init__(self, services: Services, weeks: int = 26) -> None:
        super().__init__()
        self._store, self._tz = services.store, services.clock.tz
        self.tasks = BackgroundTasks(self)
        self.timeline: DayTimeline | None = None
        self._counted = False  # whether the heat-map holds loaded counts
        self.picker = QDateEdit(calendarPopup=True, displayFormat="ddd d MMM yyyy")
        self.title = QLabel()
        self.map = MapCanvas()
        self.entries = QListWidget(wordWrap=True)
        self.heatmap = ActivityHeatmap(weeks)
        self.heatmap.day_clicked.connect(self.show_day)
        self._build()
        self.show_day(services.clock.now().astimezone(self._tz).date())

    def _build(self) -> None:
        bar = QHBoxLayout()
        for text, step in (("◀", -1), ("▶", 1)):
            bar.addWidget(QPushButton(text, clicked=lambda _=False, step=step: self.step(step), fixedWidth=40))
        bar.insertWidget(1, self.picker)
        self.picker.dateChanged.connect(lambda picked: self.show_day(picked.toPython()))
        bar.addWidget(self.title, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.map)
        split.addWidget(self.entries)
        split.setSizes([600, 400])
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(split, 1)
        layout.addWidget(self.heatmap, 0, Qt.AlignmentFlag.AlignLeft)

    @property
    def day(self) -> date:
        return self.picker.date().toPython()

    def step(self, days: int) -> None:
        self.show_day(self.day + timedelta(days=days))

    def show_day(self, day: date) -> None:
        """Show `day`: the picker moves to it, and its timeline (and the heat-map's weeks, if needed) load."""
        if self.picker.date().toPython() != day:
            self.picker.setDate(QDate(day))  # its dateChanged comes back here
            return
        self.title.setText("loading…")
        self.heatmap.selected = day
        store, tz = self._store, self._tz
        self.tasks.run(lambda: day_timeline(store, day, tz), self._day_loaded, self._failed)
        if not (self._counted and self.heatmap.covers(day)):
            self.refresh_counts(day)
        self.heatmap.update()

    def refresh_counts(self, last: date | None = None) -> None:
        """Reload the heat-map for the weeks ending with the week of `last` (default: the shown day's)."""
        last = last or self.day
        first = last - timedelta(weeks=self.heatmap.weeks)
        store, tz = self._store, self._tz
        self.tasks.run(lambda: (last, activity_counts(store, first, last + timedelta(days=7), tz)),
                       self._counts_loaded, self._failed)

    def _day_loaded(self, timeline: DayTimeline) -> None:
        if timeline.date != self.day:
            return  # a later pick is on its way
        self.timeline = timeline
        self.map.set_day(timeline)
        self.entries.clear()
        for entry in timeline.entries:
            item = QListWidgetItem(entry_line(entry))
            item.setToolTip(entry.text[:2000])
            item.setData(Qt.ItemDataRole.UserRole, entry.record_id)
            self.entries.addItem(item)
        stops, records = len(timeline.stops), len(timeline.entries)
        self.title.setText(f"{stops} stop(s), {records} record(s)" if not timeline.empty else "nothing recorded")
        self.day_did_load.emit(timeline)

    def _counts_loaded(self, loaded: tuple[date, dict[date, int]]) -> None:
        last, counts = loaded
        self.heatmap.set_counts(counts, last)
        self._counted = True
        self.counts_did_load.emit(counts)

    def _failed(self, message: str) -> None:
        self.title.setText(f"could not load: {message}")

    def refresh(self) -> None:
        """Reload the shown day and the heat-map (after an ingest)."""
        self.show_day(self.day)
        self.refresh_counts()

    def shutdown(self) -> None:
        self.tasks.shutdown()
