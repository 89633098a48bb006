"""A data dir's set-up (its identity, key and migrations), one process at a time under a file lock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from secondme.errors import StoreError
from secondme.memory.keys import read_id
from secondme.paths import make_private

LOCK_FILE = "setup.lock"
WAIT_S = 300.0


def _make_tree_private(data_dir: Path) -> None:
    """Take group and other permissions off what an older version left in the data dir (0644 files)."""
    for root, dirs, files in os.walk(data_dir):
        for name in dirs + files:
            path = Path(root) / name
            if not path.is_symlink() and path.stat().st_mode & 0o077:
                path.chmod(path.stat().st_mode & 0o700)


@contextmanager
def setup_lock(data_dir: Path, timeout: float = WAIT_S) -> Iterator[None]:
    """Hold the data dir's set-up lock while its key is made or read and its store opened and migrated.

    The OS frees the lock when its process dies, so a crash never leaves the data dir locked."""
    make_private(data_dir)
    lock = FileLock(data_dir / LOCK_FILE, timeout=timeout, mode=0o600)
    try:
        lock.acquire()
    except Timeout:
        raise StoreError(
            f"another SecondMe process has been setting up {data_dir} for {timeout:.0f} s (it holds "
            f"{data_dir / LOCK_FILE}); try again when it has finished"
        ) from None
    try:
        if read_id(data_dir) is None:  # the first run of this version on this data dir
            _make_tree_private(data_dir)
        yield
    finally:
        lock.release()
