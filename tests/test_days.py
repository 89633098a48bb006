"""The day view's core: a day's stops, track and records from the real store, and records per day."""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from ingest.gps.days import Day
from ingest.gps.staypoints import Segment, thin
from secondme.core.types import NewRecord
from secondme.days import activity_counts, day_timeline
from secondme.ingestion import Ingestor
from secondme.memory.store import MemoryStore
from tests.conftest import SHARED_DATA

SAMPLE = SHARED_DATA / "gps" / "gpsbabel" / "tpo-sample2.gpx"  # 2005-09-03..05, local (Pacific) days
PACIFIC = ZoneInfo("America/Los_Angeles")
DAY = date(2005, 9, 4)


@pytest.fixture
def store(hash_store: MemoryStore) -> MemoryStore:
    return hash_store


def note(text: str, moment: datetime) -> NewRecord:
    return NewRecord(text=text, time=moment, source="notes", source_id=text[:10], title=text[:20])


def test_a_day_of_a_gpx_sample_has_named_stops_a_track_and_its_records_in_time_order(store: MemoryStore):
    Ingestor(store).ingest([SAMPLE])
    store.add([note("Lunch with Ana at the harbour", datetime(2005, 9, 4, 12, 30, tzinfo=PACIFIC)),
               note("Too late for this day", datetime(2005, 9, 5, 0, 30, tzinfo=PACIFIC))])
    day = day_timeline(store, DAY, PACIFIC)
    assert day.stops and all(s.name for s in day.stops)
    assert any("Belmont" in s.name for s in day.stops)
    assert [s.start for s in day.stops] == sorted(s.start for s in day.stops)
    assert any(len(m.path) > 2 for m in day.moves)  # the track itself, not just where moves began
    assert len(day.track()) >= len(day.stops) + sum(len(m.path) for m in day.moves) - len(day.moves)
    kinds = [e.kind for e in day.entries]
    assert "visit" in kinds and "note" in kinds and "day" not in kinds
    assert [e.time for e in day.entries] == sorted(e.time for e in day.entries)
    assert not any("Too late" in e.text for e in day.entries)
    assert all(e.time.date() == DAY for e in day.entries)


def test_a_day_without_anything_is_empty(store: MemoryStore):
    assert day_timeline(store, date(2001, 1, 1), PACIFIC).empty


def test_activity_counts_per_local_date(store: MemoryStore):
    Ingestor(store).ingest([SAMPLE])
    store.add([note(f"note {n}", datetime(2005, 9, 6, 9 + n, tzinfo=PACIFIC)) for n in range(3)])
    counts = activity_counts(store, date(2005, 9, 1), date(2005, 9, 30), PACIFIC)
    assert counts[date(2005, 9, 6)] == 3
    assert set(counts) >= {date(2005, 9, 4), date(2005, 9, 6)} and date(2005, 9, 1) not in counts
    assert activity_counts(store, date(2005, 9, 7), date(2005, 9, 30), PACIFIC) == {}


def test_a_move_keeps_a_thinned_track_that_survives_the_days_json():
    lat, lon = [47.0 + i * 1e-4 for i in range(1000)], [8.0] * 1000
    path = thin(lat, lon)
    assert len(path) == 64 and path[0] == (47.0, 8.0) and path[-1] == (round(lat[-1], 5), 8.0)
    assert thin(lat[:3], lon[:3]) == ((47.0, 8.0), (47.0001, 8.0), (47.0002, 8.0))
    day = Day(DAY, (Segment("move", 0.0, 60.0, 47.0, 8.0, 1000, 1100.0, path=path),))
    assert Day.from_json(json.loads(json.dumps(day.to_json()))) == day
