"""A `secondme ingest` killed with SIGKILL mid-way, then run again: it finishes, no duplicates, no loss."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from bench.notes import make_vault
from ingest.notes import parse_note
from secondme.memory import origins
from secondme.memory.crypto import Cipher
from secondme.memory.keys import load_or_create_key
from secondme.memory.vectors import VectorIndex

NOTES = 300


def _count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as connection:
            return connection.execute("SELECT count(*) FROM records").fetchone()[0]
    except sqlite3.OperationalError:  # the schema is not created yet
        return 0


def test_killed_ingest_resumes_without_duplicates_or_loss(tmp_path: Path, secondme_home: Path):
    paths = make_vault(tmp_path / "vault", NOTES, sentences=2)
    parsed = {str(p.resolve()): [i.source_id for i in parse_note(p)] for p in paths}
    total = sum(map(len, parsed.values()))
    command = [sys.executable, "-m", "secondme", "ingest", str(tmp_path / "vault")]
    db = secondme_home / "memory.db"

    process = subprocess.Popen(command, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while _count(db) < total // 4 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.kill()
    process.wait()
    killed_at = _count(db)
    assert 0 < killed_at < total, f"the kill came at {killed_at} of {total} records"

    finished = subprocess.run(command, env=os.environ.copy(), capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    assert f"{NOTES} file(s)" in finished.stdout and "0 error(s)" in finished.stdout

    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT id, origin, source_id, embedded FROM records").fetchall()
    stored: dict[str, list[str]] = {}
    for _, origin, source_id, _ in rows:
        stored.setdefault(origin, []).append(source_id)
    cipher = Cipher(load_or_create_key(secondme_home).key)  # origins and source ids are stored keyed
    expected = {origins.key(cipher.identifier, origins.escape(path)): sorted(map(cipher.identifier, ids))
                for path, ids in parsed.items()}
    assert {origin: sorted(ids) for origin, ids in stored.items()} == expected
    assert all(embedded for *_, embedded in rows)
    assert VectorIndex.persistent(secondme_home / "chroma").ids() == {row[0] for row in rows}
