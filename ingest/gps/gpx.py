"""GPX 1.0 and 1.1, streamed: expat checks the XML, regular expressions take the points out of each block."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from xml.parsers import expat

import numpy as np

from ingest.gps.geo import gated_length
from ingest.gps.points import Chunk, Part, Points, Tally, Untimed, plausible, time_or_nan, times
from ingest.gps.staypoints import Segment
from ingest.items import ParseError

READ_BYTES = 4 << 20
MAX_NAMES = 12
_NS = r"(?:[\w.-]+:)?"
# The usual layout (lat before lon, <ele> if any before <time>), fast; any other goes through _ANY.
_PLAIN = re.compile(r'<trkpt\s+lat="([^"]*)"\s+lon="([^"]*)"\s*>\s*(?:<ele>[^<]*</ele>\s*)?(?:<time>([^<]*)</time>)?')
_ANY = re.compile(
    rf"<{_NS}trkpt(?=[^>]*?\slat\s*=\s*[\"']\s*([^\"'\s]*))(?=[^>]*?\slon\s*=\s*[\"']\s*([^\"'\s]*))[^>]*?"
    rf"(?:/>|>(?:[^<]|<(?!{_NS}time\s*>|/{_NS}trkpt\s*>))*(?:<{_NS}time\s*>\s*([^<]*?)\s*</{_NS}time\s*>)?)")
_WPT = re.compile(rf"<{_NS}wpt\b([^>]*?)(?:/>|>(.*?)</{_NS}wpt\s*>)", re.S)
_ATTR = {name: re.compile(rf"\s{name}\s*=\s*[\"']\s*([^\"'\s]*)") for name in ("lat", "lon")}
_CHILD = {name: re.compile(rf"<{_NS}{name}\s*>\s*([^<]*?)\s*</{_NS}{name}\s*>") for name in ("time", "name")}
_FILE_TIME = re.compile(rf"<{_NS}time\s*>\s*([^<]*?)\s*</{_NS}time\s*>|<{_NS}(?:trk|rte|wpt)\b")


def looks_like_gpx(head: bytes) -> bool:
    start = head[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return start.startswith(b"<") and b"<gpx" in start


def _floats(texts: tuple[str, ...]) -> np.ndarray:
    try:
        return np.array(texts, dtype=float)
    except ValueError:
        return np.array([_float(x) for x in texts], dtype=float)


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return np.nan


@dataclass
class _Track:
    """What the blocks of one file add up to."""

    tally: Tally
    points: Points
    count: int = 0  # track points seen
    file_time: float = np.nan
    head_done: bool = False
    waypoints: int = 0
    untimed: list[tuple[float, float]] = field(default_factory=list)  # a sample, for an untimed track's record
    untimed_count: int = 0
    untimed_metres: float = 0.0
    names: list[str] = field(default_factory=list)

    def block(self, text: str) -> Iterator[Part]:
        if not self.head_done:
            found = _FILE_TIME.search(text)
            if found and found.group(1) is not None:
                self.file_time = time_or_nan(found.group(1))
            self.head_done = bool(found)
        if "wpt" in text:
            yield from self._waypoints(text)
        rows = _PLAIN.findall(text)
        if len(rows) != text.count("<trkpt") or ":trkpt" in text or not all(row[2] for row in rows):
            rows = _ANY.findall(text)
        if rows:
            lat, lon, stamps = zip(*rows, strict=True)
            yield from self._points(_floats(lat), _floats(lon), stamps)

    def _points(self, lat: np.ndarray, lon: np.ndarray, stamps: tuple[str, ...]) -> Iterator[Chunk]:
        t = times(list(stamps))
        where, when = plausible(t, lat, lon)
        untimed = where & ~when
        if untimed.any():
            first = int(np.argmax(untimed))
            problem = "track point with an impossible time" if stamps[first] else "track point without a time"
            self.tally.note(problem, f"track point {self.count + first + 1}", int(untimed.sum()))
            self.untimed_count += int(untimed.sum())
            self.untimed_metres += gated_length(lat[untimed], lon[untimed])
            self.untimed += list(zip(lat[untimed][:1000].tolist(), lon[untimed][:1000].tolist(), strict=True))
            self.untimed = self.untimed[:1000]
        keep = ~untimed
        numbers = np.arange(self.count + 1, self.count + len(t) + 1)[keep].tolist()
        chunk = self.points.checked(t[keep], lat[keep], lon[keep], np.full(int(keep.sum()), np.nan), numbers)
        self.count += len(t)
        if chunk is not None:
            yield chunk

    def _waypoints(self, text: str) -> Iterator[Segment]:
        for found in _WPT.finditer(text):
            attrs, body = found.group(1), found.group(2) or ""
            lat, lon = (_float(m.group(1)) if (m := _ATTR[k].search(attrs)) else np.nan for k in ("lat", "lon"))
            where, _ = plausible(np.zeros(1), np.array([lat]), np.array([lon]))
            if not where[0]:
                self.tally.note("waypoint without a valid lat/lon", f"waypoint {self.waypoints + 1}")
                continue
            name = unescape(m.group(1)) if (m := _CHILD["name"].search(body)) else ""
            ts = time_or_nan(m.group(1)) if (m := _CHILD["time"].search(body)) else np.nan
            self.waypoints += 1
            if plausible(np.array([ts]), np.array([lat]), np.array([lon]))[1][0]:
                yield Segment("stay", ts, ts, lat, lon, 0, hint=name or "a marked waypoint")
            elif name:
                if len(self.names) < MAX_NAMES:
                    self.names.append(name)
                yield Segment("place", 0.0, 0.0, lat, lon, hint=name)

    def leftovers(self, path: str) -> Iterator[Part]:
        """Once the file is read: an untimed track, if nothing in it had times; else the tallies."""
        if not self.points.total and self.untimed_count:
            if np.isnan(self.file_time) or not plausible(np.array([self.file_time]), np.ones(1), np.ones(1))[1][0]:
                raise ParseError(path, f"no usable timestamps: none of its {self.untimed_count} track points has "
                                       "a valid time, nor has the file a date; visits need times")
            lat, lon = np.array(self.untimed).mean(axis=0).tolist()
            yield Untimed(datetime.fromtimestamp(self.file_time, UTC), self.untimed_count, lat, lon,
                          self.untimed_metres, tuple(self.names))
            return
        yield from self.tally.errors()


def _checker(path: Path) -> expat.XMLParserType:
    """An expat parser with no per-element work: it only checks the XML is whole, and that the root is <gpx>."""
    parser = expat.ParserCreate()

    def root(name: str, _attrs: object) -> None:
        if name.rpartition(":")[2] != "gpx":
            raise ParseError(str(path), f"not a GPX file (its root element is <{name}>)",
                             f"line {parser.CurrentLineNumber}")
        parser.StartElementHandler = None

    def refuse(*_: object) -> None:
        raise ParseError(str(path), "declares XML entities, which a GPX never needs; refused",
                         f"line {parser.CurrentLineNumber}")

    parser.StartElementHandler, parser.EntityDeclHandler = root, refuse
    return parser


def read_gpx(path: Path) -> Iterator[Part]:
    """Points in chunks, timed waypoints as marked stays (untimed ones as named spots), then an untimed track
    or the tallies of bad points. Python callbacks per element would cap the rate near 80,000 points/s;
    one regex pass per 4 MB block runs near a million."""
    tally = Tally(str(path))
    track, checker = _Track(tally, Points(tally, "track point {}")), _checker(path)
    decoder, rest, skipped = codecs.getincrementaldecoder("utf-8")("replace"), "", 0
    try:
        with path.open("rb") as handle:
            data = handle.read(READ_BYTES)
            body = data.removeprefix(b"\xef\xbb\xbf")
            skipped = body[: len(body) - len(body.lstrip())].count(b"\n")  # blank lines before <?xml: expat refuses
            data = data[: len(data) - len(body)] + body.lstrip()
            while data:
                checker.Parse(data, False)
                text = rest + decoder.decode(data)
                end = text.rfind("pt>")  # blocks end after a whole point; the rest waits for more text
                cut = end + 3 if end >= 0 else (len(text) if len(text) > 16 * READ_BYTES else 0)
                rest = text[cut:]
                yield from track.block(text[:cut])
                data = handle.read(READ_BYTES)
            checker.Parse(b"", True)
    except expat.ExpatError as error:
        problem = expat.errors.messages.get(error.code, str(error))
        cut = problem in ("no element found", "unclosed token") or "unclosed" in problem
        raise ParseError(str(path), "the XML ends too soon: the file is cut off (truncated?)" if cut
                         else f"not valid XML ({problem})", f"line {error.lineno + skipped}, column {error.offset}"
                         ) from error
    except OSError as error:
        raise ParseError(str(path), f"cannot read: {error.strerror or error}") from error
    yield from track.block(rest + decoder.decode(b"", final=True))
    yield from track.leftovers(str(path))
