"""No silent loss on damage: a damaged database is named and refused, vectors survive an empty source,
a lost vector index is reported and rebuilt, and daily backups bring the records back."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from secondme.core.types import NewRecord
from secondme.errors import StoreError
from secondme.memory import backups
from secondme.memory.crypto import Cipher
from secondme.memory.keys import load_or_create_key
from secondme.memory.restore import restore
from secondme.memory.store import MemoryStore
from tests.fakes import HashEmbedder

DAY = 24 * 3600
NOTES = {
    "harbour.md": "# Harbour lunch\n\nLunch with Anna at the harbour about the lighthouse budget.\n",
    "长城.md": "# 长城\n\n和 小明 去 长城 徒步, 然后 吃 烤鸭.\n",
}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`secondme ARGS` in a process of its own, on the test's data dir."""
    return subprocess.run([sys.executable, "-m", "secondme", *args], env=os.environ.copy(), capture_output=True,
                          text=True, timeout=300)


def vector_count(home: Path) -> int:
    """How many vectors the data dir's index holds, read by a process of its own (chromadb caches clients)."""
    code = "import sys; from pathlib import Path; from secondme.memory.vectors import VectorIndex; " \
           "print(VectorIndex.persistent(Path(sys.argv[1]) / 'chroma').count())"
    done = subprocess.run([sys.executable, "-c", code, str(home)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


def found(query: str, *options: str) -> list[str]:
    done = cli("search", query, "--json", *options)
    assert done.returncode == 0, done.stderr
    return [hit["text"] for hit in json.loads(done.stdout)]


@pytest.fixture
def used_home(secondme_home: Path, tmp_path: Path) -> Path:
    """A data dir holding an English and a Chinese note, embedded, with the day's backup taken."""
    notes = tmp_path / "notes"
    notes.mkdir()
    for name, text in NOTES.items():
        (notes / name).write_text(text, encoding="utf-8")
    ingested = cli("ingest", str(notes))
    assert ingested.returncode == 0, ingested.stderr
    status = cli("status", "--json")  # the first open holding records takes the day's backup
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["backups"]["count"] == 1
    return secondme_home


def _records(home: Path) -> int:
    with sqlite3.connect(home / "memory.db") as db:
        return db.execute("SELECT count(*) FROM records").fetchone()[0]


def test_a_damaged_database_is_refused_by_name_and_restore_brings_the_records_back(used_home: Path) -> None:
    database = used_home / "memory.db"
    held = vector_count(used_home)
    assert held == _records(used_home) > 0

    os.truncate(database, database.stat().st_size // 2)
    truncated = cli("search", "harbour")
    assert truncated.returncode == 1 and f"{database} is truncated" in truncated.stderr, truncated.stderr
    assert "unexpected" not in truncated.stderr and "secondme restore" in truncated.stderr

    database.write_bytes(b"")
    for command in (("status",), ("reindex",)):
        done = cli(*command)
        assert done.returncode != 0, command
        assert f"{database} is empty" in done.stderr and "secondme restore" in done.stderr, done.stderr
        assert done.stderr.count("\n") == 1  # one line, no traceback
    assert database.stat().st_size == 0 and vector_count(used_home) == held  # nothing rebuilt from nothing

    listed = cli("restore", "--list")
    assert listed.returncode == 0 and "memory-" in listed.stdout and f"{held} record(s)" in listed.stdout
    restored = cli("restore")
    assert restored.returncode == 0, restored.stderr
    assert f"({held} record(s))" in restored.stdout and "Rebuilt the vector index" in restored.stdout
    kept = list(used_home.glob("memory-replaced-*.db"))
    assert len(kept) == 1 and kept[0].stat().st_size == 0  # the damaged file is kept aside, not deleted
    assert any("harbour" in text for text in found("harbour", "--mode", "vector"))
    assert any("长城" in text for text in found("长城"))
    assert vector_count(used_home) == held


def test_a_lost_vector_index_is_reported_search_keeps_keywords_and_reindex_rebuilds(used_home: Path) -> None:
    total = _records(used_home)
    index = used_home / "chroma"
    os.truncate(index / "chroma.sqlite3", 5000)
    damaged = cli("search", "harbour")
    assert damaged.returncode == 1 and f"cannot open the vector index {index}" in damaged.stderr, damaged.stderr
    assert "secondme reindex" in damaged.stderr
    index.rename(used_home / "chroma-damaged")  # as the error says; a deleted folder is the same to the store

    vector = cli("search", "harbour", "--mode", "vector", "--json")
    assert vector.returncode == 0 and json.loads(vector.stdout) == []
    assert f"{total} record(s) are not in the vector index" in vector.stderr and "secondme reindex" in vector.stderr
    hybrid = cli("search", "长城", "--json")
    assert any("长城" in hit["text"] for hit in json.loads(hybrid.stdout))
    assert "not in the vector index" in hybrid.stderr
    status = cli("status", "--json")
    assert json.loads(status.stdout)["not_in_vector_index"] == total

    reindexed = cli("reindex")
    assert reindexed.returncode == 0 and f"from {total} record(s)" in reindexed.stdout
    again = cli("search", "harbour", "--mode", "vector", "--json")
    assert any("harbour" in hit["text"] for hit in json.loads(again.stdout)) and not again.stderr.strip()


def note(n: int, text: str = "") -> NewRecord:
    from datetime import UTC, datetime

    return NewRecord(text=text or f"note {n} about the lighthouse 灯塔 {n}", time=datetime(2024, 5, n % 28 + 1,
                     tzinfo=UTC), source="notes", source_id=f"n{n}", origin="notes.md")


def test_reindex_of_an_empty_database_keeps_the_vectors_unless_forced(hash_store: MemoryStore) -> None:
    hash_store.add([note(n) for n in range(5)])
    hash_store.write("DELETE FROM records")
    with pytest.raises(StoreError, match=r"memory\.db holds no records but the vector index holds 5"):
        hash_store.reindex()
    assert hash_store._vectors.count() == 5
    assert hash_store.reindex(force=True) == 0 and hash_store._vectors.count() == 0


def test_partly_lost_vectors_are_queued_again_when_the_store_opens(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = MemoryStore(data, Cipher(bytes(range(32))), HashEmbedder())
    ids = store.add([note(n) for n in range(6)]).added
    store._vectors.delete(ids[:2])
    store.close()
    reopened = MemoryStore(data, Cipher(bytes(range(32))), HashEmbedder())
    try:
        assert reopened.pending_vectors() == 2
        reopened.add([note(99, "the harbour at dawn")])  # any add embeds what is pending
        assert reopened.pending_vectors() == 0 and reopened._vectors.ids() >= set(ids)
    finally:
        reopened.close()


def test_a_fresh_data_dir_with_an_empty_file_still_opens(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "memory.db").write_bytes(b"")  # a first run killed between creating the file and its schema
    MemoryStore(data, Cipher(bytes(range(32))), HashEmbedder()).close()


@pytest.mark.parametrize("damage, problem", [
    (lambda raw: b"this is not a database, it is a note\n" * 200, "is not a SQLite database"),
    (lambda raw: raw[:100] + b"\xff" * 4000 + raw[4100:], "database disk image is malformed"),
])
def test_a_damaged_file_is_named(tmp_path: Path, damage, problem: str) -> None:  # noqa: ANN001
    data = tmp_path / "data"
    store = MemoryStore(data, Cipher(bytes(range(32))), HashEmbedder())
    store.add([note(1)])
    store.close()
    database = data / "memory.db"
    database.write_bytes(damage(database.read_bytes()))
    with pytest.raises(StoreError) as raised:
        MemoryStore(data, Cipher(bytes(range(32))), HashEmbedder())
    assert str(database) in str(raised.value) and problem in str(raised.value)
    assert "no backup in" in str(raised.value)  # and says what to do without one


def test_backups_are_daily_private_and_rotated(hash_store: MemoryStore, tmp_path: Path) -> None:
    db, path = hash_store._db, tmp_path / "data" / "memory.db"
    start = 1_700_000_000.0
    assert backups.backups(path.parent) == []  # the store opened empty: nothing worth a backup yet
    hash_store.add([note(1), note(2, "第二 条 笔记")])
    taken = [backups.take_if_due(db, path, now=start + day * DAY) for day in range(10)]
    assert all(taken)
    assert backups.take_if_due(db, path, now=start + 9.5 * DAY) is None  # at most once a day
    kept = backups.backups(path.parent)
    assert kept == taken[:2:-1] and len(kept) == backups.KEEP  # the newest seven, newest first
    assert (path.parent / "backups").stat().st_mode & 0o777 == 0o700
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in kept)
    assert all(backups.count_records(p) == 2 for p in kept)
    assert not list((path.parent / "backups").glob("*.partial")) and not list(path.parent.glob("backups/*-wal"))


def test_restore_refuses_a_backup_of_another_key_and_keeps_the_database(secondme_home: Path) -> None:
    key = Cipher(load_or_create_key(secondme_home).key)
    store = MemoryStore(secondme_home, key, HashEmbedder())
    store.add([note(1)])
    store.close()
    stranger = secondme_home.parent / "stranger"
    other = MemoryStore(stranger, Cipher(bytes(32)), HashEmbedder())
    other.add([note(2)])
    backups.take_if_due(other._db, stranger / "memory.db")
    other.close()
    before = (secondme_home / "memory.db").read_bytes()
    with pytest.raises(StoreError, match="cannot be restored: the encryption key does not open"):
        restore(secondme_home, str(backups.backups(stranger)[0]))
    assert (secondme_home / "memory.db").read_bytes() == before
    assert not list(secondme_home.glob("memory-replaced-*")) and not (secondme_home / "memory.db.restoring").exists()


def test_a_deleted_database_is_named_when_backups_show_it_held_memories(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = MemoryStore(data, Cipher(bytes(range(32))), HashEmbedder())
    store.add([note(1)])
    backups.take_if_due(store._db, data / "memory.db")
    store.close()
    (data / "memory.db").unlink()
    with pytest.raises(StoreError, match=r"memory\.db is missing, but this data dir held memories: `secondme restore`"):
        MemoryStore(data, Cipher(bytes(range(32))), HashEmbedder())
