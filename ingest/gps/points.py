"""What location readers hand on: chunks of points as numpy columns, declared segments, and tallies of bad records."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from ingest.gps.geo import EARLIEST
from ingest.gps.staypoints import Segment
from ingest.items import ParseError

CHUNK = 1 << 16
NAN = math.nan


@dataclass(frozen=True)
class Chunk:
    """Points: UTC epoch seconds, degrees, accuracy in metres (NaN where unknown)."""

    t: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    acc: np.ndarray


@dataclass(frozen=True)
class Untimed:
    """A track whose points carry no usable times: all that can be said of it, dated by the file."""

    time: datetime
    points: int
    lat: float
    lon: float
    metres: float
    names: tuple[str, ...] = ()


Part = Chunk | Segment | Untimed | ParseError
_fromiso = datetime.fromisoformat


def parse_time(text: object) -> float:
    """UTC epoch seconds of an ISO 8601 time (no zone means UTC) or of epoch (milli)seconds; ValueError if neither."""
    if isinstance(text, str):
        try:
            moment = _fromiso(text)
        except ValueError:
            if not text.strip().isdigit():
                raise
            return parse_time(int(text))
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text) / (1000.0 if text > 1e11 else 1.0)
    raise ValueError("no time")


def time_or_nan(text: object) -> float:
    try:
        return parse_time(text)
    except (ValueError, OverflowError):
        return NAN


def times(values: list) -> np.ndarray:
    """UTC epoch seconds of many times at once (NaN for the unreadable); ISO 8601 strings take the fast road."""
    try:
        moments = list(map(_fromiso, values))
    except (TypeError, ValueError):
        return np.array([time_or_nan(v) for v in values], dtype=float)
    if not all(m.tzinfo for m in moments):
        moments = [m if m.tzinfo else m.replace(tzinfo=UTC) for m in moments]
    try:
        return np.fromiter(map(datetime.timestamp, moments), float, len(moments))
    except (ValueError, OverflowError):
        return np.array([time_or_nan(v) for v in values], dtype=float)


@dataclass
class Tally:
    """Bad records of one file, counted by problem with the first position of each: one error each, not thousands."""

    path: str
    seen: dict[str, list] = field(default_factory=dict)

    def note(self, problem: str, position: str, count: int = 1) -> None:
        entry = self.seen.setdefault(problem, [0, position])
        entry[0] += count

    def errors(self) -> Iterator[ParseError]:
        for problem, (count, position) in self.seen.items():
            yield ParseError(self.path, f"{count} record(s) skipped: {problem}",
                             f"{position} (the first of them)" if count > 1 else position)


def plausible(t: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(has a valid position, has a plausible time: after 1990, not in the future) for each point."""
    with np.errstate(invalid="ignore"):
        where = (np.abs(lat) <= 90) & (np.abs(lon) <= 180) & ~((lat == 0) & (lon == 0))
        when = (t >= EARLIEST) & (t <= datetime.now(UTC).timestamp() + 2 * 86400)
    return where, when


class Points:
    """Collects points as they come (times raw, a record number with each) and hands them on in checked chunks.
    With `e7` the coordinates are Google's degrees times 10^7, as integers."""

    def __init__(self, tally: Tally, label: str, e7: bool = False) -> None:
        self.tally, self.label, self.e7 = tally, label, e7  # label names a record: "locations[{}]", "line {}"
        self.t: list[object] = []
        self.lat: list[float] = []
        self.lon: list[float] = []
        self.acc: list[float] = []
        self.number: list[int] = []
        self.total = 0

    def add(self, ts: object, lat: float, lon: float, acc: float, number: int) -> None:
        self.t.append(ts)
        self.lat.append(lat)
        self.lon.append(lon)
        self.acc.append(acc)
        self.number.append(number)

    def take(self, least: int = CHUNK) -> Chunk | None:
        """A chunk of the valid points collected, once there are at least `least`; bad ones go to the tally."""
        if not self.t or len(self.t) < least:
            return None
        t, lat, lon = times(self.t), np.array(self.lat, dtype=float), np.array(self.lon, dtype=float)
        acc, number = np.array(self.acc, dtype=float), self.number
        if self.e7:  # some exports overflowed int32: undo it
            lat, lon = np.where(lat > 9e8, lat - 2**32, lat) / 1e7, np.where(lon > 1.8e9, lon - 2**32, lon) / 1e7
        self.t, self.lat, self.lon, self.acc, self.number = [], [], [], [], []
        return self.checked(t, lat, lon, acc, number)

    def checked(self, t: np.ndarray, lat: np.ndarray, lon: np.ndarray, acc: np.ndarray,
                number: list[int]) -> Chunk | None:
        where, when = plausible(t, lat, lon)
        for bad, problem in ((~where, "no valid latitude/longitude"),
                             (where & ~when, "no time, or an impossible one (before 1990 or in the future)")):
            if bad.any():
                self.tally.note(problem, self.label.format(number[int(np.argmax(bad))]), int(bad.sum()))
        keep = where & when
        self.total += int(keep.sum())
        return Chunk(t[keep], lat[keep], lon[keep], acc[keep]) if keep.any() else None
