"""Benchmark: GPS parse + stay-point detection on a generated 1,000,000-point multi-week track.

A made-up life in Ljubljana (home at night, office on weekdays, gym, café; GPS drift, spikes and
phone-off nights) is written as GPX, Google Takeout Records.json and OwnTracks .rec, and each is
parsed end to end (points -> stays -> day records; goal >= 200,000 points/s). Baselines in the same
run: the classic pure-Python stay-point loop (Li et al. 2008) against the numpy detector on the same
points, and peak memory (a fresh process per file) at half and at full size, which should not grow
for these streamed formats (detection works in windows of 131,072 points). Run: python bench/gps.py [--quick].
The generator and writers are also used by tests/test_ingest_gps.py.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from ingest.gps import READERS
from ingest.gps.geo import metres, town, zone_at
from ingest.gps.pipeline import parse_location
from ingest.gps.staypoints import Detector, Merger, Segment

PLACES = {  # Ljubljana
    "home": (46.0500, 14.5000),
    "office": (46.0600, 14.5200),
    "gym": (46.0440, 14.4860),
    "cafe": (46.0530, 14.5060),
}
M_PER_DEG = 111_195.0


@dataclass(frozen=True)
class Track:
    """Points (UTC epoch seconds, degrees) and the true stays: (place, start, end)."""

    t: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    stays: list[tuple[str, float, float]]


def _plan(day: datetime) -> list[tuple[str, float, float]]:
    """(place, local start hour, local end hour) of one day, in order."""
    if day.weekday() < 5:
        plan = [("home", 0, 8.0), ("office", 8.5, 17.5)]
        plan += [("gym", 18.0, 19.5), ("home", 20.0, 24)] if day.weekday() in (1, 3) else [("home", 18.0, 24)]
        return plan
    if day.weekday() == 5:
        return [("home", 0, 10.5), ("cafe", 11.0, 12.5), ("home", 13.0, 24)]
    return [("home", 0, 24)]


def life(days: int = 14, still_every: float = 30.0, move_every: float = 5.0, drift_m: float = 12.0,
         seed: int = 7, start: datetime = datetime(2022, 5, 2, tzinfo=UTC), night_gaps: bool = True) -> Track:
    """A track of `days` days from a Monday (times in UTC, Ljubljana is UTC+2 in summer). With `night_gaps` the
    phone is off from 00:30 to 06:00 every other night; 1% of still fixes jump 300 m (drift)."""
    rng = np.random.default_rng(seed)
    legs: list[tuple[str, float, float]] = []
    for n in range(days):
        midnight = (start + timedelta(days=n)).timestamp() - 2 * 3600
        legs += [(p, midnight + a * 3600, midnight + b * 3600) for p, a, b in _plan(start + timedelta(days=n))]
    merged: list[tuple[str, float, float]] = []
    for place, a, b in legs:
        if merged and merged[-1][0] == place and merged[-1][2] == a:
            merged[-1] = (place, merged[-1][1], b)
        else:
            if merged:  # travel from the last place at walking pace, or by car beyond 1.5 km
                gone = metres(*PLACES[merged[-1][0]], *PLACES[place])
                a = merged[-1][2] + gone / (1.4 if gone < 1500 else 8.0)
            merged.append((place, a, b))
    ts, lats, lons = [], [], []
    for i, (place, a, b) in enumerate(merged):
        t = np.arange(a, b, still_every)
        if night_gaps and place == "home":
            hour = ((t + 2 * 3600) % 86400) / 3600
            night = ((t + 2 * 3600) // 86400) % 2 == 0
            t = t[~(night & (hour > 0.5) & (hour < 6.0))]
        lat0, lon0 = PLACES[place]
        jitter = rng.normal(0, drift_m, (2, len(t)))
        jitter[:, rng.random(len(t)) < 0.01] += 300.0
        ts.append(t)
        lats.append(lat0 + jitter[0] / M_PER_DEG)
        lons.append(lon0 + jitter[1] / (M_PER_DEG * np.cos(np.radians(lat0))))
        if i + 1 < len(merged):
            target, c = merged[i + 1][0], merged[i + 1][1]
            move = np.arange(b, c, move_every)
            f = (move - b) / max(c - b, 1.0)
            (a_lat, a_lon), (b_lat, b_lon) = PLACES[place], PLACES[target]
            ts.append(move)
            lats.append(a_lat + f * (b_lat - a_lat) + rng.normal(0, 5, len(move)) / M_PER_DEG)
            lons.append(a_lon + f * (b_lon - a_lon) + rng.normal(0, 5, len(move)) / M_PER_DEG)
    return Track(np.concatenate(ts), np.concatenate(lats), np.concatenate(lons), merged)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_gpx(path: Path, track: Track) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="secondme synthetic" '
                  'xmlns="http://www.topografix.com/GPX/1/1">\n<trk><name>life</name><trkseg>\n')
        for t, lat, lon in zip(track.t.tolist(), track.lat.tolist(), track.lon.tolist(), strict=True):
            out.write(f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}"><ele>300.0</ele><time>{_iso(t)}</time></trkpt>\n')
        out.write("</trkseg></trk>\n</gpx>\n")


def write_records(path: Path, track: Track) -> None:
    """As a Google Takeout Records.json."""
    with path.open("w", encoding="utf-8") as out:
        out.write('{\n  "locations": [')
        for n, (t, lat, lon) in enumerate(zip(track.t.tolist(), track.lat.tolist(), track.lon.tolist(), strict=True)):
            row = {"latitudeE7": round(lat * 1e7), "longitudeE7": round(lon * 1e7), "accuracy": 12,
                   "source": "WIFI", "timestamp": _iso(t)}
            out.write(("," if n else "") + "\n    " + json.dumps(row))
        out.write("\n  ]\n}\n")


def write_owntracks(path: Path, track: Track) -> None:
    with path.open("w", encoding="utf-8") as out:
        for t, lat, lon in zip(track.t.tolist(), track.lat.tolist(), track.lon.tolist(), strict=True):
            row = {"_type": "location", "acc": 12, "lat": round(lat, 7), "lon": round(lon, 7), "tst": int(t),
                   "tid": "me", "topic": "owntracks/me/phone"}
            out.write(f"{_iso(t)}\t*                 \t{json.dumps(row)}\n")


def first_points(track: Track, n: int) -> Track:
    """The track's first n points (and the stays that begin before its end)."""
    end = float(track.t[min(n, len(track.t)) - 1])
    return Track(track.t[:n], track.lat[:n], track.lon[:n], [s for s in track.stays if s[1] <= end])


