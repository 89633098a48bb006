"""Days of stays and moves as Items: one record per visit and one summary per day ("home until 08:40, ...")."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta

from ingest.gps.days import Day, end_of, start_of
from ingest.gps.geo import local, town
from ingest.gps.points import Untimed
from ingest.gps.staypoints import Segment
from ingest.items import Item

Labeler = Callable[[Segment], str]  # the name a stay's place goes by ("" for the default)
PRIVATE = "private"  # where someone lives and goes: guests see it only if allowed


@dataclass(frozen=True)
class DayItem(Item):
    """An item of a day of visits; it carries the day, so the app can render it again with the names it knows."""

    day: Day | None = field(default=None, compare=False, repr=False)


def short_date(moment: datetime) -> str:
    return f"{moment:%a} {moment.day} {moment:%b} {moment.year}"


def long_date(moment: datetime) -> str:
    return f"{moment:%A} {moment.day} {moment:%B} {moment.year}"


def distance(metres: float) -> str:
    return f"{metres / 1000:.1f} km" if metres >= 1000 else f"{metres:.0f} m"


def duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    days, hours, minutes = minutes // 1440, minutes // 60 % 24, minutes % 60
    return " ".join(part for part in (f"{days} d" if days else "", f"{hours} h" if hours else "",
                                      f"{minutes} min" if minutes else "") if part)


def near(segment: Segment) -> str:
    found = town(segment.lat, segment.lon)
    return f"near {found}" if found else f"at {segment.lat:.4f}, {segment.lon:.4f}"


def place_name(segment: Segment, label: Labeler | None = None) -> str:
    """User's name > home/work > a name from the file > the nearest town."""
    return (label(segment) if label else "") or segment.hint or near(segment)


def _span(segment: Segment) -> str:
    start, end, length = start_of(segment), end_of(segment), duration(segment.end - segment.start)
    if segment.end <= segment.start:
        return f"{short_date(start)} at {start:%H:%M}"
    if start.date() == end.date():
        return f"{short_date(start)}, {start:%H:%M}–{end:%H:%M} ({length})"
    return f"{short_date(start)} {start:%H:%M} – {short_date(end)} {end:%H:%M} ({length})"


def _when(day: Day, segment: Segment) -> str:
    start, end = start_of(segment), end_of(segment)
    before, after = start.date() < day.date, end.date() > day.date
    if before and after:
        return "all day"
    if before:
        return f"until {end:%H:%M}"
    if after:
        return f"from {start:%H:%M}"
    return f"at {start:%H:%M}" if segment.end <= segment.start else f"{start:%H:%M}–{end:%H:%M}"


def _travel(moves: Sequence[Segment]) -> str:
    total = sum(m.metres for m in moves)
    if total < 100:
        return ""
    modes: dict[str, float] = {}
    for move in moves:
        if move.mode:
            modes[move.mode] = modes.get(move.mode, 0.0) + move.metres
    detail = ", ".join(f"{mode.lower().replace('_', ' ')} {distance(m)}" for mode, m in modes.items() if m >= 100)
    return f"Travelled {distance(total)}" + (f" ({detail})" if detail else "") + "."


def visit_item(origin: str, source: str, segment: Segment, name: str, day: Day) -> DayItem:
    found = town(segment.lat, segment.lon)
    text = (f"{name}: {_span(segment)}. At {segment.lat:.5f}, {segment.lon:.5f}"
            + (f", near {found}." if found else "."))
    return DayItem(text=text, time=start_of(segment), source=source, source_id=f"visit-{segment.start:.0f}",
                   kind="visit", origin=origin, title=f"Visit: {name}", place=name, sensitivity=PRIVATE, day=day)


def day_items(base: str, day: Day, source: str, label: Labeler | None = None) -> list[DayItem]:
    """The visit records that start on `day`, then the day's summary; the origin is `base#YYYY-MM-DD`."""
    origin = f"{base}#{day.date.isoformat()}"
    stays = [s for s in day.segments if s.kind == "stay"]
    moves = [s for s in day.segments if s.kind == "move" and day.starts(s)]
    names = {id(s): place_name(s, label) for s in stays}
    items: list[DayItem] = []
    for segment in stays:
        if day.starts(segment):
            item = visit_item(origin, source, segment, names[id(segment)], day)
            if any(i.source_id == item.source_id for i in items):
                item = replace(item, source_id=f"{item.source_id}-{len(items)}")
            items.append(item)
    midnight = datetime.combine(day.date, time(), start_of(day.segments[0]).tzinfo)
    parts = [f"{names[id(s)]} {_when(day, s)}" for s in stays]
    if not stays and moves:
        began, ended = start_of(moves[0]), end_of(moves[-1])
        parts.append(f"on the move {began:%H:%M}–{ended:%H:%M}" if ended > began else f"located at {began:%H:%M}")
    named = " ".join(names.values())  # towns the stays' names do not already say
    towns = list(dict.fromkeys(t for t in (town(s.lat, s.lon) for s in stays or moves) if t and t not in named))
    text = f"{long_date(midnight)}: {', '.join(parts) or 'no stays found'}."
    text += " " + " ".join(part for part in (_travel(moves), f"Around {'; '.join(towns)}." if towns else "") if part)
    first = max(midnight, start_of(day.segments[0]))
    items.append(DayItem(text=text.strip(), time=min(first, midnight + timedelta(hours=23, minutes=59)),
                         source=source, source_id="day", kind="day", origin=origin,
                         title=f"Where I was on {long_date(midnight)}", place="; ".join(dict.fromkeys(names.values())),
                         sensitivity=PRIVATE, day=day))
    return items


def untimed_item(base: str, source: str, track: Untimed) -> Item:
    """A track without usable times: one record saying where it went, dated by the file."""
    spot = Segment("move", 0.0, 0.0, track.lat, track.lon)
    marked = f" Marked: {', '.join(track.names)}." if track.names else ""
    moment = local(track.time.timestamp(), track.lat, track.lon)
    text = (f"A GPS track without usable times ({track.points} points, {distance(track.metres)}), "
            f"{near(spot)} ({track.lat:.4f}, {track.lon:.4f}); the file is dated {short_date(moment)}.{marked}")
    return Item(text=text, time=moment, source=source, source_id="track", kind="track", origin=f"{base}#track",
                title=f"GPS track {near(spot)}", place=near(spot).removeprefix("near "), sensitivity=PRIVATE)
