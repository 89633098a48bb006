"""A calendar heat-map: the last weeks as a grid of days (a column a week, Monday on top), shaded by how
much was recorded on each; clicking a day emits it."""

from __future__ import annotations

from datetime import date, timedelta

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QWidget

CELL, GAP = 12, 3
LEVELS = (0, 1, 3, 10, 30)  # records a day from which each shade starts


class ActivityHeatmap(QWidget):
    """`set_counts(counts, last)` shows the `weeks` weeks ending with the week of `last`."""

    day_clicked = Signal(object)  # a datetime.date

    def __init__(self, weeks: int = 26, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.weeks = weeks
        self.counts: dict[date, int] = {}
        self.first = self.last = date.today()
        self.selected: date | None = None
        self.set_counts({}, date.today())
        self.setMouseTracking(True)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(self.weeks * (CELL + GAP) + GAP, 7 * (CELL + GAP) + GAP)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return self.sizeHint()

    def set_counts(self, counts: dict[date, int], last: date) -> None:
        end = last + timedelta(days=6 - last.weekday())  # the Sunday of last's week
        self.first, self.last, self.counts = end - timedelta(weeks=self.weeks) + timedelta(days=1), end, counts
        self.update()

    def covers(self, day: date) -> bool:
        return self.first <= day <= self.last

    def cell(self, day: date) -> QRectF:
        column, row = divmod((day - self.first).days, 7)
        return QRectF(GAP + column * (CELL + GAP), GAP + row * (CELL + GAP), CELL, CELL)

    def day_at(self, x: float, y: float) -> date | None:
        column, row = int((x - GAP) // (CELL + GAP)), int((y - GAP) // (CELL + GAP))
        if not (0 <= column < self.weeks and 0 <= row < 7):
            return None
        return self.first + timedelta(days=column * 7 + row)

    def shade(self, count: int) -> QColor:
        level = sum(1 for start in LEVELS[1:] if count >= start)
        if level == 0:
            return self.palette().color(QPalette.ColorRole.AlternateBase)
        colour = QColor(self.palette().color(QPalette.ColorRole.Highlight))
        colour.setAlpha(60 + 195 * level // (len(LEVELS) - 1))
        return colour

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        day = self.first
        while day <= self.last:
            painter.setBrush(self.shade(self.counts.get(day, 0)))
            painter.drawRoundedRect(self.cell(day), 2, 2)
            day += timedelta(days=1)
        if self.selected and self.covers(self.selected):
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(self.palette().color(QPalette.ColorRole.Text))
            painter.drawRoundedRect(self.cell(self.selected).adjusted(-1, -1, 1, 1), 2, 2)
        painter.end()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        day = self.day_at(event.position().x(), event.position().y())
        self.setToolTip(f"{day:%a %d %b %Y}: {self.counts.get(day, 0)} record(s)" if day else "")

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        day = self.day_at(event.position().x(), event.position().y())
        if day is not None and day <= self.last:
            self.day_clicked.emit(day)
