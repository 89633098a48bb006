"""Phone trackers: OwnTracks `.rec` files (one "time topic {json}" line per message) and Overland GeoJSON batches."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ingest.gps.jsonitems import BAD_RECORD, items
from ingest.gps.points import CHUNK, NAN, Part, Points, Tally
from ingest.gps.staypoints import Segment
from ingest.items import ParseError
from ingest.jsonlimits import TOO_DEEP, too_deep
from ingest.textfile import bounded_lines, size_text

READ_BYTES = 1 << 22
MAX_LINE_BYTES = 1 << 20  # one message is some hundred bytes
_REC_LINE = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ?\s+\S+\s+\{")


def looks_like_owntracks(head: bytes) -> bool:
    first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0]
    return bool(_REC_LINE.match(first))


def looks_like_overland(head: bytes) -> bool:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return start.startswith(b"{") and b'"locations"' in start and b'"Feature"' in start


def _messages(lines: list[bytes]) -> list | None:
    """The JSON messages of a block of lines in one json.loads call; None if any line is odd (blank, no JSON...)."""
    try:
        return json.loads(b"[" + b",".join(line[line.index(b"{"):] for line in lines) + b"]")
    except (ValueError, RecursionError):
        return None


def _message(line: bytes) -> object:
    brace = line.find(b"{")
    if brace < 0:
        raise ValueError("no JSON message")
    if too_deep(line):
        raise _TooDeep
    return json.loads(line[brace:])


class _TooDeep(ValueError):
    """A line whose JSON nests deeper than MAX_DEPTH: not parsed."""


def _blocks(handle: BinaryIO, tally: Tally) -> Iterator[list[tuple[int, bytes]]]:
    """Numbered lines in blocks of about READ_BYTES; a line over MAX_LINE_BYTES goes to the tally unread."""
    block, size = [], 0
    for number, line in bounded_lines(handle, MAX_LINE_BYTES):
        if line is None:
            tally.note(f"a line longer than {size_text(MAX_LINE_BYTES)}", f"line {number}")
            continue
        block.append((number, line))
        size += len(line)
        if size >= READ_BYTES:
            yield block
            block, size = [], 0
    if block:
        yield block


def read_owntracks(path: Path) -> Iterator[Part]:
    """Location messages as points; waypoint (region) messages as named spots; others skipped.
    Lines go to json.loads a block at a time; a block with an odd line is read line by line."""
    tally = Tally(str(path))
    points = Points(tally, "line {}")
    try:
        handle = path.open("rb")
    except OSError as error:
        raise ParseError(str(path), f"cannot read: {error.strerror or error}") from error
    with handle:
        try:
            for block in _blocks(handle, tally):
                messages = _messages([line for _, line in block])
                for i, (number, line) in enumerate(block):
                    try:
                        message = messages[i] if messages is not None else _message(line)
                        kind = message.get("_type")
                        if kind == "location":
                            points.add(message["tst"], float(message["lat"]), float(message["lon"]),
                                       float(message.get("acc") or NAN), number)
                        elif kind == "waypoint" and message.get("desc"):
                            yield Segment("place", 0.0, 0.0, float(message["lat"]), float(message["lon"]),
                                          hint=str(message["desc"]))
                    except _TooDeep:
                        tally.note(f"JSON {TOO_DEEP}", f"line {number}")
                    except (*BAD_RECORD, RecursionError):
                        if line.strip():
                            tally.note("not an OwnTracks message with a time and coordinates", f"line {number}")
                if chunk := points.take():
                    yield chunk
        except OSError as error:
            raise ParseError(str(path), f"cannot read: {error.strerror or error}") from error
    if chunk := points.take(1):
        yield chunk
    yield from tally.errors()


def read_overland(path: Path) -> Iterator[Part]:
    """{"locations": [GeoJSON Point features with properties.timestamp]}; features without a position are skipped."""
    tally = Tally(str(path))
    points = Points(tally, "locations[{}]")
    for n, feature in items(path, "locations.item", tally):
        try:
            geometry = feature.get("geometry")
            if not geometry:
                continue  # app events (will_terminate...) carry no position
            lon, lat = geometry["coordinates"][:2]
            props = feature.get("properties") or {}
            points.add(props["timestamp"], float(lat), float(lon), float(props.get("horizontal_accuracy") or NAN), n)
        except BAD_RECORD:
            tally.note("a feature without usable time or coordinates", f"locations[{n}]")
        if not n % CHUNK and (chunk := points.take()):
            yield chunk
    if chunk := points.take(1):
        yield chunk
    yield from tally.errors()
