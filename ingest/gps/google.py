"""Google location history: Records.json, Semantic Location History, on-device Timeline and iOS exports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from ingest.gps.geo import metres
from ingest.gps.jsonitems import BAD_RECORD, items
from ingest.gps.points import CHUNK, NAN, Part, Points, Tally, parse_time
from ingest.gps.staypoints import Segment, thin

LABELS = {"HOME": "Home", "INFERRED_HOME": "Home", "TYPE_HOME": "Home", "WORK": "Work", "INFERRED_WORK": "Work",
          "TYPE_WORK": "Work"}


def _json_head(head: bytes) -> bytes:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")


def looks_like_records(head: bytes) -> bool:
    start = _json_head(head)
    return start.startswith(b"{") and b'"locations"' in start and b'"Feature"' not in start


def looks_like_semantic(head: bytes) -> bool:
    return _json_head(head).startswith(b"{") and b'"timelineObjects"' in head


def looks_like_timeline(head: bytes) -> bool:
    return _json_head(head).startswith(b"{") and (b'"semanticSegments"' in head or b'"rawSignals"' in head)


def looks_like_ios(head: bytes) -> bool:
    start = _json_head(head)
    return start.startswith(b"[") and b'"startTime"' in start and (
        b'"visit"' in start or b'"activity"' in start or b'"timelinePath"' in start)


def _e7(value: Any, limit: float) -> float:
    """Degrees from Google's E7 integers, undoing the int32 overflow some exports carry."""
    number = float(value)
    if number > limit * 1e7:
        number -= 2**32
    return number / 1e7


def latlng(value: Any) -> tuple[float, float]:
    """(lat, lon) from "geo:48.85,2.35", "48.85°, 2.35°", {"latLng": ...} or E7 fields; ValueError if none."""
    if isinstance(value, dict):
        for lat_key, lon_key in (("latitudeE7", "longitudeE7"), ("latE7", "lngE7"), ("centerLatE7", "centerLngE7")):
            if lat_key in value and lon_key in value:
                return _e7(value[lat_key], 90), _e7(value[lon_key], 180)
        found = value.get("latLng") or value.get("LatLng") or value.get("point")
        if found is None:
            raise ValueError("no coordinates")
        return latlng(found)
    if not isinstance(value, str):
        raise ValueError("no coordinates")
    lat, lon = value.strip().removeprefix("geo:").replace("°", "").split(",")
    return float(lat), float(lon)


def read_records(path: Path) -> Iterator[Part]:
    """Takeout `Records.json`: {"locations": [{latitudeE7, longitudeE7, accuracy, timestamp}, ...]}."""
    tally = Tally(str(path))
    points = Points(tally, "locations[{}]", e7=True)
    for n, record in items(path, "locations.item", tally):
        try:
            stamp = record.get("timestamp") or record.get("timestampMs")
            points.add(stamp, float(record["latitudeE7"]), float(record["longitudeE7"]),
                       float(record.get("accuracy") or NAN), n)
        except BAD_RECORD:
            tally.note("no usable time or coordinates", f"locations[{n}]")
        if not n % CHUNK and (chunk := points.take()):
            yield chunk
    if chunk := points.take(1):
        yield chunk
    yield from tally.errors()


def _path_move(start: float, end: float, path: list[tuple[float, float]], mode: str = "") -> Segment:
    length = sum(metres(*a, *b) for a, b in zip(path, path[1:], strict=False))
    lat, lon = zip(*path, strict=True)
    return Segment("move", start, end, path[0][0], path[0][1], len(path), length, mode=mode, path=thin(lat, lon))


def _visit(start: float, end: float, where: Any, kind: Any, name: Any = "") -> Segment:
    lat, lon = latlng(where)
    hint = name if isinstance(name, str) and name else LABELS.get(str(kind or "").upper(), "")
    return Segment("stay", start, end, lat, lon, 0, hint=hint)


def _segment(value: dict[str, Any]) -> Segment | None:
    """One entry of `semanticSegments` or of the iOS array: a visit, an activity or a path."""
    start, end = parse_time(value["startTime"]), parse_time(value["endTime"])
    if "visit" in value:
        top = value["visit"]["topCandidate"]
        return _visit(start, end, top["placeLocation"], top.get("semanticType"), top.get("name"))
    if "activity" in value:
        activity = value["activity"]
        lat, lon = latlng(activity["start"])
        mode = (activity.get("topCandidate") or {}).get("type") or ""
        return Segment("move", start, end, lat, lon, 0, float(activity.get("distanceMeters") or 0.0), mode=str(mode))
    if value.get("timelinePath"):
        path = [latlng(p["point"]) for p in value["timelinePath"]]
        return _path_move(start, end, path)
    return None  # timelineMemory and the like: summaries of trips, no places


