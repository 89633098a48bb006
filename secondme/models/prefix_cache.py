"""Disk cache of evaluated prompt prefixes: compact llama.cpp state files, kept LRU by mtime."""

from __future__ import annotations

import ctypes
import hashlib
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"SMPFX01\n"
HEADER = struct.Struct("<8sQQ")  # magic, number of tokens, state bytes
SUFFIX = ".prefix"


@dataclass(frozen=True)
class PrefixState:
    """The token ids of a prefix and llama.cpp's raw context state after evaluating them."""

    tokens: np.ndarray
    state: bytes


def prefix_key(identity: str, tokens: Sequence[int]) -> str:
    """A file-safe key for a prefix of a given model (identity covers model and runtime)."""
    digest = hashlib.sha256(identity.encode())
    digest.update(np.asarray(tokens, dtype="<i4").tobytes())
    return digest.hexdigest()


class PrefixStore:
    """A directory of prefix state files, capped in count and total size (oldest used go first)."""

    def __init__(self, directory: Path, max_files: int = 4, max_bytes: int = 1 << 30) -> None:
        self.directory = directory
        self.max_files = max_files
        self.max_bytes = max_bytes

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}{SUFFIX}"

    def load(self, key: str) -> PrefixState | None:
        """The stored state for key, or None (an unreadable file is removed)."""
        path = self._path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        magic, n_tokens, n_state = HEADER.unpack_from(data) if len(data) >= HEADER.size else (b"", 0, 0)
        if magic != MAGIC or len(data) != HEADER.size + 4 * n_tokens + n_state:
            path.unlink(missing_ok=True)
            return None
        os.utime(path)  # mark as recently used
        tokens = np.frombuffer(data, dtype="<i4", count=n_tokens, offset=HEADER.size)
        return PrefixState(tokens=tokens, state=data[HEADER.size + 4 * n_tokens :])

    def save(self, key: str, prefix: PrefixState) -> Path:
        """Write atomically, then evict the least recently used files beyond the caps."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(key)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        tokens = np.asarray(prefix.tokens, dtype="<i4")
        with tmp.open("wb") as out:
            out.write(HEADER.pack(MAGIC, len(tokens), len(prefix.state)))
            out.write(tokens.tobytes())
            out.write(prefix.state)
        os.replace(tmp, path)
        self._evict()
        return path

    def _evict(self) -> None:
        files = sorted(self.directory.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        total = 0
        for index, file in enumerate(files):
            total += file.stat().st_size
            if index >= self.max_files or (index > 0 and total > self.max_bytes):
                file.unlink(missing_ok=True)


def capture(llama: Any) -> PrefixState:
    """Snapshot the evaluated tokens and context state of a llama_cpp.Llama (no logits array)."""
    import llama_cpp

    ctx = llama._ctx.ctx
    size = llama_cpp.llama_state_get_size(ctx)
    buffer = (ctypes.c_uint8 * size)()
    written = llama_cpp.llama_state_get_data(ctx, buffer, size)
    tokens = np.array(llama.input_ids[: llama.n_tokens], dtype="<i4")
    return PrefixState(tokens=tokens, state=bytes(memoryview(buffer)[:written]))


def restore(llama: Any, prefix: PrefixState) -> bool:
    """Load a snapshot into a llama_cpp.Llama; the next generate() reuses it as a prefix."""
    import llama_cpp

    buffer = (ctypes.c_uint8 * len(prefix.state)).from_buffer_copy(prefix.state)
    if llama_cpp.llama_state_set_data(llama._ctx.ctx, buffer, len(prefix.state)) != len(prefix.state):
        llama.reset()
        return False
    n = len(prefix.tokens)
    llama.input_ids[:n] = prefix.tokens
    llama.n_tokens = n
    llama._requires_eval = True  # logits are not restored: generate() decodes a suffix first
    return True
