"""Location history: GPX, Google Takeout and Timeline exports, OwnTracks and Overland, read into visits and days."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

from ingest.gps.google import (
    looks_like_ios,
    looks_like_records,
    looks_like_semantic,
    looks_like_timeline,
    read_ios,
    read_records,
    read_semantic,
    read_timeline,
)
from ingest.gps.gpx import looks_like_gpx, read_gpx
from ingest.gps.phone import looks_like_overland, looks_like_owntracks, read_overland, read_owntracks
from ingest.gps.pipeline import Reader, parse_location
from ingest.items import Item, ParseError

Sniff = Callable[[Path, bytes], bool]
Parse = Callable[[Path], Iterator[Item | ParseError]]

READERS: dict[str, tuple[Callable[[bytes], bool], Reader]] = {
    "gpx": (looks_like_gpx, Reader("gpx", read_gpx)),
    "google-records": (looks_like_records, Reader("google-location", read_records)),
    "google-semantic": (looks_like_semantic, Reader("google-location", read_semantic, ordered=False)),
    "google-timeline": (looks_like_timeline, Reader("google-location", read_timeline, ordered=False)),
    "google-ios": (looks_like_ios, Reader("google-location", read_ios, ordered=False)),
    "overland": (looks_like_overland, Reader("overland", read_overland)),
    "owntracks": (looks_like_owntracks, Reader("owntracks", read_owntracks)),
}


def _sniff(looks: Callable[[bytes], bool], path: Path, head: bytes) -> bool:
    return looks(head)


# (name, sniff, parse) of each location format, for ingest.formats to register.
GPS_FORMATS: list[tuple[str, Sniff, Parse]] = [
    (name, partial(_sniff, looks), partial(parse_location, reader=reader))
    for name, (looks, reader) in READERS.items()
]
