"""Disk cache of evaluated prompt prefixes: encrypted llama.cpp state files, kept LRU by mtime.

A prefix holds the system prompt (the owner's profile, secrets included), and llama.cpp's state is
derived from it: each file is sealed (AES-GCM) with a key derived from the data key, bound to its name."""

from __future__ import annotations

import ctypes
import hashlib
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

MAGIC = b"SMPFX02\n"  # then the sealed body: number of tokens, tokens, state
COUNT = struct.Struct("<Q")
SUFFIX = ".prefix"


class Sealer(Protocol):
    """Authenticated encryption of a file's bytes (secondme.memory.crypto.Sealer)."""

    def seal(self, data: bytes, context: bytes) -> bytes: ...

    def open(self, blob: bytes, context: bytes) -> bytes | None: ...


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
    """A directory of sealed prefix state files, capped in count and total size (oldest used go first);
    files of an older format (clear token ids) are removed on sight."""

    def __init__(self, directory: Path, sealer: Sealer, max_files: int = 4, max_bytes: int = 1 << 30) -> None:
        self.directory = directory
        self.sealer = sealer
        self.max_files = max_files
        self.max_bytes = max_bytes
        self._evict()

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}{SUFFIX}"

    def load(self, key: str) -> PrefixState | None:
        """The stored state for key, or None (a file that does not open with this key is removed)."""
        path = self._path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        body = self.sealer.open(data[len(MAGIC):], MAGIC + key.encode()) if data.startswith(MAGIC) else None
        prefix = _unpack(body) if body is not None else None
        if prefix is None:
            path.unlink(missing_ok=True)
            return None
        os.utime(path)  # mark as recently used
        return prefix

    def save(self, key: str, prefix: PrefixState) -> Path:
        """Write atomically, then evict the least recently used files beyond the caps."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(key)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        tokens = np.asarray(prefix.tokens, dtype="<i4")
        body = b"".join([COUNT.pack(len(tokens)), tokens.tobytes(), prefix.state])
        with tmp.open("wb") as out:
            out.write(MAGIC)
            out.write(self.sealer.seal(body, MAGIC + key.encode()))
        os.replace(tmp, path)
        self._evict()
        return path

    def _evict(self) -> None:
        for old in (file for file in self.directory.glob(f"*{SUFFIX}") if not _sealed(file)):
            old.unlink(missing_ok=True)
        files = sorted(self.directory.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        total = 0
        for index, file in enumerate(files):
            total += file.stat().st_size
            if index >= self.max_files or (index > 0 and total > self.max_bytes):
                file.unlink(missing_ok=True)


def _sealed(file: Path) -> bool:
    """Whether a cache file is of this format (an older one holds the token ids in the clear)."""
    try:
        with file.open("rb") as handle:
            return handle.read(len(MAGIC)) == MAGIC
    except OSError:
        return True  # gone meanwhile, or not ours to judge


def _unpack(body: bytes) -> PrefixState | None:
    """The prefix of an opened file's body; None if its lengths do not add up."""
    if len(body) < COUNT.size:
        return None
    (n_tokens,) = COUNT.unpack_from(body)
    if COUNT.size + 4 * n_tokens > len(body):
        return None
    tokens = np.frombuffer(body, dtype="<i4", count=n_tokens, offset=COUNT.size)
    return PrefixState(tokens=tokens, state=body[COUNT.size + 4 * n_tokens :])


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