# --- the pure-Python baseline ---------------------------------------------------------------


def python_staypoints(t: list[float], lat: list[float], lon: list[float], radius_m: float = 100.0,
                      dwell_s: float = 600.0) -> list[tuple[float, float, float, float]]:
    """The classic loop (Li et al. 2008): from each point, extend while within the radius of it;
    a run that lasts the dwell time is a stay (start, end, lat, lon)."""
    stays, i, n = [], 0, len(t)
    while i < n:
        j = i + 1
        while j < n and metres(lat[i], lon[i], lat[j], lon[j]) <= radius_m:
            j += 1
        if t[j - 1] - t[i] >= dwell_s:
            stays.append((t[i], t[j - 1], sum(lat[i:j]) / (j - i), sum(lon[i:j]) / (j - i)))
            i = j
        else:
            i += 1
    return stays


def segments_of(track: Track, window: int = 1 << 17, chunk: int = 1 << 16) -> list[Segment]:
    """Stays and moves by the detector ingest uses, fed in chunks as a reader would."""
    detector, merger, out = Detector(window=window), Merger(), []
    for start in range(0, len(track.t), chunk):
        t, lat, lon = (column[start : start + chunk] for column in (track.t, track.lat, track.lon))
        for segment in detector.feed(t, lat, lon, np.full(len(t), np.nan)):
            out += merger.add(segment)
    for segment in detector.close():
        out += merger.add(segment)
    return out + merger.close()


# --- measuring --------------------------------------------------------------------------------

FORMATS = {"gpx": ("life.gpx", write_gpx), "google-records": ("Records.json", write_records),
           "owntracks": ("life.rec", write_owntracks)}


