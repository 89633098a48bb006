"""Places: repeated visits cluster into places, home and work are inferred from nights and weekdays,
a name the user gives shows in the records, and `secondme ingest` + `search` + `places` work as a user runs them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench.gps import PLACES, life, write_gpx
from ingest.gps.geo import metres
from secondme.cli import main
from secondme.errors import SecondMeError
from secondme.ingestion import Ingestor
from secondme.memory.crypto import Cipher
from secondme.memory.profile import Profile
from secondme.memory.store import MemoryStore
from secondme.places import Places
from tests.conftest import SHARED_DATA
from tests.fakes import HashEmbedder


@pytest.fixture
def store(tmp_path: Path):
    opened = MemoryStore(tmp_path / "data", Cipher(bytes(range(32))), HashEmbedder())
    yield opened
    opened.close()


@pytest.fixture
def two_weeks(tmp_path: Path) -> Path:
    path = tmp_path / "two-weeks.gpx"
    write_gpx(path, life(days=14))  # from Monday 2 May 2022, Ljubljana
    return path


def _records(store: MemoryStore, kind: str) -> list:
    ids = [i for (i,) in store.query("SELECT id FROM records WHERE kind = ? ORDER BY time_ts", (kind,))]
    return store.records(ids)


def _place_at(places: list, name: str):
    return min(places, key=lambda p: metres(p.lat, p.lon, *PLACES[name]))


def test_visits_cluster_into_places_and_home_and_work_are_inferred(store, two_weeks: Path):
    report = Ingestor(store).ingest([two_weeks])
    assert report.errors == []
    places = Places(store).listing()
    assert len(places) == 4  # home, office, gym, café: every visit filed under one of them
    home, work = _place_at(places, "home"), _place_at(places, "office")
    assert (home.role, home.label, work.role, work.label) == ("home", "Home", "work", "Work")
    assert work.visits == 10 and _place_at(places, "gym").visits == 4 and _place_at(places, "cafe").visits == 2
    visits = _records(store, "visit")
    assert {v.place for v in visits} >= {"Home", "Work"} and all(v.title == f"Visit: {v.place}" for v in visits)
    [tuesday] = [d for d in _records(store, "day") if d.origin.endswith("#2022-05-03")]
    assert re.match(r"Tuesday 3 May 2022: Home until 0[78]:\d\d, Work 08:\d\d–17:\d\d, near Ljubljana, Slovenia "
                    r"17:\d\d–19:\d\d, Home from 19:\d\d\. Travelled \d+\.\d km\.$", tuesday.text), tuesday.text


def test_naming_a_place_renders_its_visits_again_and_reingest_adds_nothing(store, two_weeks: Path):
    Ingestor(store).ingest([two_weeks])
    places = Places(store)
    gym = _place_at(places.listing(), "gym")
    assert not gym.name and "near Ljubljana" in " ".join(v.text for v in _records(store, "visit"))
    named = places.name(gym.id, "  Climbing   gym ")
    assert named.label == "Climbing gym"
    climbing = [v for v in _records(store, "visit") if v.place == "Climbing gym"]
    assert len(climbing) == 4 and re.match(r"Climbing gym: Thu 12 May 2022, 17:\d\d–19:\d\d", climbing[-1].text)
    assert sum("Climbing gym 17:" in d.text for d in _records(store, "day")) == 4
    hits = store.search("climbing gym", k=5)
    assert hits[0].record.place == "Climbing gym"
    again = Ingestor(store).ingest([two_weeks])
    assert (again.added, again.removed) == (0, 0)
    with pytest.raises(SecondMeError, match="no place with id 999"):
        places.name(999, "Nowhere")


def test_the_profile_names_home_work_and_regular_places_only_where_private_items_may_be_seen(
        store, two_weeks: Path, capsys):
    profile = Profile(store)
    assert profile.located() == [] and profile.profile_text(("normal", "private")) == ""
    Ingestor(store).ingest([two_weeks])
    Places(store).name(_place_at(Places(store).listing(), "gym").id, "Climbing gym")
    lines = profile.profile_text(("normal", "private")).splitlines()
    assert lines[0] == "Places:" and len(lines) == 4  # home, work, the gym; the café had 2 visits
    assert lines[1] == "- Home near Ljubljana, Slovenia: 13 visits, last on 2022-05-14"
    assert lines[2].startswith("- Work near Ljubljana, Slovenia: 10 visits")
    assert lines[3].startswith("- Climbing gym near Ljubljana, Slovenia: 4 visits")
    assert profile.profile_text(("normal",)) == ""  # a guest does not learn where the owner lives


def test_places_of_other_items_are_untouched(store, tmp_path: Path):
    note = tmp_path / "note.md"
    note.write_text("# Gym\n\nBouldering on Tuesday.\n", encoding="utf-8")
    places = Places(store)
    Ingestor(store).ingest([note])
    assert not places.touched and places.refresh() == 0 and store.query("SELECT count(*) FROM places") == [(0,)]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def test_cli_ingest_search_and_places_as_a_user(capsys):
    gps = SHARED_DATA / "gps"
    code, out = run(capsys, "ingest", str(gps))
    assert code == 1 and "16 file(s): 33 new record(s)" in out  # 1: two GPX files have points without times
    code, out = run(capsys, "ingest", str(gps))
    assert "0 new record(s), 33 unchanged" in out
    # the three days' texts are alike to the embedder (RRF puts them within 0.001): keywords decide
    code, out = run(capsys, "search", "where was I on 4 September 2005", "--mode", "bm25", "--json")
    hits = json.loads(out)
    assert hits[0]["title"] == "Where I was on Sunday 4 September 2005" and "Belmont" in hits[0]["text"]
    assert hits[0]["origin"].endswith("tpo-sample2.gpx#2005-09-04")
    code, out = run(capsys, "places", "--json")
    belmont = next(p for p in json.loads(out) if metres(p["lat"], p["lon"], 37.521, -122.296) < 100)
    code, out = run(capsys, "places", "name", str(belmont["id"]), "Climbing", "gym")
    assert code == 0 and "Climbing gym" in out
    code, out = run(capsys, "search", "when did I last go to the climbing gym", "--json")
    assert json.loads(out)[0]["title"] == "Visit: Climbing gym"
    code, out = run(capsys, "profile", "show")
    assert code == 0 and re.search(r"places +Climbing gym near .*: 1 visit, last on 2005-09-04 \[private\]", out), out
