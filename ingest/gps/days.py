"""Segments in time order grouped into local calendar days; a stay over midnight belongs to every day it touches."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from ingest.gps.geo import local
from ingest.gps.staypoints import Segment

MAX_SPAN_DAYS = 62  # a stay longer than this (a broken end time) is shown for this many days only


@dataclass(frozen=True)
class Day:
    """One local day: every stay and move that touches it, in order."""

    date: date
    segments: tuple[Segment, ...]

    def starts(self, segment: Segment) -> bool:
        """Whether the segment begins on this day (its visit record lives in this day's origin)."""
        return start_of(segment).date() == self.date

    def to_json(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "segments": [asdict(s) for s in self.segments]}

    @staticmethod
    def from_json(value: dict[str, Any]) -> Day:
        segments = (Segment(**{**s, "path": tuple(map(tuple, s.get("path", ())))}) for s in value["segments"])
        return Day(date.fromisoformat(value["date"]), tuple(segments))


def start_of(segment: Segment) -> datetime:
    return local(segment.start, segment.lat, segment.lon)


def end_of(segment: Segment) -> datetime:
    return local(segment.end, segment.lat, segment.lon)


class DayGrouper:
    """Feed segments in time order; days come out once nothing later can touch them."""

    def __init__(self) -> None:
        self.open: dict[date, list[Segment]] = {}
        self.done: date | None = None
        self.late = 0

    def add(self, segment: Segment) -> list[Day]:
        first = start_of(segment).date()
        last = min(max(end_of(segment).date(), first), first + timedelta(days=MAX_SPAN_DAYS))
        if self.done is not None and first <= self.done:
            self.late += 1  # out of time order, after its day was given out
            return []
        out = [Day(d, tuple(self.open.pop(d))) for d in sorted(self.open) if d < first]
        if out:
            self.done = out[-1].date
        day = first
        while day <= last:
            self.open.setdefault(day, []).append(segment)
            day += timedelta(days=1)
        return out

    def close(self) -> list[Day]:
        out = [Day(d, tuple(self.open[d])) for d in sorted(self.open)]
        self.open = {}
        return out
