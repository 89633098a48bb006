"""Stopping an ingest: it ends between files or a file's parts, and the store keeps what finished whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from secondme.ingestion import Ingestor
from secondme.memory.store import MemoryStore
from secondme.progress import Progress, Rate
from tests.conftest import SHARED_DATA


@pytest.fixture
def store(hash_store: MemoryStore) -> MemoryStore:
    return hash_store


def notes(folder: Path, count: int) -> Path:
    folder.mkdir()
    for n in range(count):
        (folder / f"note-{n:02d}.md").write_text(f"# Note {n}\n\nThe heron number {n} stood in the reeds.\n")
    return folder


def stored_origins(store: MemoryStore) -> set[str]:
    return {Path(o.partition("#")[0]).name for o in store.origins()}


def test_a_cancelled_folder_keeps_the_files_done_and_a_rerun_finishes_without_duplicates(store, tmp_path):
    folder = notes(tmp_path / "notes", 10)
    seen: list[Progress] = []
    report = Ingestor(store).ingest([folder], seen.append, stop=lambda: len(seen) > 4)
    assert report.cancelled and report.files == 4 and not report.errors
    assert stored_origins(store) == {f"note-{n:02d}.md" for n in range(4)}
    assert seen[-1].done == 4 and seen[-1].note == "cancelled"
    again = Ingestor(store).ingest([folder])
    assert not again.cancelled and again.files == 10 and again.removed == 0
    assert stored_origins(store) == {f"note-{n:02d}.md" for n in range(10)}


def test_a_file_of_many_days_stops_between_days_and_keeps_them(store):
    sample = SHARED_DATA / "gps" / "gpsbabel" / "tpo-sample2.gpx"  # three days
    report = Ingestor(store).ingest([sample], stop=lambda: bool(store.count()))
    assert report.cancelled and report.files == 0
    days = {o.rpartition("#")[2] for o in store.origins()}
    assert days == {"2005-09-03"}
    again = Ingestor(store).ingest([sample])
    assert again.removed == 0 and {o.rpartition("#")[2] for o in store.origins()} == {
        "2005-09-03", "2005-09-04", "2005-09-05"}


def test_rate_and_time_left():
    now = [100.0]
    rate = Rate(clock=lambda: now[0])
    rate.update(Progress("ingest", 0, 10, "files"))
    assert rate.describe("files") == ""
    now[0] = 104.0
    rate.update(Progress("ingest", 4, 10, "files"))
    assert rate.per_second == 1.0 and rate.eta_s == 6.0
    assert rate.describe("files") == "1.0 files/s, 0:06 left"
    rate.update(Progress("ingest", 10, 10, "files"))
    assert rate.eta_s == 0.0
