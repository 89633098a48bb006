"""Several processes on one data dir: first-run set-up under a lock, a key that follows the data, private files."""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from secondme.app import build
from secondme.memory import keys
from secondme.models.embedder import MiniLMEmbedder

TRIALS = int(os.environ.get("SECONDME_RACE_TRIALS", "6"))  # the closing note's figure: 20


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    """The real embedder, loaded once for every read-back in this module."""
    return MiniLMEmbedder()


def start(home: Path, *args: str) -> subprocess.Popen[str]:
    """`python -m secondme ARGS` on `home` as a separate process, with the test keyring settings."""
    env = {**os.environ, "SECONDME_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-m", "secondme", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(processes: list[subprocess.Popen[str]]) -> list[str]:
    """Wait for every process; the failures, one line each."""
    failures = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=600)
        if process.returncode:
            failures.append(f"rc {process.returncode}: {stderr.strip() or stdout.strip()}")
    return failures


def stored_texts(home: Path, embedder: MiniLMEmbedder) -> Counter[str]:
    """Every record's decrypted text, read back as a new process would (a fresh key lookup)."""
    keys._cache.clear()
    services = build(data_dir=home, embedder=embedder)
    try:
        ids = [record_id for (record_id,) in services.store.query("SELECT id FROM records")]
        return Counter(record.text for record in services.store.records(ids))
    finally:
        services.close()


def remembered(trial: int, n: int) -> str:
    return f"trial {trial} memory {n}: the kite is blue" if n % 2 else f"第{trial}次试验 记忆{n}：风筝是蓝色的"


def test_commands_started_together_on_a_fresh_data_dir_all_keep_their_memory(
    tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    failed = []
    for trial in range(TRIALS):
        home = tmp_path / f"trial-{trial}"
        texts = [remembered(trial, n) for n in range(2 + trial % 3)]  # 2, 3 or 4 processes at once
        errors = finish([start(home, "remember", text) for text in texts])
        try:
            kept = stored_texts(home, embedder)
        except Exception as error:  # noqa: BLE001 - an unreadable data dir is the failure counted here
            errors.append(f"unreadable: {error}")
            kept = Counter()
        if errors or kept != Counter(texts):
            failed.append(f"trial {trial}: {errors or kept}")
    print(f"\nrace: {TRIALS - len(failed)}/{TRIALS} trials kept every memory")
    assert not failed, "\n".join(failed)


def write_notes(folder: Path, name: str, count: int) -> list[str]:
    """`count` one-paragraph notes (one record each), every other one in Chinese; their texts."""
    folder.mkdir(parents=True)
    texts = []
    for n in range(count):
        text = f"{name} note {n}: walked to the lake." if n % 2 else f"{name} 笔记{n}：今天在湖边散步。"
        (folder / f"{name}-{n}.md").write_text(f"# {name} {n}\n\n{text}\n", encoding="utf-8")
        texts.append(text)
    return texts


def test_four_processes_ingesting_and_remembering_at_once_keep_every_record_once(
    tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    home = tmp_path / "fresh"
    first, second = write_notes(tmp_path / "a", "alpha", 12), write_notes(tmp_path / "b", "beta", 12)
    said = ["remembered: the spare key is under the blue pot", "记住：备用钥匙在蓝色花盆下面"]
    processes = [start(home, "ingest", str(tmp_path / "a")), start(home, "ingest", str(tmp_path / "b"))]
    processes += [start(home, "remember", text) for text in said]
    assert finish(processes) == []
    expected = first + second + said
    assert stored_texts(home, embedder) == Counter(expected)
    keys._cache.clear()
    services = build(data_dir=home, embedder=embedder)
    try:
        for text in expected:  # found through the keyed full-text index and through the vector index
            assert [hit.record.text for hit in services.store.search(text, k=1, mode="bm25")] == [text]
            assert [hit.record.text for hit in services.store.search(text, k=1, mode="vector")] == [text]
    finally:
        services.close()


def search(home: Path, query: str) -> list[str]:
    """The texts `secondme search QUERY` finds, run as its own process."""
    process = start(home, "search", query, "--json")
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr
    return [hit["text"] for hit in json.loads(stdout)]


@pytest.mark.parametrize("text", ["the kite is blue", "风筝是蓝色的"])
def test_a_moved_or_copied_data_dir_stays_readable(tmp_path: Path, text: str) -> None:
    first, moved, copy = tmp_path / "first", tmp_path / "moved", tmp_path / "副本 copy"
    assert finish([start(first, "remember", text)]) == []
    first.rename(moved)
    assert search(moved, text) == [text]
    shutil.copytree(moved, copy)
    assert finish([start(copy, "remember", "only in the copy")]) == []
    assert search(copy, text)[0] == text and len(search(copy, "only in the copy")) == 2
    assert search(moved, text) == [text]


def record_count(home: Path) -> int:
    with sqlite3.connect(home / "memory.db") as db:
        return db.execute("SELECT count(*) FROM records").fetchone()[0]


def test_a_deleted_keyring_file_is_refused_and_no_new_key_is_written(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert finish([start(home, "remember", "the kite is blue")]) == []
    (home / keys.KEYRING_FILE).unlink()
    for command in (["search", "kite"], ["remember", "a new memory"]):
        [failure] = finish([start(home, *command)])
        assert f"the key of the data dir {home} is missing" in failure and "no new key was made" in failure
        assert "keyring.cfg from a backup" in failure
        assert not (home / keys.KEYRING_FILE).exists()
    assert record_count(home) == 1


def modes(home: Path) -> dict[str, int]:
    """The permission bits of the data dir and of everything in it, by relative path."""
    found = {".": stat.S_IMODE(home.stat().st_mode)}
    for path in home.rglob("*"):
        if not path.is_symlink():
            found[str(path.relative_to(home))] = stat.S_IMODE(path.stat().st_mode)
    return found


def test_a_new_data_dir_and_everything_in_it_are_private(tmp_path: Path) -> None:
    home = tmp_path / "new" / "数据"
    before = os.umask(0o022)  # the usual umask: SecondMe must not depend on a strict one
    try:
        assert finish([start(home, "remember", "the kite is blue")]) == []
        assert finish([start(home, "config", "set", "owner.name", "Ada")]) == []
    finally:
        os.umask(before)
    found = modes(home)
    assert {"memory.db", "keyring.cfg", "config.json", keys.ID_FILE, "chroma"} <= found.keys()
    assert found["."] == 0o700
    assert {path: mode for path, mode in found.items() if mode & 0o077} == {}


def test_a_data_dir_of_an_older_version_keeps_its_key_and_is_made_private(tmp_path: Path) -> None:
    home = tmp_path / "old"
    before = os.umask(0o022)
    try:  # as an older version left it: the key under a hash of the path, no identity, files readable by others
        home.mkdir()
        backend, _ = keys._backend(home, "file")
        backend.set_password(keys.SERVICE, f"data-key:{keys.path_id(home)}", base64.b64encode(bytes(32)).decode())
        (home / "prefix-cache").mkdir()
        (home / "prefix-cache" / "old.prefix").write_bytes(b"cached")
        for path in [home, *home.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        assert finish([start(home, "remember", "the kite is blue")]) == []
    finally:
        os.umask(before)
    assert (home / keys.ID_FILE).read_text().strip() == keys.path_id(home)
    keys._cache.clear()
    assert keys.load_or_create_key(home).key == bytes(32)
    assert search(home, "kite") == ["the kite is blue"]
    assert {path: mode for path, mode in modes(home).items() if mode & 0o077} == {}
