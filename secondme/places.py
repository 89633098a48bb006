"""Places: visits clustered into places, home and work inferred from when they are visited, names the user gives."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from ingest.gps.days import Day, end_of, start_of
from ingest.gps.geo import EARTH_M, town
from ingest.gps.staypoints import Segment
from ingest.gps.visits import DayItem, Labeler, day_items
from ingest.items import Item
from secondme.errors import SecondMeError

RADIUS_M = 150.0  # a stay this close to a known place is a visit to it
ROLES = {"home": "Home", "work": "Work"}
MIN_DAYS = 2  # home and work need at least this many distinct nights / weekdays
PROFILE_PLACES = 5  # places the profile names: home, work, named places and regular ones, most visited first
REGULAR = 3  # visits that make an unnamed place one the profile names


@dataclass(frozen=True)
class Place:
    """A place visits were made to; `label` is what records call it ("" leaves it to the file or the town)."""

    id: int
    lat: float
    lon: float
    name: str = ""
    role: str = ""  # "home", "work" or ""
    visits: int = 0
    last: datetime | None = None

    @property
    def label(self) -> str:
        return self.name or ROLES.get(self.role, "")


def _key(stay: Segment) -> str:
    return f"{stay.start:.0f}:{stay.lat:.6f}:{stay.lon:.6f}"


class _Roles:
    """Hours each place was visited at night (0–6) and on weekdays (9–17): home is the place of most
    night hours, work another of most weekday hours, each over at least MIN_DAYS distinct days."""

    WINDOWS = {"home": (0, 6), "work": (9, 17)}

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.hours: dict[str, dict[int, float]] = {role: defaultdict(float) for role in self.WINDOWS}
        self.days: dict[str, dict[int, set]] = {role: defaultdict(set) for role in self.WINDOWS}

    def add(self, stay: Segment, pid: int) -> None:
        if _key(stay) in self.seen:
            return
        self.seen.add(_key(stay))
        start, end = start_of(stay), end_of(stay)
        day = start.replace(hour=0, minute=0, second=0, microsecond=0)
        while day < end and day < start + timedelta(days=62):
            for role, (a, b) in self.WINDOWS.items():
                overlap = min(end, day + timedelta(hours=b)) - max(start, day + timedelta(hours=a))
                if overlap >= timedelta(hours=1) and (role == "home" or day.weekday() < 5):
                    self.hours[role][pid] += overlap.total_seconds() / 3600
                    self.days[role][pid].add(day.date())
            day += timedelta(days=1)

    def chosen(self) -> dict[int, str]:
        """{place id: role} for home and work."""
        out: dict[int, str] = {}
        for role in self.WINDOWS:
            fit = [(h, pid) for pid, h in self.hours[role].items() if len(self.days[role][pid]) >= MIN_DAYS
                   and pid not in out]
            if fit:
                out[max(fit)[1]] = role
        return out


class Places:
    """The places table beside a MemoryStore, and the rendering of days of visits with its labels.

    Ingest hands each day of visits through `tag`, which files every stay under a place and renders
    the day's records with the place's label (the user's name > home/work > the file's name for it >
    the nearest town). `refresh` re-infers home and work and re-renders the stored days whose labels
    changed; naming a place does the same. Coordinates and names are encrypted at rest."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._places: dict[int, Place] | None = None
        self._assigned: dict[str, int] = {}
        self._index: tuple[np.ndarray, np.ndarray, list[int]] | None = None  # places' coordinates, for _nearest
        self._roles: _Roles | None = None
        self._current: tuple[str, dict[str, Item]] = ("", {})
        self.touched = False

    # --- the places themselves -------------------------------------------------------------
    def _seal(self, value: dict[str, Any]) -> bytes:
        return self.store.cipher.encrypt(json.dumps(value, ensure_ascii=False))

    def _open(self, blob: bytes) -> dict[str, Any]:
        return json.loads(self.store.cipher.decrypt(blob))

    def places(self) -> dict[int, Place]:
        if self._places is None:
            self._places = {pid: Place(pid, **self._open(blob)) for pid, blob in self.store.query(
                "SELECT id, payload FROM places ORDER BY id")}
        return self._places

    def _save(self, place: Place) -> None:
        payload = self._seal({"lat": place.lat, "lon": place.lon, "name": place.name, "role": place.role})
        self.store.write("UPDATE places SET payload = ? WHERE id = ?", (payload, place.id))
        self.places()[place.id] = place

    def _nearest(self, stay: Segment) -> tuple[float, int]:
        """(metres, id) of the known place nearest a stay; (inf, 0) if none."""
        if self._index is None:
            known = list(self.places().values())
            self._index = (np.array([p.lat for p in known]), np.array([p.lon for p in known]), [p.id for p in known])
        lat, lon, ids = self._index
        if not ids:
            return math.inf, 0
        lat1, lat2 = np.radians(lat), math.radians(stay.lat)
        a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * math.cos(lat2) * np.sin(np.radians(stay.lon - lon) / 2) ** 2
        distance = 2 * EARTH_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))
        best = int(np.argmin(distance))
        return float(distance[best]), ids[best]

    def _place_for(self, stay: Segment) -> int:
        """The place a stay was a visit to: the nearest within RADIUS_M, or a new one at the stay's centre."""
        key = _key(stay)
        if key not in self._assigned:
            gap, pid = self._nearest(stay)
            if gap > RADIUS_M:
                blob = self._seal({"lat": stay.lat, "lon": stay.lon, "name": "", "role": ""})
                self.store.write("INSERT INTO places (payload, created_at) VALUES (?, ?)",
                                 (blob, datetime.now(UTC).isoformat()))
                pid = self.store.query("SELECT max(id) FROM places")[0][0]
                self.places()[pid] = Place(pid, stay.lat, stay.lon)
                self._index = None
            self._assigned[key] = pid
        return self._assigned[key]

    # --- rendering days ----------------------------------------------------------------------
    def _render(self, origin: str, source: str, day: Day, ids: dict[str, int]) -> list[DayItem]:
        return day_items(origin.rpartition("#")[0], day, source, _labeler(self.places(), ids))

    def _signature(self, ids: dict[str, int]) -> str:
        labels = sorted({(pid, self.places()[pid].label) for pid in ids.values()})
        return self.store.cipher.keyed_hash(json.dumps(labels, ensure_ascii=False))

    def _remember(self, origin: str) -> None:
        """Stays of a day stored before keep their places, so a re-ingest renders them the same."""
        for (blob,) in self.store.query("SELECT payload FROM place_days WHERE origin = ?",
                                        (self.store.origin_key(origin),)):
            for key, pid in self._open(blob)["places"].items():
                if pid in self.places():
                    self._assigned.setdefault(key, pid)

    def tag(self, item: Item) -> Item:
        """Ingest's hook: a day-of-visits item comes back rendered with place labels; any other item as it is."""
        if not isinstance(item, DayItem) or item.day is None:
            return item
        origin = item.origin
        if self._current[0] != origin:
            self.touched = True
            self._remember(origin)
            ids = {_key(s): self._place_for(s) for s in item.day.segments if s.kind == "stay"}
            if self._roles is None:  # what earlier ingests stored, once; then each new day as it comes
                self._roles = self._roles_from([("", self._open(blob), "") for (blob,) in self.store.query(
                    "SELECT payload FROM place_days")])
            for stay in item.day.segments:
                if stay.kind == "stay":
                    self._roles.add(stay, ids[_key(stay)])
            self._apply_roles()  # so most days are rendered with home and work already known
            rendered = self._render(origin, item.source, item.day, ids)
            row = self._seal({"source": item.source, "day": item.day.to_json(), "places": ids, "origin": origin})
            self.store.write("INSERT OR REPLACE INTO place_days (origin, payload, signature) VALUES (?, ?, ?)",
                             (self.store.origin_key(origin), row, self._signature(ids)))
            self._current = (origin, {i.source_id: i for i in rendered})
        return self._current[1].get(item.source_id, item)

    # --- home, work, and keeping records up to date ------------------------------------------
    def _days(self) -> list[tuple[str, dict[str, Any], str]]:
        """Every stored day of visits (origin, its row, signature), after dropping days whose records are gone.
        The origin column holds keyed origins; the clear origin is in the row."""
        rows = self.store.query("SELECT origin, payload, signature FROM place_days")
        live = {o for (o,) in self.store.query(
            "SELECT DISTINCT origin FROM records WHERE origin IN (SELECT origin FROM place_days)")}
        for key, _, _ in rows:
            if key not in live:
                self.store.write("DELETE FROM place_days WHERE origin = ?", (key,))
        opened = [(self._open(blob), signature) for key, blob, signature in rows if key in live]
        return sorted(((row["origin"], row, signature) for row, signature in opened), key=lambda day: day[0])

    def _roles_from(self, days: list[tuple[str, dict[str, Any], str]]) -> _Roles:
        roles = _Roles()
        for _, row, _ in days:
            for stay in Day.from_json(row["day"]).segments:
                if _key(stay) in row["places"]:
                    roles.add(stay, int(row["places"][_key(stay)]))
        return roles

    def _apply_roles(self) -> None:
        """Give home and work to the places the visits so far point to (and take them from the others)."""
        chosen = self._roles.chosen() if self._roles else {}
        for place in list(self.places().values()):
            if chosen.get(place.id, "") != place.role:
                self._save(replace(place, role=chosen.get(place.id, "")))

    def refresh(self, force: bool = False) -> int:
        """After an ingest (or a new name): infer home and work again and re-render the stored days whose
        labels changed. The number of days re-rendered."""
        if not (self.touched or force):
            return 0
        from secondme.ingestion import to_record

        days = self._days()
        self._roles = self._roles_from(days)
        self._apply_roles()
        changed = 0
        for origin, row, signature in days:
            ids = {k: int(v) for k, v in row["places"].items() if int(v) in self.places()}
            if self._signature(ids) == signature:
                continue
            items = self._render(origin, row["source"], Day.from_json(row["day"]), ids)
            self.store.replace_origin(origin, [to_record(i) for i in items])
            self.store.write("UPDATE place_days SET signature = ? WHERE origin = ?",
                             (self._signature(ids), self.store.origin_key(origin)))
            changed += 1
        self.touched = False
        return changed

    def days_on(self, on: date) -> list[tuple[Day, Labeler]]:
        """The stored days of visits of a local date (one per file), each with the labels of its stays' places."""
        rows = self.store.query("SELECT payload FROM place_days WHERE origin LIKE ?",
                                (self.store.part_pattern(on.isoformat()),))
        places, out = self.places(), []
        for (blob,) in rows:
            row = self._open(blob)
            ids = {key: int(pid) for key, pid in row["places"].items()}
            out.append((Day.from_json(row["day"]), _labeler(places, ids)))
        return out

    # --- what the CLI shows and changes ------------------------------------------------------
    def listing(self) -> list[Place]:
        """Places with at least one visit, most visited first, with their visit counts and last visits."""
        counts: dict[int, int] = defaultdict(int)
        last: dict[int, float] = {}
        for _, row, _ in self._days():
            day = Day.from_json(row["day"])
            for stay in day.segments:
                pid = row["places"].get(_key(stay))
                if pid is not None and day.starts(stay):
                    counts[pid] += 1
                    last[pid] = max(last.get(pid, 0.0), stay.start)
        found = [replace(p, visits=counts[p.id], last=datetime.fromtimestamp(last[p.id], UTC))
                 for p in self.places().values() if counts.get(p.id)]
        return sorted(found, key=lambda p: (-p.visits, p.id))

    def profile_lines(self) -> list[str]:
        """The profile's places from location history: home, work, the places the user named and those
        visited REGULAR times or more, most visited first, each with its nearest town and last visit."""
        lines = []
        for place in self.listing():
            near = town(place.lat, place.lon)
            if (place.label or place.visits >= REGULAR) and (place.label or near):
                where = f"{place.label or 'A place'}{f' near {near}' if near else ''}"
                visits = f"{place.visits} visit{'s' * (place.visits != 1)}"
                lines.append(f"{where}: {visits}, last on {place.last:%Y-%m-%d}")
        return lines[:PROFILE_PLACES]

    def name(self, place_id: int, name: str) -> Place:
        """Give a place a name ("" takes it away); the records of its visits are rendered again."""
        place = self.places().get(place_id)
        if place is None:
            raise SecondMeError(f"no place with id {place_id} (see `secondme places`)")
        self._save(replace(place, name=" ".join(name.split())))
        self.refresh(force=True)
        return self.places()[place_id]


def _labeler(places: dict[int, Place], ids: dict[str, int]) -> Labeler:
    """The label a stay's place goes by ("" if it has none or is unknown)."""
    return lambda stay: places[ids[_key(stay)]].label if ids.get(_key(stay)) in places else ""


def describe(place: Place) -> str:
    """One line for a place: its label (or the nearest town), role and coordinates."""
    near = town(place.lat, place.lon)
    label = place.label or (f"near {near}" if near else "(unnamed)")
    role = f" [{place.role}]" if place.role else ""
    return f"{label}{role} at {place.lat:.5f}, {place.lon:.5f}" + (f", near {near}" if near and place.label else "")
