"""The data key: created once, reused, kept only in a keyring, never in plaintext, found by the data dir's
identity (not its path), and never silently replaced while data written with it is kept."""

from __future__ import annotations

import base64
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from secondme.errors import KeyStorageError
from secondme.memory import keys
from secondme.memory.keys import load_or_create_key


class MemoryKeyring(KeyringBackend):
    """An in-process keyring standing in for an OS one."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.items[(service, username)]


@pytest.fixture(autouse=True)
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts as a new process would: no cached keys, the default keyring."""
    monkeypatch.setattr(keys, "_cache", {})
    before = keyring.get_keyring()
    yield
    keyring.set_keyring(before)


def test_file_keyring_creates_the_key_once_and_reuses_it(secondme_home: Path) -> None:
    first = load_or_create_key(secondme_home)
    keys._cache.clear()  # as a second process would see it
    second = load_or_create_key(secondme_home)
    assert first.key == second.key and len(first.key) == 32
    assert "SECONDME_KEYRING_PASSPHRASE" in first.backend and "built in" not in first.backend
    stored = (secondme_home / keys.KEYRING_FILE).read_bytes()
    assert first.key not in stored and base64.b64encode(first.key) not in stored
    assert first.key.hex().encode() not in stored


def test_another_process_reads_the_same_key(secondme_home: Path) -> None:
    key = load_or_create_key(secondme_home).key
    code = "import sys; from pathlib import Path; from secondme.memory.keys import load_or_create_key; "
    code += "print(load_or_create_key(Path(sys.argv[1])).key.hex())"
    out = subprocess.run([sys.executable, "-c", code, str(secondme_home)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == key.hex()


def test_each_data_dir_has_its_own_key(tmp_path: Path) -> None:
    assert load_or_create_key(tmp_path / "a").key != load_or_create_key(tmp_path / "b").key


def test_a_wrong_passphrase_is_a_clear_error(secondme_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_or_create_key(secondme_home)
    keys._cache.clear()
    monkeypatch.setenv("SECONDME_KEYRING_PASSPHRASE", "not the passphrase")
    with pytest.raises(KeyStorageError, match="wrong SECONDME_KEYRING_PASSPHRASE"):
        load_or_create_key(secondme_home)


def test_without_a_passphrase_the_built_in_one_is_used_and_said(
    secondme_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SECONDME_KEYRING_PASSPHRASE")
    info = load_or_create_key(secondme_home)
    assert "built in" in info.backend and "casual" in info.backend


def test_system_keyring_requested_but_missing_is_an_error(secondme_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keyring.set_keyring(fail.Keyring())
    monkeypatch.setenv("SECONDME_KEYRING", "system")
    with pytest.raises(KeyStorageError, match="no OS keyring"):
        load_or_create_key(secondme_home)


def test_auto_uses_a_system_keyring_when_there_is_one(secondme_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    monkeypatch.delenv("SECONDME_KEYRING")
    info = load_or_create_key(secondme_home)
    assert info.backend.startswith("OS keyring")
    assert not (secondme_home / keys.KEYRING_FILE).exists()
    [(service, username)] = backend.items
    assert service == "SecondMe" and username == keys.key_username(keys.read_id(secondme_home) or "")
    assert base64.b64decode(backend.items[(service, username)]) == info.key


def test_auto_without_a_system_keyring_falls_back_to_the_file(
    secondme_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyring.set_keyring(fail.Keyring())
    monkeypatch.delenv("SECONDME_KEYRING")
    assert load_or_create_key(secondme_home).backend.startswith("encrypted file keyring")
    assert os.path.exists(secondme_home / keys.KEYRING_FILE)


def put_data(data_dir: Path) -> None:
    """Something written with the key, as the store leaves it."""
    with sqlite3.connect(data_dir / "memory.db") as db:
        db.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('key_check', 'x')")


def test_the_key_follows_a_moved_or_copied_data_dir_with_the_file_keyring(tmp_path: Path) -> None:
    first, moved, copy = tmp_path / "first", tmp_path / "moved", tmp_path / "中文 copy"
    key = load_or_create_key(first).key
    put_data(first)
    shutil.copytree(first, copy)
    first.rename(moved)
    keys._cache.clear()
    assert load_or_create_key(moved).key == key
    assert load_or_create_key(copy).key == key


def test_the_key_follows_a_moved_data_dir_with_an_os_keyring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyring.set_keyring(MemoryKeyring())
    monkeypatch.setenv("SECONDME_KEYRING", "system")
    first, moved = tmp_path / "first", tmp_path / "moved"
    first.mkdir()
    key = load_or_create_key(first).key
    put_data(first)
    first.rename(moved)
    keys._cache.clear()
    assert load_or_create_key(moved).key == key


@pytest.mark.parametrize("backend", ["file", "system"])
def test_a_data_dir_of_an_older_version_keeps_its_key_found_by_path(
    secondme_home: Path, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    os_keyring = MemoryKeyring()
    keyring.set_keyring(os_keyring)
    monkeypatch.setenv("SECONDME_KEYRING", backend)
    old_key = base64.b64encode(bytes(range(32))).decode()
    store, _ = keys._backend(secondme_home, backend)
    store.set_password(keys.SERVICE, "data-key:" + keys.path_id(secondme_home), old_key)  # as older versions did
    put_data(secondme_home)
    assert load_or_create_key(secondme_home).key == bytes(range(32))
    assert keys.read_id(secondme_home) == keys.path_id(secondme_home)
    moved = secondme_home.parent / "moved"
    secondme_home.rename(moved)
    keys._cache.clear()
    assert load_or_create_key(moved).key == bytes(range(32))


def test_a_deleted_keyring_file_is_refused_not_replaced(secondme_home: Path) -> None:
    load_or_create_key(secondme_home)
    put_data(secondme_home)
    (secondme_home / keys.KEYRING_FILE).unlink()
    keys._cache.clear()
    with pytest.raises(KeyStorageError) as refused:
        load_or_create_key(secondme_home)
    message = str(refused.value)
    assert str(secondme_home) in message and "no new key was made" in message
    assert "keyring.cfg from a backup" in message and "SECONDME_KEYRING_PASSPHRASE" in message
    assert not (secondme_home / keys.KEYRING_FILE).exists()


def test_a_deleted_os_keyring_entry_is_refused_not_replaced(
    secondme_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    os_keyring = MemoryKeyring()
    keyring.set_keyring(os_keyring)
    monkeypatch.setenv("SECONDME_KEYRING", "system")
    load_or_create_key(secondme_home)
    put_data(secondme_home)
    os_keyring.items.clear()
    keys._cache.clear()
    with pytest.raises(KeyStorageError, match="OS keyring entry 'SecondMe' / 'data-key:"):
        load_or_create_key(secondme_home)
    assert not os_keyring.items


def test_a_key_lost_before_any_data_was_written_is_made_again(secondme_home: Path) -> None:
    load_or_create_key(secondme_home)  # e.g. a crash after the identity was written, before the store was
    (secondme_home / keys.KEYRING_FILE).unlink()
    keys._cache.clear()
    assert len(load_or_create_key(secondme_home).key) == 32


def test_a_damaged_identity_is_a_clear_error(secondme_home: Path) -> None:
    load_or_create_key(secondme_home)
    (secondme_home / keys.ID_FILE).write_text("not an id")
    keys._cache.clear()
    with pytest.raises(KeyStorageError, match="data dir identity .*data-dir-id is damaged"):
        load_or_create_key(secondme_home)
