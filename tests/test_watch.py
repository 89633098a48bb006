"""`secondme ingest --watch`: a real watchdog observer on a temp folder, the real store and embedder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from secondme.app import Services, build
from secondme.ingestion import IngestReport
from secondme.watching import Watcher

TIMEOUT = 30.0


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def texts(services: Services) -> dict[str, list[str]]:
    """Stored texts by origin."""
    ids = [i for (i,) in services.store.query("SELECT id FROM records ORDER BY rowid")]
    found: dict[str, list[str]] = {}
    for record in services.store.records(ids):
        found.setdefault(record.origin, []).append(record.text)
    return found


@pytest.fixture
def watching(tmp_path: Path) -> Iterator[tuple[Path, Services, list[IngestReport]]]:
    folder = tmp_path / "vault"
    folder.mkdir()
    (folder / "Existing.md").write_text("# Existing\n\nThere before the watch began.\n", encoding="utf-8")
    services = build()
    reports: list[IngestReport] = []
    stop = threading.Event()
    with Watcher(services.store, [folder], quiet=0.3) as watcher:
        reports.append(watcher.ingest_all())
        thread = threading.Thread(target=watcher.run, args=(reports.append, stop), daemon=True)
        thread.start()
        yield folder.resolve(), services, reports
        stop.set()
        thread.join(timeout=10)
    services.close()


def test_new_changed_moved_and_deleted_files_follow_the_folder(watching):
    folder, services, reports = watching
    assert reports[0].files == 1 and str(folder / "Existing.md") in texts(services)

    note = folder / "sub" / "Plants.md"
    note.parent.mkdir()
    note.write_text("# Plants\n\nThe fern needs water on Fridays.\n", encoding="utf-8")
    wait_for(lambda: texts(services).get(str(note)) == ["The fern needs water on Fridays."], "the new note")

    note.write_text("# Plants\n\nThe fern needs water on Sundays.\n", encoding="utf-8")
    wait_for(lambda: texts(services).get(str(note)) == ["The fern needs water on Sundays."], "the changed note")

    moved = folder / "Garden.md"
    note.rename(moved)
    wait_for(lambda: str(note) not in texts(services) and str(moved) in texts(services), "the move")

    moved.unlink()
    wait_for(lambda: set(texts(services)) == {str(folder / "Existing.md")}, "the deletion")
    assert not any(r.errors for r in reports)


def test_hidden_and_temporary_files_are_ignored_and_bad_files_reported(watching):
    folder, services, reports = watching
    (folder / ".obsidian").mkdir()
    (folder / ".obsidian" / "workspace.md").write_text("# ui state\n\nnot a note\n", encoding="utf-8")
    (folder / "draft.md.swp").write_bytes(b"\x00\x01")
    (folder / "bad.md").write_bytes(b"")
    wait_for(lambda: any(r.errors for r in reports), "the error report")
    errors = [e for r in reports for e in r.errors]
    assert errors == [f"{folder / 'bad.md'}: the file is empty"]
    assert set(texts(services)) == {str(folder / "Existing.md")}


def test_cli_watch_ingests_new_files_and_stops_cleanly_on_ctrl_c(tmp_path: Path):
    folder = tmp_path / "vault"
    folder.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "secondme", "ingest", "--watch", str(folder)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ.copy(),
    )
    try:
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)  # type: ignore[arg-type]
        reader.start()
        wait_for(lambda: any("Watching" in line for line in lines), "the watch to start")
        (folder / "Plants.md").write_text("# Plants\n\nThe fern needs water.\n", encoding="utf-8")
        wait_for(lambda: any("1 new record(s)" in line for line in lines), "the new note to be ingested")
        process.send_signal(signal.SIGINT)
        try:
            assert process.wait(timeout=TIMEOUT) == 0
        except subprocess.TimeoutExpired:
            pytest.fail("no exit after Ctrl-C; it printed:\n" + "".join(lines))
        reader.join(timeout=5)
        assert "Stopped watching." in "".join(lines)
    finally:
        if process.poll() is None:
            process.kill()
