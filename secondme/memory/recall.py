"""The store as the chat engine sees it: its search goes through the retrieval pipeline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from secondme.core.types import NewRecord, SearchHit
from secondme.memory.retrieval import Retriever
from secondme.memory.store import AddResult, MemoryStore


class RecallingStore:
    """Query understanding, levels, recency and supersession on search; writes go to the store."""

    def __init__(self, store: MemoryStore, retriever: Retriever, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.retriever = retriever
        self.clock = clock

    def search(
        self, query: str, k: int = 10, *, exclude_sensitivity: Sequence[str] = (), exclude_sources: Sequence[str] = ()
    ) -> list[SearchHit]:
        memories = self.retriever.retrieve(query, k, now=self.clock(), exclude_sensitivity=exclude_sensitivity,
                                           exclude_sources=exclude_sources)
        return [replace(m.hit, score=m.score, level=m.level, superseded_by=m.superseded_by if m.outdated else None)
                for m in memories]

    def add(self, records: Sequence[NewRecord]) -> AddResult:
        return self.store.add(records)

    def forget(self, record_id: str) -> bool:
        return self.store.forget(record_id)
