"""Location history: every real sample parses (GPX, Google Takeout and Timeline, OwnTracks, Overland),
stay points are found on a synthetic life with drift and gaps, bad files give clear errors, and a
store ingests each day once. Samples: ../shared/data/gps (see its MANIFEST.md)."""

from __future__ import annotations

import math
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from bench.gps import PLACES, Track, life, segments_of, write_gpx, write_owntracks, write_records
from ingest.formats import detect_format
from ingest.gps import READERS
from ingest.gps.geo import metres
from ingest.gps.pipeline import parse_location
from ingest.gps.points import Chunk
from ingest.gps.staypoints import Segment
from ingest.items import Item, ParseError
from secondme.ingestion import Ingestor
from secondme.memory import origins
from secondme.memory.crypto import Cipher
from secondme.memory.keys import load_or_create_key
from secondme.memory.store import MemoryStore
from tests.conftest import SHARED_DATA
from tests.fakes import HashEmbedder

GPS = SHARED_DATA / "gps"
# sample: (format, timed points, records by kind)
SAMPLES = {
    "dawarich/google_location-history.json": ("google-ios", 0, {"visit": 1, "day": 1}),
    "dawarich/google_phone-takeout_w_3_duplicates.json": ("google-timeline", 1, {"visit": 1, "day": 2}),
    "dawarich/google_records.json": ("google-records", 3, {"day": 2}),
    "dawarich/google_semantic_history.json": ("google-semantic", 0, {"day": 1}),
    "dawarich/google_timeline_new_format.json": ("google-timeline", 1, {"visit": 1, "day": 1}),
    "dawarich/gpx_arc_example.gpx": ("gpx", 6, {"visit": 1, "day": 2}),
    "dawarich/gpx_gpx_track_multiple_tracks.gpx": ("gpx", 34, {"day": 1}),
    "dawarich/overland_geodata.json": ("overland", 1, {"day": 1}),
    "dawarich/owntracks_2023-02_old.rec": ("owntracks", 10, {"day": 1}),
    "dawarich/owntracks_2024-03.rec": ("owntracks", 9, {"visit": 1, "day": 1}),
    "gpsbabel/garmin_xt_strk.gpx": ("gpx", 958, {"day": 2}),
    "gpsbabel/tpo-sample2.gpx": ("gpx", 711, {"visit": 3, "day": 3}),
    "gpxpy/Mojstrovka.gpx": ("gpx", 0, {"track": 1}),
    "gpxpy/around-visnjan-with-car.gpx": ("gpx", 104, {"day": 1}),
    "gpxpy/cerknicko-jezero.gpx": ("gpx", 296, {"visit": 1, "day": 1}),
    "gpxpy/korita-zbevnica.gpx": ("gpx", 513, {"visit": 2, "day": 1}),
}


def parsed(path: Path) -> tuple[list[Item], list[ParseError]]:
    parts = list(detect_format(path).parse(path))
    return [p for p in parts if isinstance(p, Item)], [p for p in parts if isinstance(p, ParseError)]


def by_origin(items: list[Item]) -> dict[str, list[Item]]:
    out: dict[str, list[Item]] = {}
    for item in items:
        out.setdefault(item.origin.rpartition("#")[2], []).append(item)
    return out


