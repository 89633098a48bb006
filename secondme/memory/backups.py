"""Damage checks of the store's database file, and its daily backups (SQLite's online backup API)."""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from secondme.errors import StoreError

BACKUP_DIR = "backups"
KEEP = 7  # daily generations
EVERY_S = 24 * 3600
_STAMP = "%Y%m%d-%H%M%S"
_PREFIX, _SUFFIX = "memory-", ".db"
_PARTIAL = ".partial"
_MAGIC = b"SQLite format 3\x00"


def backup_name(moment: float) -> str:
    """The file name of a backup taken at `moment` (a Unix time)."""
    return _PREFIX + datetime.fromtimestamp(moment, UTC).strftime(_STAMP) + _SUFFIX


def taken_at(backup: Path) -> datetime | None:
    """When a backup was taken, from its name; None for a file that is not a backup."""
    name = backup.name
    if not (name.startswith(_PREFIX) and name.endswith(_SUFFIX)):
        return None
    try:
        return datetime.strptime(name[len(_PREFIX) : -len(_SUFFIX)], _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def backups(data_dir: Path) -> list[Path]:
    """The backups in a data dir, newest first."""
    folder = data_dir / BACKUP_DIR
    found = [p for p in folder.iterdir() if p.is_file() and taken_at(p)] if folder.is_dir() else []
    return sorted(found, key=lambda p: p.name, reverse=True)  # the time stamps sort as text


def advice(data_dir: Path) -> str:
    """What to do about a damaged memory.db in `data_dir`."""
    kept = backups(data_dir)
    if kept:
        when = (taken_at(kept[0]) or datetime.now(UTC)).astimezone().strftime("%Y-%m-%d %H:%M")
        return (f"`secondme restore` brings back the newest backup ({kept[0].name}, {when}; "
                "`secondme restore --list` shows them all) and keeps the damaged file aside")
    return (f"there is no backup in {data_dir / BACKUP_DIR}: put back memory.db from a backup of your own, "
            f"or move {data_dir} aside to start afresh")


def _used_before(data_dir: Path, signs: tuple[str, ...]) -> bool:
    return any((data_dir / name).is_dir() and any((data_dir / name).iterdir()) for name in signs)


def check_file(path: Path) -> None:
    """StoreError naming `path` when the database there is damaged: missing or empty in a data dir that
    held memories, not a SQLite database, or shorter than its header says (cheap: reads 100 bytes)."""
    data_dir = path.parent
    size = path.stat().st_size if path.exists() else None
    # The vector index is made just after the database (0 bytes only until its first write), and may
    # be made before it (tests, tools): a missing database counts as lost only when backups exist.
    if not size:
        if _used_before(data_dir, (BACKUP_DIR,) if size is None else (BACKUP_DIR, "chroma")):
            state = "missing" if size is None else "empty (0 bytes)"
            raise StoreError(f"the database {path} is {state}, but this data dir held memories: {advice(data_dir)}")
        return
    with path.open("rb") as file:
        header = file.read(100)
    if len(header) < 100 or not header.startswith(_MAGIC):
        raise StoreError(f"{path} is not a SQLite database (damaged or overwritten): {advice(data_dir)}")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    header_valid = header[24:28] == header[92:96]  # else SQLite itself ignores the page count
    wal = Path(f"{path}-wal")
    # With a write-ahead log left by a crash the file may lag its header until SQLite replays the log.
    if header_valid and not (wal.exists() and wal.stat().st_size) and size < pages * page_size:
        raise StoreError(f"{path} is truncated ({size:,} of {pages * page_size:,} bytes): {advice(data_dir)}")


def is_damage(error: sqlite3.DatabaseError) -> bool:
    """Whether SQLite's error says the file is damaged (not merely busy or unwritable)."""
    return getattr(error, "sqlite_errorname", "").startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))


def integrity_problem(db: sqlite3.Connection) -> str | None:
    """The first problem `PRAGMA quick_check` finds, None when it finds none."""
    try:
        rows = db.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as error:
        return str(error)
    return None if rows == [("ok",)] else str(rows[0][0])


def _private_file(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))


def sync(path: Path) -> None:
    """Flush a file to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def take_if_due(db: sqlite3.Connection, path: Path, now: float | None = None, keep: int = KEEP) -> Path | None:
    """Back up the open database at `path` when its newest backup is a day old or more (and it holds
    records): checked with quick_check, kept as `keep` daily generations; the new backup or None.

    A damaged database is not backed up (it would push a good generation out): StoreError instead."""
    now = time.time() if now is None else now
    data_dir = path.parent
    kept = backups(data_dir)
    newest = taken_at(kept[0]) if kept else None
    if newest and now - newest.timestamp() < EVERY_S:
        return None
    if not db.execute("SELECT EXISTS (SELECT 1 FROM records)").fetchone()[0]:
        return None
    folder = data_dir / BACKUP_DIR
    target = folder / backup_name(now)
    partial = target.with_name(target.name + _PARTIAL)
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        for left in folder.glob(f"*{_PARTIAL}"):  # from a process killed while backing up
            left.unlink()
        _private_file(partial)
        copy = sqlite3.connect(partial, isolation_level=None)
        try:
            db.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            problem = integrity_problem(copy)
        finally:
            copy.close()
        if problem:
            partial.unlink()
            raise StoreError(f"{path} is damaged (SQLite's quick_check: {problem}): {advice(data_dir)}")
        sync(partial)
        os.replace(partial, target)
        for old in backups(data_dir)[keep:]:
            old.unlink()
    except OSError as error:
        raise StoreError(f"cannot write the daily backup {target}: {error}") from error
    return target


def count_records(backup: Path) -> int | None:
    """How many records a backup holds (read-only, no key needed); None if it cannot be read."""
    try:
        with closing(sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro&immutable=1", uri=True)) as db:
            return int(db.execute("SELECT count(*) FROM records").fetchone()[0])
    except sqlite3.DatabaseError:
        return None