def _timeline_object(value: dict[str, Any]) -> Segment | None:
    """One entry of Semantic Location History: a placeVisit or an activitySegment."""
    if "placeVisit" in value:
        visit = value["placeVisit"]
        span, where = visit["duration"], visit.get("location") or {}
        return _visit(parse_time(span.get("startTimestamp") or span.get("startTimestampMs")),
                      parse_time(span.get("endTimestamp") or span.get("endTimestampMs")),
                      where if where.keys() & {"latitudeE7", "latLng"} else visit, where.get("semanticType"),
                      where.get("name"))
    if "activitySegment" in value:
        activity = value["activitySegment"]
        span = activity["duration"]
        start = parse_time(span.get("startTimestamp") or span.get("startTimestampMs"))
        end = parse_time(span.get("endTimestamp") or span.get("endTimestampMs"))
        waypoints = (activity.get("waypointPath") or {}).get("waypoints") or []
        path = [latlng(w) for w in waypoints] or [latlng(activity["startLocation"])]
        way = activity.get("waypointPath") or {}
        move = _path_move(start, end, path, str(activity.get("activityType") or way.get("travelMode") or ""))
        length = activity.get("distance") or way.get("distanceMeters")
        return replace(move, metres=float(length or move.metres))
    return None


def _segments(path: Path, prefix: str, convert: Callable[[Any], Segment | None], tally: Tally) -> Iterator[Segment]:
    label = prefix.removesuffix(".item") or "item"
    for n, value in items(path, prefix, tally):
        try:
            segment = convert(value)
        except BAD_RECORD:
            tally.note("an entry without usable times or coordinates", f"{label}[{n}]")
            continue
        if segment is not None:
            yield segment


def read_semantic(path: Path) -> Iterator[Part]:
    """Semantic Location History: {"timelineObjects": [{placeVisit} | {activitySegment}, ...]}."""
    tally = Tally(str(path))
    yield from _segments(path, "timelineObjects.item", _timeline_object, tally)
    yield from tally.errors()


def _place(value: dict[str, Any]) -> Segment | None:
    hint = LABELS.get(str(value.get("label") or "").upper(), "")
    if not hint:
        return None
    lat, lon = latlng(value["placeLocation"])
    return Segment("place", 0.0, 0.0, lat, lon, hint=hint)


def read_timeline(path: Path) -> Iterator[Part]:
    """The on-device Timeline export: semanticSegments, rawSignals positions, and the labelled frequent places."""
    tally = Tally(str(path))
    yield from _segments(path, "semanticSegments.item", _segment, tally)
    points = Points(tally, "rawSignals[{}]")
    for n, signal in items(path, "rawSignals.item", tally):
        position = signal.get("position") if isinstance(signal, dict) else None
        if position is None:
            continue  # wifi scans and activity records hold no position
        try:
            lat, lon = latlng(position)
            points.add(position["timestamp"], lat, lon, float(position.get("accuracyMeters") or NAN), n)
        except BAD_RECORD:
            tally.note("a position without usable time or coordinates", f"rawSignals[{n}]")
        if chunk := points.take():
            yield chunk
    if chunk := points.take(1):
        yield chunk
    yield from _segments(path, "userLocationProfile.frequentPlaces.item", _place, tally)
    yield from tally.errors()


def read_ios(path: Path) -> Iterator[Part]:
    """The iOS export: a top-level array of visits, activities and timeline paths."""
    tally = Tally(str(path))
    yield from _segments(path, "item", _ios_segment, tally)
    yield from tally.errors()


def _ios_segment(value: dict[str, Any]) -> Segment | None:
    if value.get("timelinePath") and "visit" not in value and "activity" not in value:
        start = parse_time(value["startTime"])
        path = [latlng(p["point"]) for p in value["timelinePath"]]
        offsets = [float(p.get("durationMinutesOffsetFromStartTime") or 0) * 60 for p in value["timelinePath"]]
        return _path_move(start + min(offsets), start + max(offsets), path)
    return _segment(value)