def peak_mib() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss it starts afresh at exec)."""
    try:
        status = Path("/proc/self/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _parse_in_child(path: str, fmt: str, queue: multiprocessing.Queue) -> None:
    town(46.05, 14.5), zone_at(46.05, 14.5)  # load the gazetteer and time zones first: not part of parsing
    before = peak_mib()
    began = time.perf_counter()
    records = sum(1 for _ in parse_location(Path(path), READERS[fmt][1]))
    seconds = time.perf_counter() - began
    queue.put((seconds, records, before, peak_mib()))


def parse_run(path: Path, fmt: str) -> tuple[float, int, float, float]:
    """(seconds, records, peak MiB before parsing, peak MiB after) of parsing `path` in a fresh process."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_parse_in_child, args=(str(path), fmt, queue))
    child.start()
    seconds, records, before, after = queue.get()
    child.join()
    return seconds, records, before, after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200,000 points (CI size)")
    parser.add_argument("--points", type=int, default=1_000_000)
    args = parser.parse_args()
    n = 200_000 if args.quick else args.points
    track = first_points(life(days=28, still_every=2.0, move_every=1.0), n)
    print(f"track: {len(track.t):,} points over {(track.t[-1] - track.t[0]) / 86400:.1f} days, "
          f"{len(track.stays)} true stays")
    folder = Path(tempfile.mkdtemp(prefix="secondme-gps-bench-"))
    headline: dict[str, object] = {"points": len(track.t)}
    try:
        began = time.perf_counter()
        numpy_stays = [s for s in segments_of(track) if s.kind == "stay"]
        numpy_s = time.perf_counter() - began
        t, lat, lon = track.t.tolist(), track.lat.tolist(), track.lon.tolist()
        began = time.perf_counter()
        python_stays = python_staypoints(t, lat, lon)
        python_s = time.perf_counter() - began
        print("\nstay-point detection alone, same points:")
        print(f"  numpy detector   {len(t) / numpy_s:12,.0f} points/s  {len(numpy_stays):4d} stays")
        print(f"  pure-Python loop {len(t) / python_s:12,.0f} points/s  {len(python_stays):4d} stays "
              f"(splits at every GPS spike)")
        print(f"  numpy / loop speed = {python_s / numpy_s:.1f}x")
        headline |= {"detect_numpy_pts_s": round(len(t) / numpy_s), "detect_python_pts_s": round(len(t) / python_s),
                     "detect_speedup": round(python_s / numpy_s, 1), "true_stays": len(track.stays),
                     "numpy_stays": len(numpy_stays), "python_stays": len(python_stays)}
        half = first_points(track, len(track.t) // 2)
        print("\nparse + detection + day records, fresh process per file (gazetteer loaded first):")
        for fmt, (name, write) in FORMATS.items():
            rates, peaks = [], []
            for label, part in (("1/2", half), ("full", track)):
                path = folder / f"{label.replace('/', '_')}-{name}"
                write(path, part)
                seconds, records, before, after = parse_run(path, fmt)
                rates.append(len(part.t) / seconds)
                peaks.append(after)
                print(f"  {fmt:15s} {label:4s} {path.stat().st_size / 2**20:7.1f} MiB  {len(part.t):9,d} points  "
                      f"{seconds:6.2f} s  {len(part.t) / seconds:10,.0f} points/s  {records:4d} records  "
                      f"peak RSS {after:6.0f} MiB (before parsing {before:.0f})")
                path.unlink()
            print(f"  {fmt:15s} full / half peak memory = {peaks[1] / peaks[0]:.2f}  "
                  f"(points/s vs the pure-Python detection loop alone: {rates[1] / (len(t) / python_s):.1f}x)")
            headline |= {f"{fmt}_pts_s": round(rates[1]), f"{fmt}_peak_mib": round(peaks[1]),
                         f"{fmt}_peak_ratio_full_vs_half": round(peaks[1] / peaks[0], 2)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps({"bench": "gps", "goal_pts_s": 200_000, **headline}))


if __name__ == "__main__":
    sys.exit(main())
