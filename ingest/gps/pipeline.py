"""From a reader's parts to Items: stay-point detection, declared visits merged in by time, days, records."""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from ingest.gps.days import DayGrouper
from ingest.gps.geo import metres
from ingest.gps.jsonitems import BAD_RECORD
from ingest.gps.points import Chunk, Part, Untimed
from ingest.gps.staypoints import Detector, Merger, Params, Segment
from ingest.gps.visits import day_items, untimed_item
from ingest.items import Item, ParseError


@dataclass(frozen=True)
class Reader:
    """One location format. `ordered` readers stream (points in time order, waypoints first); the others
    declare visits in any order, so their segments are gathered and sorted (segments are few, points many)."""

    source: str
    read: Callable[[Path], Iterator[Part]]
    ordered: bool = True


class _Timeline:
    """Detected and declared segments, merged in time order; stays named after nearby named spots."""

    def __init__(self, ordered: bool, params: Params) -> None:
        self.ordered, self.params = ordered, params
        self.detector, self.merger = Detector(params), Merger(params)
        self.declared: list[tuple[float, int, Segment]] = []
        self.spots: list[Segment] = []
        self.count = itertools.count()

    def push(self, segment: Segment) -> None:
        heapq.heappush(self.declared, (segment.start, next(self.count), segment))

    def _named(self, segment: Segment) -> Segment:
        if segment.kind != "stay" or segment.hint or not self.spots:
            return segment
        spot = min(self.spots, key=lambda s: metres(s.lat, s.lon, segment.lat, segment.lon))
        close = metres(spot.lat, spot.lon, segment.lat, segment.lon) <= self.params.merge_m
        return replace(segment, hint=spot.hint) if close else segment

    def _release(self, upto: float) -> Iterator[Segment]:
        while self.declared and self.declared[0][0] <= upto:
            for segment in self.merger.add(heapq.heappop(self.declared)[2]):
                yield self._named(segment)

    def detected(self, segments: list[Segment]) -> Iterator[Segment]:
        for segment in segments:
            if not self.ordered:
                self.push(segment)
                continue
            yield from self._release(segment.start)
            for out in self.merger.add(segment):
                yield self._named(out)

    def add(self, part: Chunk | Segment) -> Iterator[Segment]:
        if isinstance(part, Chunk):
            yield from self.detected(self.detector.feed(part.t, part.lat, part.lon, part.acc))
        elif part.kind == "place":
            self.spots.append(part)
        else:
            self.push(part)

    def close(self) -> Iterator[Segment]:
        yield from self.detected(self.detector.close())
        yield from self._release(math.inf)
        for segment in self.merger.close():
            yield self._named(segment)


def parse_location(path: Path, reader: Reader, params: Params = Params()) -> Iterator[Item | ParseError]:
    """Every day with visits as records (one origin per day), bad records as errors; ParseError if nothing usable."""
    base, name = str(path.resolve()), str(path)
    timeline, days, produced = _Timeline(reader.ordered, params), DayGrouper(), False
    try:
        for part in reader.read(path):
            if isinstance(part, ParseError):
                yield part
            elif isinstance(part, Untimed):
                yield untimed_item(base, reader.source, part)
                produced = True
            else:
                for segment in timeline.add(part):
                    for day in days.add(segment):
                        yield from day_items(base, day, reader.source)
                        produced = True
        for segment in timeline.close():
            for day in days.add(segment):
                yield from day_items(base, day, reader.source)
                produced = True
        for day in days.close():
            yield from day_items(base, day, reader.source)
            produced = True
    except (*BAD_RECORD, ArithmeticError, RecursionError) as error:  # a last guard: only ParseError leaves a parser
        raise ParseError(name, f"cannot read: {type(error).__name__}: {error}") from error
    late = timeline.detector.late + days.late
    if late:
        yield ParseError(name, f"{late} point(s) or visit(s) out of time order, after their day was done; skipped")
    if not produced:
        raise ParseError(name, "holds no location points with usable times")
