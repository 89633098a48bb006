"""The day view on the real core, offscreen: a day of a GPX sample shows its stops on the map and its records
in time order; the heat-map counts days and a click on it shows that day."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QPoint, Qt

from secondme.app import build
from secondme.companion.clock import Clock
from secondme.core.types import NewRecord
from secondme.ingestion import Ingestor
from secondme.ui.day_view import DayView
from secondme.ui.map_canvas import nice_length
from tests.conftest import SHARED_DATA
from tests.fakes import HashEmbedder

pytestmark = pytest.mark.usefixtures("qt_no_leaks")
PACIFIC = ZoneInfo("America/Los_Angeles")
SAMPLE = SHARED_DATA / "gps" / "gpsbabel" / "tpo-sample2.gpx"  # Pacific days 2005-09-03..05
DAY = date(2005, 9, 4)


@pytest.fixture
def services(secondme_home: Path):  # noqa: ANN201
    built = build(data_dir=secondme_home, embedder=HashEmbedder())
    built.clock = Clock(PACIFIC, datetime(2005, 9, 20, 12, tzinfo=PACIFIC))
    Ingestor(built.store).ingest([SAMPLE])
    built.store.add([NewRecord(text="Lunch with Ana by the bay", time=datetime(2005, 9, 4, 12, 30, tzinfo=PACIFIC),
                               source="notes", source_id="lunch", title="Lunch")])
    yield built
    built.close()


@pytest.fixture
def view(qtbot, services):  # noqa: ANN001, ANN201
    widget = DayView(services)  # opens on the clock's today
    qtbot.addWidget(widget)
    qtbot.waitUntil(lambda: not widget.tasks.busy, timeout=30_000)
    assert widget.day == date(2005, 9, 20)
    widget.resize(1000, 700)
    widget.show()
    yield widget
    widget.shutdown()


def drawn_colours(widget) -> set[int]:  # noqa: ANN001
    image = widget.grab().toImage()
    return {image.pixel(x, y) for x in range(0, image.width(), 4) for y in range(0, image.height(), 4)}


def test_a_day_of_a_gpx_sample_shows_its_visits_on_the_map_and_its_records_in_order(qtbot, view):
    with qtbot.waitSignal(view.day_did_load, timeout=30_000) as loaded:
        view.show_day(DAY)
    timeline = loaded.args[0]
    assert timeline.date == DAY and view.picker.date().toPython() == DAY
    assert timeline.stops and any("Belmont" in label for label in view.map.labels())
    assert any(len(move.path) > 2 for move in timeline.moves)
    rows = [view.entries.item(i).text() for i in range(view.entries.count())]
    assert any("visit" in row for row in rows) and any("Lunch" in row for row in rows)
    assert rows == sorted(rows)  # HH:MM first: time order
    where = view.map.projection()
    assert where is not None
    for stop in timeline.stops:  # every stop lies inside the canvas
        assert view.map.rect().contains(where.point(stop.lat, stop.lon).toPoint())
    assert len(drawn_colours(view.map)) > 10  # a track, stops and labels, not a blank canvas
    assert "stop(s)" in view.title.text()


def test_the_heatmap_counts_days_and_a_click_shows_that_day(qtbot, view):
    with qtbot.waitSignal(view.day_did_load, timeout=30_000):
        view.show_day(DAY)  # its weeks are shown already: the counts loaded with the first day
    assert view.heatmap.counts.get(DAY, 0) >= 2 and view.heatmap.covers(date(2005, 9, 5))
    centre = view.heatmap.cell(date(2005, 9, 5)).center().toPoint()
    with qtbot.waitSignal(view.day_did_load, timeout=30_000) as loaded:
        qtbot.mouseClick(view.heatmap, Qt.MouseButton.LeftButton, pos=QPoint(centre))
    assert loaded.args[0].date == date(2005, 9, 5) and view.day == date(2005, 9, 5)
    with qtbot.waitSignal(view.day_did_load, timeout=30_000) as loaded:
        view.step(-1)
    assert loaded.args[0].date == DAY
    with qtbot.waitSignal(view.counts_did_load, timeout=30_000):
        view.show_day(date(2004, 1, 1))  # out of the weeks shown: they move
    assert view.heatmap.covers(date(2004, 1, 1)) and not view.heatmap.counts


def test_an_empty_day_says_so(qtbot, view):
    with qtbot.waitSignal(view.day_did_load, timeout=30_000) as loaded:
        view.show_day(date(2001, 1, 1))
    assert loaded.args[0].empty and view.entries.count() == 0 and view.title.text() == "nothing recorded"
    assert view.map.projection() is None


def test_scale_bar_lengths_are_round():
    assert [nice_length(m) for m in (0.5, 7, 130, 2600, 49_000)] == [0.5, 5, 100, 2000, 20_000]
