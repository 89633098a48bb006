"""Hybrid search: BM25 over keyed term hashes, cosine nearest neighbours, reciprocal rank fusion."""

from __future__ import annotations

import json
import math
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
_POSTFILTER = 8  # unfiltered neighbours fetched per candidate when a filter is set
_EXACT_MAX = 20_000  # a filter allowing at most this many records is searched exhaustively
_OVERFETCH = 4  # BM25 rows read per candidate kept, as some fall short of the minimum match


def candidates(k: int) -> int:
    """How many results each retriever hands to fusion for a top-`k` search."""
    return max(50, 5 * k)


def in_families(source: str, families: Sequence[str]) -> bool:
    """Whether `source` is one of these source families: a family is a source name and every
    `name:...` source (the family "guest" holds "guest:Tomas" and "guest:Bo")."""
    return any(source == family or source.startswith(f"{family}:") for family in families)


def families_sql(families: Sequence[str]) -> tuple[str, list[Any]]:
    """An SQL condition on `records r` true for sources of these families, and its parameters
    (`name:...` as a range, which the index on source answers)."""
    clauses = ["r.source = ? OR (r.source >= ? AND r.source < ?)"] * len(families)
    params = [value for family in families for value in (family, f"{family}:", f"{family};")]
    return " OR ".join(f"({c})" for c in clauses), params


@dataclass(frozen=True)
class Filters:
    """What a search is limited to: a time range (both ends inclusive), sources, sensitivities and
    source families (see `in_families`) left out."""

    since: datetime | None = None
    until: datetime | None = None
    sources: Sequence[str] | None = None
    exclude_sensitivity: Sequence[str] = ()
    exclude_sources: Sequence[str] = ()

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
        if self.exclude_sources:
            condition, values = families_sql(self.exclude_sources)
            clauses.append(f"NOT ({condition})")
            params.extend(values)
        return "".join(f" AND {c}" for c in clauses), params

    @property
    def active(self) -> bool:
        """Whether any condition is set."""
        return bool(self.since or self.until or self.sources or self.exclude_sensitivity or self.exclude_sources)

    def keep(self, db: sqlite3.Connection, ids: Sequence[str]) -> list[str]:
        """The ids, in order, of records that meet the conditions."""
        condition, params = self.sql()
        rows = db.execute(  # CROSS JOIN: look the ids up one by one, never scan an index of a filter
            f"SELECT r.id FROM json_each(?) AS j CROSS JOIN records r ON r.id = j.value WHERE 1{condition}",
            [json.dumps(list(ids)), *params],
        )
        allowed = {record_id for (record_id,) in rows}
        return [record_id for record_id in ids if record_id in allowed]

    def matching(self, db: sqlite3.Connection, limit: int) -> list[str]:
        """Up to `limit` ids of records that meet the conditions."""
        condition, params = self.sql()
        rows = db.execute(f"SELECT r.id FROM records r WHERE 1{condition} LIMIT ?", [*params, limit])
        return [record_id for (record_id,) in rows]

    def where(self, db: sqlite3.Connection) -> dict[str, Any] | None:
        """The same conditions as a chromadb metadata filter (the families left out are looked up in
        `db`: chromadb matches whole values only)."""
        conditions: list[dict[str, Any]] = []
        if self.since is not None:
            conditions.append({"time_ts": {"$gte": self.since.timestamp()}})
        if self.until is not None:
            conditions.append({"time_ts": {"$lte": self.until.timestamp()}})
        if self.sources:
            conditions.append({"source": {"$in": [str(s) for s in self.sources]}})
        if self.exclude_sensitivity:
            conditions.append({"sensitivity": {"$nin": [str(s) for s in self.exclude_sensitivity]}})
        if self.exclude_sources:
            condition, params = families_sql(self.exclude_sources)
            hidden = [source for (source,) in db.execute(f"SELECT DISTINCT r.source FROM records r WHERE {condition}",
                                                         params)]
            if hidden:
                conditions.append({"source": {"$nin": hidden}})
        if len(conditions) > 1:
            return {"$and": conditions}
        return conditions[0] if conditions else None


def bm25_ranking(db: sqlite3.Connection, cipher: Cipher, query: str, filters: Filters, limit: int) -> list[str]:
    """Record ids matching at least half the query's words (a "minimum should match" of 50%, as
    search engines use for OR queries), best BM25 score first. Records matching one word of a long
    query are weak evidence that would only crowd fusion; the vector retriever covers them."""
    hashed = set(cipher.term(t) for t in tokens(query))
    if not hashed:
        return []
    needed = math.ceil(len(hashed) / 2)
    condition, params = filters.sql()
    rows = db.execute(
        "SELECT r.id, records_fts.terms FROM records_fts JOIN records r ON r.rowid = records_fts.rowid "
        f"WHERE records_fts MATCH ?{condition} ORDER BY bm25(records_fts) LIMIT ?",
        [" OR ".join(f'"{h}"' for h in sorted(hashed)), *params, limit * _OVERFETCH],
    )
    ranked = [record_id for record_id, terms in rows if len(hashed.intersection(terms.split())) >= needed]
    return ranked[:limit]


def vector_ranking(
    db: sqlite3.Connection, index: VectorIndex, vector: Sequence[float], filters: Filters, limit: int
) -> list[str]:
    """Record ids nearest to `vector` by cosine distance, among those the filters allow.

    chromadb's metadata filters scan every entry (~130 ms at 100k records), so filtering starts
    with unfiltered neighbours checked against SQLite. When too few of them pass, the records the
    filter allows are compared exhaustively, or, if there are very many, chromadb's `where` is used."""
    if not filters.active:
        return [record_id for record_id, _ in index.query(vector, limit)]
    fetch = _POSTFILTER * limit
    nearest = [record_id for record_id, _ in index.query(vector, fetch)]
    kept = filters.keep(db, nearest)
    if len(kept) >= limit:  # (HNSW may return fewer than asked, so a short list proves nothing)
        return kept[:limit]
    allowed = filters.matching(db, _EXACT_MAX + 1)
    if len(allowed) <= _EXACT_MAX:  # chromadb's filtered HNSW can miss all of a few allowed entries
        return index.nearest_among(vector, allowed, limit)
    return [record_id for record_id, _ in index.query(vector, limit, filters.where(db))]


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
