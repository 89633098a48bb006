"""One day of a life, for the day view: where I was (stops and the track between) and what was recorded, in time
order; and how much was recorded on each day, for the calendar heat-map."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from ingest.gps.days import Day, end_of, start_of
from ingest.gps.visits import Labeler, place_name
from secondme.places import Places

HIDDEN_KINDS = ("segment", "topic", "day")  # summaries written by consolidation, and a day's own summary
MAX_ENTRIES = 500


@dataclass(frozen=True)
class Stop:
    """A stay of the day: where (name, centre), from when to when (local times at the place)."""

    name: str
    lat: float
    lon: float
    start: datetime
    end: datetime

    @property
    def minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60


@dataclass(frozen=True)
class Move:
    """A move of the day: its track (lat, lon) in order, from when to when, how far and how."""

    path: tuple[tuple[float, float], ...]
    start: datetime
    end: datetime
    metres: float = 0.0
    mode: str = ""


@dataclass(frozen=True)
class Entry:
    """A record of the day, as the day's list shows it."""

    time: datetime
    kind: str
    source: str
    title: str
    text: str
    record_id: str


@dataclass(frozen=True)
class DayTimeline:
    """Everything of one local date: stops and moves (from location history) and the day's records."""

    date: date
    stops: tuple[Stop, ...] = ()
    moves: tuple[Move, ...] = ()
    entries: tuple[Entry, ...] = ()

    def track(self) -> list[tuple[float, float]]:
        """The day's path as one polyline: stops and moves' tracks in time order."""
        parts = [(s.start, ((s.lat, s.lon),)) for s in self.stops] + [(m.start, m.path) for m in self.moves]
        return [point for _, path in sorted(parts, key=lambda part: part[0]) for point in path]

    @property
    def empty(self) -> bool:
        return not (self.stops or self.moves or self.entries)


def _stop(segment: Any, label: Labeler) -> Stop:
    return Stop(place_name(segment, label), segment.lat, segment.lon, start_of(segment), end_of(segment))


def _move(segment: Any) -> Move:
    path = segment.path or ((segment.lat, segment.lon),)  # formats that give no track: where the move began
    return Move(tuple(path), start_of(segment), end_of(segment), segment.metres, segment.mode)


def _located(days: list[tuple[Day, Labeler]]) -> tuple[tuple[Stop, ...], tuple[Move, ...]]:
    stops = {(s.start, s.lat, s.lon): _stop(s, label) for day, label in days for s in day.segments if s.kind == "stay"}
    moves = {(s.start, s.lat, s.lon): _move(s) for day, _ in days for s in day.segments if s.kind == "move"}
    return (tuple(sorted(stops.values(), key=lambda s: s.start)), tuple(sorted(moves.values(), key=lambda m: m.start)))


def day_bounds(on: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """Local midnight of the date and of the next."""
    start = datetime.combine(on, time(), tz)
    return start, datetime.combine(on + timedelta(days=1), time(), tz)


def _entries(store: Any, on: date, tz: tzinfo) -> tuple[Entry, ...]:
    start, end = day_bounds(on, tz)
    marks = ", ".join("?" * len(HIDDEN_KINDS))
    rows = store.query(f"SELECT id FROM records WHERE time_ts >= ? AND time_ts < ? AND kind NOT IN ({marks}) "
                       "ORDER BY time_ts, rowid LIMIT ?", (start.timestamp(), end.timestamp(), *HIDDEN_KINDS,
                                                          MAX_ENTRIES))
    return tuple(Entry(r.time.astimezone(tz), r.kind, r.source, r.title, r.text, r.id)
                 for r in store.records([i for (i,) in rows]))


def day_timeline(store: Any, on: date, tz: tzinfo) -> DayTimeline:
    """The day `on`: its stops and moves (local days of the location history) and its records (days in `tz`)."""
    stops, moves = _located(Places(store).days_on(on))
    return DayTimeline(on, stops, moves, _entries(store, on, tz))


def activity_counts(store: Any, first: date, last: date, tz: tzinfo) -> dict[date, int]:
    """How many records each date from `first` to `last` (inclusive, in `tz`) holds; dates without any are left out."""
    start, end = day_bounds(first, tz)[0], day_bounds(last, tz)[1]
    marks = ", ".join("?" * len(HIDDEN_KINDS))
    rows = store.query(f"SELECT time_ts FROM records WHERE time_ts >= ? AND time_ts < ? AND kind NOT IN ({marks})",
                       (start.timestamp(), end.timestamp(), *HIDDEN_KINDS))
    counts: dict[date, int] = {}
    for (stamp,) in rows:
        day = datetime.fromtimestamp(stamp, tz).date()
        counts[day] = counts.get(day, 0) + 1
    return counts
