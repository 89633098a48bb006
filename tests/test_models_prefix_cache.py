"""The prefix state store: compact encrypted round trip, damaged, foreign and old files, LRU eviction."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest

from secondme.memory.crypto import Cipher, Sealer
from secondme.models.prefix_cache import PrefixState, PrefixStore, prefix_key

SEALED_OVERHEAD = 8 + 12 + 16 + 8  # magic, nonce, tag, token count


@pytest.fixture
def sealer() -> Sealer:
    return Cipher(os.urandom(32)).sealer("prefix-cache")


def state(n: int, size: int) -> PrefixState:
    return PrefixState(tokens=np.arange(n, dtype=np.int32), state=bytes(range(256)) * (size // 256))


def test_round_trip_is_compact_and_encrypted(tmp_path: Path, sealer: Sealer) -> None:
    store = PrefixStore(tmp_path / "cache", sealer)
    path = store.save("k", state(1500, 4096))
    assert path.stat().st_size == SEALED_OVERHEAD + 4 * 1500 + 4096
    data = path.read_bytes()
    assert np.arange(1000, 1010, dtype="<i4").tobytes() not in data and bytes(range(256)) not in data
    loaded = store.load("k")
    assert loaded is not None
    assert loaded.tokens.tolist() == list(range(1500)) and loaded.state == state(1500, 4096).state
    assert store.load("missing") is None


def test_damaged_file_is_dropped(tmp_path: Path, sealer: Sealer) -> None:
    store = PrefixStore(tmp_path, sealer)
    path = store.save("k", state(10, 256))
    path.write_bytes(path.read_bytes()[:-1])
    assert store.load("k") is None and not path.exists()


def test_a_file_of_another_key_or_name_is_dropped(tmp_path: Path, sealer: Sealer) -> None:
    path = PrefixStore(tmp_path, Cipher(os.urandom(32)).sealer("prefix-cache")).save("k", state(10, 256))
    store = PrefixStore(tmp_path, sealer)
    assert store.load("k") is None and not path.exists()
    store.save("k", state(10, 256)).rename(tmp_path / "other.prefix")  # sealed to its name: not another's
    assert store.load("other") is None and not (tmp_path / "other.prefix").exists()


def test_files_of_the_old_clear_format_are_removed_on_sight(tmp_path: Path, sealer: Sealer) -> None:
    tokens = np.arange(10, dtype="<i4").tobytes()
    old = tmp_path / "abc.prefix"
    old.write_bytes(struct.pack("<8sQQ", b"SMPFX01\n", 10, 4) + tokens + b"kvkv")
    PrefixStore(tmp_path, sealer)
    assert not old.exists()


def test_keys_depend_on_model_and_tokens() -> None:
    assert prefix_key("model-a", [1, 2, 3]) != prefix_key("model-b", [1, 2, 3])
    assert prefix_key("model-a", [1, 2, 3]) != prefix_key("model-a", [1, 2, 4])
    assert prefix_key("model-a", [1, 2, 3]) == prefix_key("model-a", np.array([1, 2, 3]))


def test_least_recently_used_files_are_evicted(tmp_path: Path, sealer: Sealer) -> None:
    cache = tmp_path / "cache"
    store = PrefixStore(cache, sealer, max_files=2, max_bytes=10_000)
    for age, key in enumerate(["old", "used", "new"]):
        path = store.save(key, state(1, 1024))
        os.utime(path, ns=(age * 10**9, age * 10**9))
    store.load("used")  # touching it makes it the most recent
    store.save("newest", state(1, 1024))
    assert sorted(p.stem for p in cache.iterdir()) == ["newest", "used"]
    store.save("huge", state(1, 20_000))  # over the size cap alone: kept, everything else goes
    assert [p.stem for p in cache.iterdir()] == ["huge"]
