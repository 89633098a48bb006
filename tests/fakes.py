"""Deterministic stand-ins for model backends, for fast tests of the logic around them."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

from secondme.memory.terms import tokens


class HashEmbedder:
    """Hashed bag of words in 384 dims, L2-normalised: texts sharing words are near each other."""

    name = "fake-hash-bow"
    dimension = 384

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        return [self._one(text) for text in texts]

    def _one(self, text: str) -> list[float]:
        vector = [0.0] * self.dimension
        for token in tokens(text) or ["<empty>"]:
            digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
            slot = int.from_bytes(digest[:4], "little") % self.dimension
            vector[slot] += 1.0 if digest[4] & 1 else -1.0
        norm = math.sqrt(sum(x * x for x in vector))
        if norm == 0.0:  # opposite signs cancelled out: any fixed unit vector will do
            vector[0] = norm = 1.0
        return [x / norm for x in vector]
