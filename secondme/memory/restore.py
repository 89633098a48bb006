"""Putting back memory.db from one of its daily backups, the replaced (damaged) file kept aside."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from secondme.errors import StoreError
from secondme.memory import backups
from secondme.memory.crypto import Cipher
from secondme.memory.db import open_db
from secondme.memory.first_run import setup_lock
from secondme.memory.keys import load_or_create_key

DB_FILE = "memory.db"
_COMPANIONS = ("", "-wal", "-shm")  # a database and its write-ahead log travel together


@dataclass(frozen=True)
class Restored:
    """Which backup was put back, how many records it holds, and where the replaced files went."""

    backup: Path
    records: int
    kept: list[Path]


def pick(data_dir: Path, chosen: str | None) -> Path:
    """The newest backup, or the one named (a name in the backups folder, or a path)."""
    folder = data_dir / backups.BACKUP_DIR
    if not chosen:
        found = backups.backups(data_dir)
        if not found:
            raise StoreError(f"there is no backup in {folder} to restore")
        return found[0]
    for candidate in (folder / chosen, Path(chosen).expanduser()):
        if candidate.is_file():
            return candidate
    raise StoreError(f"no backup {chosen!r} in {folder} (`secondme restore --list` shows them)")


def _remove(path: Path) -> None:
    for suffix in _COMPANIONS:
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _verified_copy(backup: Path, trial: Path, cipher: Cipher) -> int:
    """Copy `backup` to `trial` and open it as the store would (key, migrations, quick_check); its records."""
    _remove(trial)
    shutil.copyfile(backup, trial)
    os.chmod(trial, 0o600)
    try:
        db = open_db(trial, cipher)
        try:
            problem = backups.integrity_problem(db)
            records = int(db.execute("SELECT count(*) FROM records").fetchone()[0])
        finally:
            db.close()
        if problem:
            raise StoreError(f"it is damaged too (SQLite's quick_check: {problem})")
    except StoreError as error:
        _remove(trial)
        raise StoreError(f"the backup {backup} cannot be restored: {error}") from error
    backups.sync(trial)
    return records


def restore(data_dir: Path, chosen: str | None = None) -> Restored:
    """Replace the data dir's memory.db by a backup that opens with the current key; the replaced files
    are renamed memory-replaced-TIME.db(-wal), never deleted. The vector index is left to a reindex."""
    with setup_lock(data_dir):  # no store opens (or backs up) the database while it is swapped
        cipher = Cipher(load_or_create_key(data_dir).key)
        backup = pick(data_dir, chosen)
        database = data_dir / DB_FILE
        trial = data_dir / f"{DB_FILE}.restoring"
        records = _verified_copy(backup, trial, cipher)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        kept = []
        for suffix in ("", "-wal"):
            if (current := Path(f"{database}{suffix}")).exists():
                kept.append(data_dir / f"memory-replaced-{stamp}.db{suffix}")
                os.replace(current, kept[-1])
        Path(f"{database}-shm").unlink(missing_ok=True)  # SQLite's index of the log: rebuilt, holds no data
        os.replace(trial, database)
    return Restored(backup, records, kept)