def test_every_sample_is_listed():
    assert sorted(str(p.relative_to(GPS)) for p in GPS.rglob("*") if p.is_file()) == sorted(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_sample_parses(name: str):
    path = GPS / name
    fmt, points, kinds = SAMPLES[name]
    assert detect_format(path).name == fmt
    assert sum(len(c.t) for c in READERS[fmt][1].read(path) if isinstance(c, Chunk)) == points
    items, errors = parsed(path)
    assert dict(Counter(i.kind for i in items)) == kinds
    assert all(str(path) in str(e) for e in errors)
    origins = [i.origin for i in items]
    assert all(o.startswith(f"{path.resolve()}#") for o in origins)
    assert origins == sorted(origins, key=origins.index) and len(set(origins)) == len(  # each origin once, together
        [o for n, o in enumerate(origins) if n == 0 or origins[n - 1] != o])
    for day in by_origin(items).values():
        assert len({i.source_id for i in day}) == len(day)
    assert all(i.sensitivity == "private" for i in items)  # guests see where you were only if allowed


def test_gpx_days_visits_and_untimed_track_points():
    items, errors = parsed(GPS / "gpsbabel/tpo-sample2.gpx")  # 15 tracks, 2005-09-04..06 UTC; the first has no times
    days = by_origin(items)
    assert sorted(days) == ["2005-09-03", "2005-09-04", "2005-09-05"]  # local (Pacific) days
    summary = next(i for i in days["2005-09-04"] if i.kind == "day")
    assert summary.title == "Where I was on Sunday 4 September 2005"
    assert "Belmont" in summary.text and "13:17–16:48" in summary.text and "Travelled" in summary.text
    assert [str(e).split(": ", 1)[1] for e in errors] == ["295 record(s) skipped: track point without a time"]
    assert "track point 1" in str(errors[0])


def test_gpx_with_broken_timestamps_becomes_one_dated_track_record():
    items, errors = parsed(GPS / "gpxpy/Mojstrovka.gpx")  # every point says 1901-12-13
    [track] = items
    assert not errors and track.kind == "track" and track.time.date().isoformat() == "2010-12-14"
    assert "184 points" in track.text and "Kranjska Gora" in track.text


def test_gpx_across_midnight_and_waypoints():
    items, _ = parsed(GPS / "gpsbabel/garmin_xt_strk.gpx")
    assert sorted(by_origin(items)) == ["2010-05-28", "2010-05-29"]
    items, _ = parsed(GPS / "dawarich/gpx_arc_example.gpx")  # Arc writes a visit as a timed waypoint
    [visit] = [i for i in items if i.kind == "visit"]
    assert visit.place == "Topland Hotel & Convention Center" and "Phitsanulok" in visit.text


def test_google_formats_give_visits_with_their_labels_and_moves():
    [visit, day] = parsed(GPS / "dawarich/google_location-history.json")[0]  # iOS
    assert "Corpus Christi" in visit.text and "15:48–17:04" in visit.text and "Travelled 6.1 km" in day.text
    items, _ = parsed(GPS / "dawarich/google_timeline_new_format.json")
    assert [i.place for i in items if i.kind == "visit"] == ["Home"]  # from userLocationProfile's HOME
    [day] = parsed(GPS / "dawarich/google_semantic_history.json")[0]
    assert "Travelled 4.5 km (walk 623 m, drive 3.9 km)" in day.text


def test_owntracks_gap_at_one_spot_is_a_stay():
    items, _ = parsed(GPS / "dawarich/owntracks_2024-03.rec")  # silent 09:03-17:46 UTC, same spot before and after
    [visit] = [i for i in items if i.kind == "visit"]
    assert "10:03–18:46" in visit.text and "Trebbin" in visit.text


def _detect(track: Track, window: int = 1 << 17) -> list[Segment]:
    return segments_of(track, window, chunk=5000)


def _place(segment: Segment) -> str:
    return min(PLACES, key=lambda p: metres(*PLACES[p], segment.lat, segment.lon))


@pytest.mark.parametrize("still_every", [5.0, 30.0, 120.0])
@pytest.mark.parametrize("window", [4000, 1 << 17])
def test_stay_points_of_a_synthetic_life(still_every: float, window: int):
    """Two weeks: home at night (phone off every other night), office on weekdays, gym, café; 12 m jitter
    and 1% of fixes jumping 300 m. Every true stay is found, once, within minutes; moves lie between."""
    track = life(days=14, still_every=still_every)
    segments = _detect(track, window)
    stays = [s for s in segments if s.kind == "stay"]
    assert [(_place(s)) for s in stays] == [p for p, _, _ in track.stays]
    for stay, (_, start, end) in zip(stays, track.stays, strict=True):
        assert abs(stay.start - start) <= 300 + 2 * still_every and abs(stay.end - end) <= 300 + 2 * still_every
        assert metres(*PLACES[_place(stay)], stay.lat, stay.lon) < 30
    moves = [s for s in segments if s.kind == "move"]
    assert len(moves) == len(stays) - 1 and all(200 < m.metres < 5000 for m in moves)


def test_nearby_stays_merge_and_a_long_silence_splits():
    t = np.concatenate([np.arange(0, 3600, 30.0), np.arange(3700, 7200, 30.0), np.arange(93600, 95400, 30.0)])
    rng = np.random.default_rng(1)
    lat = 46.05 + rng.normal(0, 8, len(t)) / 111_195
    lat[(t > 3600) & (t < 7200)] += 120 / 111_195  # a second stay, its centre 120 m off: the same place
    lon = np.full(len(t), 14.5)
    stays = [s for s in _detect(Track(t + 1.65e9, lat, lon, [])) if s.kind == "stay"]
    assert [(round(s.start - 1.65e9), round(s.end - 1.65e9)) for s in stays] == [(0, 7180), (93600, 95370)]


def test_a_slow_walk_between_two_stays_does_not_swallow_them():
    """At 0.25 m/s the half-windows barely drift apart, so the walk looks still: the run is cut where
    the smoothed track leaves the radius, and both stays survive."""
    t = np.arange(0, 3600 + 1600 + 3600, 30.0)
    north = np.clip((t - 3600) * 0.25, 0, 400)
    rng = np.random.default_rng(3)
    lat = 46.05 + (north + rng.normal(0, 8, len(t))) / 111_195
    segments = _detect(Track(t + 1.65e9, lat, np.full(len(t), 14.5), []))
    stays = [s for s in segments if s.kind == "stay"]
    assert len(stays) == 2 and metres(stays[0].lat, stays[0].lon, stays[1].lat, stays[1].lon) > 350
    assert stays[0].end - 1.65e9 >= 3300 and stays[1].start - 1.65e9 <= 5500


def test_gpx_without_any_time_or_date_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "route.gpx"
    path.write_text('<?xml version="1.0"?>\n<gpx version="1.1"><trk><trkseg>\n<trkpt lat="46.1" lon="14.5"/>\n'
                    '<trkpt lat="46.2" lon="14.6"><ele>3</ele></trkpt>\n</trkseg></trk></gpx>\n', encoding="utf-8")
    with pytest.raises(ParseError, match="no usable timestamps: none of its 2 track points"):
        list(detect_format(path).parse(path))


@pytest.mark.parametrize("sample, cut, expected", [
    ("dawarich/google_records.json", 300, r"google_records.json:byte \d+: the JSON ends too soon"),
    ("dawarich/google_semantic_history.json", 1000, r":byte \d+: the JSON ends too soon"),
    ("gpsbabel/tpo-sample2.gpx", 5000, r"tpo-sample2.gpx:line \d+, column \d+: the XML ends too soon"),
])
def test_truncated_files_give_a_parse_error_with_position(tmp_path: Path, sample: str, cut: int, expected: str):
    path = tmp_path / Path(sample).name
    path.write_bytes((GPS / sample).read_bytes()[:cut])
    with pytest.raises(ParseError, match=expected):
        list(detect_format(path).parse(path))


def test_bad_records_are_counted_with_their_first_position_and_the_rest_goes_on(tmp_path: Path):
    path = tmp_path / "Records.json"
    path.write_text('{"locations": [{"latitudeE7": 460500000, "longitudeE7": 145000000, "timestamp": "2022-05-02'
                    'T08:00:00Z"}, {"latitudeE7": 460500000}, "nonsense", {"latitudeE7": 460500000, "longitudeE7": '
                    '145000000, "timestamp": "1901-01-01T00:00:00Z"}]}', encoding="utf-8")
    items, errors = parsed(path)
    assert [i.kind for i in items] == ["day"]
    assert sorted(str(e).split(": ", 1)[0].rpartition(":")[2] for e in errors) == ["locations[1] (the first of them)",
                                                                                  "locations[3]"]


def test_empty_file_and_random_bytes_raise_parse_error_only(tmp_path: Path):
    for name, data in (("empty.gpx", b""), ("x.rec", b"2024-01-01T00:00:00Z * {oops\n"), ("y.gpx", b"<gpx><trk>")):
        path = tmp_path / name
        path.write_bytes(data)
        for _, reader in READERS.values():
            with pytest.raises(ParseError):
                list(parse_location(path, reader))


@pytest.fixture
def store(tmp_path: Path):
    opened = MemoryStore(tmp_path / "data", Cipher(bytes(range(32))), HashEmbedder())
    yield opened
    opened.close()


@pytest.mark.parametrize("write", [write_gpx, write_records, write_owntracks])
def test_ingest_twice_adds_nothing_and_a_changed_file_replaces_only_changed_days(store, tmp_path: Path, write):
    path = tmp_path / "life.dat"
    write(path, life(days=4))
    first = Ingestor(store).ingest([path])
    assert first.errors == [] and first.added > 8
    again = Ingestor(store).ingest([path])
    assert (again.added, again.removed) == (0, 0) and again.skipped == store.count()
    write(path, life(days=5))  # one more day: its records, and the last day's (it no longer ends the track)
    grown = Ingestor(store).ingest([path])
    assert 0 < grown.added < first.added and grown.removed <= 3
    assert math.isclose(store.count(), len({(i.origin, i.source_id) for i in parsed(path)[0]}))


def test_killed_ingest_resumes_without_duplicates_or_loss(tmp_path: Path, secondme_home: Path):
    path = tmp_path / "six-weeks.gpx"
    write_gpx(path, life(days=42))
    expected = sorted((i.origin, i.source_id) for i in parsed(path)[0])
    command = [sys.executable, "-m", "secondme", "ingest", str(path)]
    db = secondme_home / "memory.db"

    def stored() -> list[tuple[str, str]]:
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as connection:
                return sorted(connection.execute("SELECT origin, source_id FROM records").fetchall())
        except sqlite3.OperationalError:  # not created yet
            return []

    process = subprocess.Popen(command, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(stored()) < len(expected) // 4 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.kill()  # SIGKILL
    process.wait()
    assert 0 < len(stored()) < len(expected)
    finished = subprocess.run(command, env=os.environ.copy(), capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    cipher = Cipher(load_or_create_key(secondme_home).key)  # origins and source ids are stored keyed
    assert stored() == sorted((origins.key(cipher.identifier, o), cipher.identifier(s)) for o, s in expected)


@pytest.mark.parametrize("spread_s", [0, 600])
def test_gps_jitter_at_one_spot_adds_no_distance(tmp_path: Path, spread_s: int):
    """100,000 fixes within 11 m (all at one second, or over ten minutes) are no journey."""
    rng = np.random.default_rng(7)
    n = 100_000
    lat = 57.7 + rng.uniform(-5e-5, 5e-5, n)
    lon = 11.97 + rng.uniform(-9e-5, 9e-5, n)
    start = 1_773_130_000
    stamps = np.sort(rng.uniform(0, spread_s, n)) if spread_s else np.zeros(n)
    when = [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + s)) for s in stamps]
    points = "".join(f'<trkpt lat="{a:.7f}" lon="{b:.7f}"><time>{w}</time></trkpt>\n'
                     for a, b, w in zip(lat, lon, when, strict=True))
    path = tmp_path / "jitter.gpx"
    path.write_text(f'<?xml version="1.0"?>\n<gpx version="1.1"><trk><trkseg>\n{points}</trkseg></trk></gpx>\n',
                    encoding="utf-8")
    items, _ = parsed(path)
    text = " ".join(i.text for i in items if i.kind == "day")
    assert text and "Travelled" not in text


def test_real_journeys_keep_their_distance():
    items, _ = parsed(GPS / "gpxpy/around-visnjan-with-car.gpx")
    [day] = [i for i in items if i.kind == "day"]
    assert "Travelled" in day.text
