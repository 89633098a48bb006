"""Search quality on a labelled set: hybrid must recall more in the top 5 than either retriever alone."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from secondme.core.types import NewRecord
from secondme.memory.crypto import Cipher
from secondme.memory.store import MemoryStore
from secondme.models.embedder import MiniLMEmbedder

EVAL = Path(__file__).resolve().parent / "data" / "search_eval"
K = 5


def recall_at_k(store: MemoryStore, queries: list[dict], mode: str) -> float:
    """Mean over queries of the share of relevant notes found in the top K."""
    total = 0.0
    for query in queries:
        found = {hit.record.source_id for hit in store.search(query["query"], k=K, mode=mode)}
        total += len(found & set(query["relevant"])) / len(query["relevant"])
    return total / len(queries)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> MemoryStore:
    lines = (EVAL / "corpus.jsonl").read_text().splitlines()
    notes = [json.loads(line) for line in lines]
    opened = MemoryStore(tmp_path_factory.mktemp("eval"), Cipher(bytes(32)), MiniLMEmbedder())
    opened.add(
        NewRecord(text=n["text"], time=datetime.fromisoformat(n["time"]), source="notes", source_id=n["id"])
        for n in notes
    )
    return opened


def test_hybrid_recalls_more_than_either_retriever(store: MemoryStore) -> None:
    queries = json.loads((EVAL / "queries.json").read_text())
    assert len(queries) >= 30
    recall = {mode: recall_at_k(store, queries, mode) for mode in ("hybrid", "bm25", "vector")}
    print("recall@5 " + " ".join(f"{mode}={value:.3f}" for mode, value in recall.items()))
    assert recall["hybrid"] > recall["bm25"]
    assert recall["hybrid"] > recall["vector"]
