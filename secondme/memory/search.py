"""Hybrid search: BM25 over keyed term hashes, cosine nearest neighbours, reciprocal rank fusion."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from secondme.errors import StoreError
from secondme.memory.crypto import Cipher
from secondme.memory.terms import tokens
from secondme.memory.vectors import VectorIndex

MODES = ("hybrid", "bm25", "vector")
RRF_K = 60


def candidates(k: int) -> int:
    """How many results each retriever hands to fusion for a top-`k` search."""
    return max(50, 5 * k)


@dataclass(frozen=True)
class Filters:
    """What a search is limited to: a time range (both ends inclusive), sources, sensitivities left out."""

    since: datetime | None = None
    until: datetime | None = None
    sources: Sequence[str] | None = None
    exclude_sensitivity: Sequence[str] = ()

    def sql(self) -> tuple[str, list[Any]]:
        """An SQL condition on `records r` (with a leading AND when not empty) and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.since is not None:
            clauses.append("r.time_ts >= ?")
            params.append(self.since.timestamp())
        if self.until is not None:
            clauses.append("r.time_ts <= ?")
            params.append(self.until.timestamp())
        for column, values, op in (
            ("source", self.sources, "IN"),
            ("sensitivity", self.exclude_sensitivity, "NOT IN"),
        ):
            if values:
                clauses.append(f"r.{column} {op} ({', '.join('?' * len(values))})")
                params.extend(str(v) for v in values)
        return "".join(f" AND {c}" for c in clauses), params

    def where(self) -> dict[str, Any] | None:
        """The same conditions as a chromadb metadata filter."""
        conditions: list[dict[str, Any]] = []
        if self.since is not None:
            conditions.append({"time_ts": {"$gte": self.since.timestamp()}})
        if self.until is not None:
            conditions.append({"time_ts": {"$lte": self.until.timestamp()}})
        if self.sources:
            conditions.append({"source": {"$in": [str(s) for s in self.sources]}})
        if self.exclude_sensitivity:
            conditions.append({"sensitivity": {"$nin": [str(s) for s in self.exclude_sensitivity]}})
        if len(conditions) > 1:
            return {"$and": conditions}
        return conditions[0] if conditions else None


def bm25_ranking(db: sqlite3.Connection, cipher: Cipher, query: str, filters: Filters, limit: int) -> list[str]:
    """Record ids whose words match any query word, best BM25 score first."""
    hashed = dict.fromkeys(cipher.term(t) for t in tokens(query))
    if not hashed:
        return []
    condition, params = filters.sql()
    rows = db.execute(
        "SELECT r.id FROM records_fts JOIN records r ON r.rowid = records_fts.rowid "
        f"WHERE records_fts MATCH ?{condition} ORDER BY bm25(records_fts) LIMIT ?",
        [" OR ".join(f'"{h}"' for h in hashed), *params, limit],
    )
    return [record_id for (record_id,) in rows]


def vector_ranking(index: VectorIndex, vector: Sequence[float], filters: Filters, limit: int) -> list[str]:
    """Record ids nearest to `vector` by cosine distance."""
    return [record_id for record_id, _ in index.query(vector, limit, filters.where())]


def fuse(rankings: dict[str, list[str]], k: int = RRF_K) -> list[tuple[str, float, dict[str, int]]]:
    """Reciprocal rank fusion: (id, score, {retriever: 1-based rank}), best first."""
    scores: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    for retriever, ids in rankings.items():
        for rank, record_id in enumerate(ids, start=1):
            scores[record_id] = scores.get(record_id, 0.0) + 1.0 / (k + rank)
            ranks.setdefault(record_id, {})[retriever] = rank
    ordered = sorted(scores, key=lambda record_id: -scores[record_id])
    return [(record_id, scores[record_id], ranks[record_id]) for record_id in ordered]


def check_mode(mode: str) -> None:
    """StoreError unless `mode` is one of MODES."""
    if mode not in MODES:
        raise StoreError(f"unknown search mode {mode!r}: use one of {', '.join(MODES)}")
