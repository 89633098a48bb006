"""The prefix state store: compact round trip, damaged files, LRU eviction."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from secondme.models.prefix_cache import PrefixState, PrefixStore, prefix_key


def state(n: int, size: int) -> PrefixState:
    return PrefixState(tokens=np.arange(n, dtype=np.int32), state=bytes(range(256)) * (size // 256))


def test_round_trip_is_compact(tmp_path: Path) -> None:
    store = PrefixStore(tmp_path / "cache")
    path = store.save("k", state(1500, 4096))
    assert path.stat().st_size == 24 + 4 * 1500 + 4096
    loaded = store.load("k")
    assert loaded is not None
    assert loaded.tokens.tolist() == list(range(1500)) and loaded.state == state(1500, 4096).state
    assert store.load("missing") is None


def test_damaged_file_is_dropped(tmp_path: Path) -> None:
    store = PrefixStore(tmp_path)
    path = store.save("k", state(10, 256))
    path.write_bytes(path.read_bytes()[:-1])
    assert store.load("k") is None and not path.exists()


def test_keys_depend_on_model_and_tokens() -> None:
    assert prefix_key("model-a", [1, 2, 3]) != prefix_key("model-b", [1, 2, 3])
    assert prefix_key("model-a", [1, 2, 3]) != prefix_key("model-a", [1, 2, 4])
    assert prefix_key("model-a", [1, 2, 3]) == prefix_key("model-a", np.array([1, 2, 3]))


def test_least_recently_used_files_are_evicted(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    store = PrefixStore(cache, max_files=2, max_bytes=10_000)
    for age, key in enumerate(["old", "used", "new"]):
        path = store.save(key, state(1, 1024))
        os.utime(path, ns=(age * 10**9, age * 10**9))
    store.load("used")  # touching it makes it the most recent
    store.save("newest", state(1, 1024))
    assert sorted(p.stem for p in cache.iterdir()) == ["newest", "used"]
    store.save("huge", state(1, 20_000))  # over the size cap alone: kept, everything else goes
    assert [p.stem for p in cache.iterdir()] == ["huge"]
