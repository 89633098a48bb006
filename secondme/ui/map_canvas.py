"""A map without tiles: a day's track and stops drawn with QPainter in an equirectangular projection
fitted to their bounding box (longitudes shrunk by cos(latitude)), with a scale bar and labels."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QWidget

from ingest.gps.visits import distance
from secondme.days import DayTimeline, Stop

METRES_PER_DEGREE = 111_320.0
MARGIN = 36.0
MIN_SPAN_M = 300.0  # a day spent at one spot is drawn over at least this many metres


def nice_length(metres: float) -> float:
    """The largest 1, 2 or 5 × 10^n metres not above `metres` (a scale bar's length)."""
    if metres <= 0:
        return 0.0
    power = 10 ** math.floor(math.log10(metres))
    return max(step * power for step in (1, 2, 5) if step * power <= metres)


def label(stop: Stop) -> str:
    """A stop's name and times, e.g. "Home 08:10–12:40"."""
    return f"{stop.name} {stop.start:%H:%M}" + (f"–{stop.end:%H:%M}" if stop.minutes >= 1 else "")


class Projection:
    """Latitude and longitude to widget pixels: the points' bounding box fitted into a rectangle, aspect kept."""

    def __init__(self, points: list[tuple[float, float]], area: QRectF) -> None:
        lats, lons = [p[0] for p in points], [p[1] for p in points]
        self.lat0, self.lon0 = (min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2
        self.shrink = math.cos(math.radians(self.lat0))
        minimum = MIN_SPAN_M / METRES_PER_DEGREE
        width = max((max(lons) - min(lons)) * self.shrink, minimum)
        height = max(max(lats) - min(lats), minimum)
        self.scale = min(area.width() / width, area.height() / height)  # pixels per degree of latitude
        self.centre = area.center()

    def point(self, lat: float, lon: float) -> QPointF:
        return QPointF(self.centre.x() + (lon - self.lon0) * self.shrink * self.scale,
                       self.centre.y() - (lat - self.lat0) * self.scale)

    def metres_per_pixel(self) -> float:
        return METRES_PER_DEGREE / self.scale


class MapCanvas(QWidget):
    """Draws one DayTimeline: the track, stops as circles sized by how long they lasted, their names and times."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(320, 260)
        self.timeline: DayTimeline | None = None

    def set_day(self, timeline: DayTimeline | None) -> None:
        self.timeline = timeline
        self.update()

    def projection(self) -> Projection | None:
        points = self.timeline.track() if self.timeline else []
        if not points:
            return None
        return Projection(points, QRectF(self.rect()).adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN - 16))

    def labels(self) -> list[str]:
        """The stop labels drawn, in time order."""
        return [label(s) for s in self.timeline.stops] if self.timeline else []

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Base))
        where = self.projection()
        if where is None:
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No location history for this day")
        else:
            self._track(painter, where)
            self._stops(painter, where)
            self._scale_bar(painter, where)
        painter.end()

    def _track(self, painter: QPainter, where: Projection) -> None:
        assert self.timeline is not None
        path = QPainterPath()
        for n, (lat, lon) in enumerate(self.timeline.track()):
            (path.lineTo if n else path.moveTo)(where.point(lat, lon))
        accent = QColor(self.palette().color(QPalette.ColorRole.Highlight))
        accent.setAlpha(170)
        painter.setPen(QPen(accent, 3, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
        painter.drawPath(path)

    def _stops(self, painter: QPainter, where: Projection) -> None:
        assert self.timeline is not None
        fill = QColor("#e8743b")
        text = self.palette().color(QPalette.ColorRole.Text)
        taken: list[QRectF] = []
        for stop in self.timeline.stops:
            centre = where.point(stop.lat, stop.lon)
            radius = 5 + min(math.sqrt(max(stop.minutes, 0.0)), 20.0)  # 1 h: ~13 px, 6 h and more: 25 px
            painter.setPen(QPen(fill.darker(130), 1.5))
            painter.setBrush(QColor(fill.red(), fill.green(), fill.blue(), 140))
            painter.drawEllipse(centre, radius, radius)
            painter.setPen(text)
            box = painter.fontMetrics().boundingRect(label(stop)).toRectF()
            box.moveTopLeft(centre + QPointF(radius + 4, -box.height() / 2))
            while any(box.intersects(other) for other in taken):  # stops close together: labels stack
                box.translate(0, box.height())
            taken.append(box)
            painter.drawText(box, Qt.AlignmentFlag.AlignLeft, label(stop))

    def _scale_bar(self, painter: QPainter, where: Projection) -> None:
        metres = nice_length(where.metres_per_pixel() * self.width() / 4)
        pixels = metres / where.metres_per_pixel()
        left, y = MARGIN, self.height() - 14.0
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Text), 2))
        painter.drawLine(QPointF(left, y), QPointF(left + pixels, y))
        for x in (left, left + pixels):
            painter.drawLine(QPointF(x, y - 4), QPointF(x, y + 4))
        painter.drawText(QPointF(left + pixels + 6, y + 4), distance(metres))
