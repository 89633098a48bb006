"""Benchmark: hybrid search latency at 10k and 100k records, query embedding excluded.

Synthetic notes (pseudo-words drawn per topic, Zipf-like) get vectors near their topic's centre,
so both retrievers see realistic clusters. Baselines in the same run: BM25 alone, vector alone,
and a brute-force numpy scan over every vector. Run: python bench/search.py [--quick].
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from secondme.core.types import NewRecord
from secondme.memory.crypto import Cipher
from secondme.memory.store import MemoryStore

DIM = 384
TOPICS = 200
QUERIES = 200
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "qui", "dor", "fen", "gal", "hu", "jor"]


class TopicEmbedder:
    """Stands in for the model at insertion: each text's vector lies near its topic's centre."""

    name = "bench-topics"
    dimension = DIM

    def __init__(self, centres: np.ndarray, topic_of: dict[str, int], rng: np.random.Generator) -> None:
        self._centres, self._topic_of, self._rng = centres, topic_of, rng

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        rows = self._centres[[self._topic_of[t] for t in texts]]
        return unit(rows + 0.6 * self._rng.normal(size=rows.shape) / np.sqrt(DIM)).tolist()


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def vocabulary(rng: np.random.Generator, size: int = 8000) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES, size=rng.integers(2, 5))))
    return sorted(words)


def corpus(n: int, rng: np.random.Generator) -> tuple[list[NewRecord], list[int], list[list[str]]]:
    """n notes, each note's topic, and each topic's words."""
    words = vocabulary(rng)
    zipf = 1.0 / np.arange(1, len(words) + 1)
    zipf /= zipf.sum()
    topic_words = [list(rng.choice(words, size=40, replace=False)) for _ in range(TOPICS)]
    topics = rng.integers(0, TOPICS, size=n).tolist()
    start = datetime(2022, 1, 1, tzinfo=UTC)
    records = []
    for i, topic in enumerate(topics):
        length = int(rng.integers(15, 40))
        own = rng.choice(topic_words[topic], size=int(length * 0.6))
        common = rng.choice(words, size=length - len(own), p=zipf)
        text = f"{i} " + " ".join(rng.permutation(np.concatenate([own, common])))
        records.append(
            NewRecord(
                text=text,
                time=start + timedelta(minutes=15 * i),
                source=("notes", "chat", "mail", "voice")[i % 4],
                source_id=f"bench-{i}",
                origin=f"bench-{i // 50}",
            )
        )
    return records, topics, topic_words


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2), "p95_ms": round(p95 * 1000, 2)}


def timed(run: Callable[[int], object], count: int) -> dict[str, float]:
    run(0)  # warm caches
    samples = []
    for i in range(count):
        began = time.perf_counter()
        run(i)
        samples.append(time.perf_counter() - began)
    return percentiles(samples)


Timings = dict[str, dict[str, float]]


def bench(n: int, rng: np.random.Generator) -> tuple[float, Timings]:
    """Insert n synthetic notes; the insertion seconds and p50/p95 of each way to search."""
    records, topics, topic_words = corpus(n, rng)
    centres = unit(rng.normal(size=(TOPICS, DIM)))
    embedder = TopicEmbedder(centres, {r.text: t for r, t in zip(records, topics, strict=True)}, rng)
    folder = Path(tempfile.mkdtemp(prefix="secondme-bench-"))
    try:
        store = MemoryStore(folder, Cipher(bytes(32)), embedder)
        began = time.perf_counter()
        store.add(records, batch_size=2000)
        insert_s = time.perf_counter() - began
        query_topics = rng.integers(0, TOPICS, size=QUERIES)
        texts = [" ".join(rng.choice(topic_words[t], size=int(rng.integers(2, 5)))) for t in query_topics]
        vectors = unit(centres[query_topics] + 0.8 * rng.normal(size=(QUERIES, DIM)) / np.sqrt(DIM))
        matrix = unit(np.asarray(embedder.embed([r.text for r in records])))
        since = datetime(2022, 6, 1, tzinfo=UTC)

        def search(mode: str, **filters: object) -> Callable[[int], object]:
            return lambda i: store.search(texts[i], k=10, mode=mode, query_vector=vectors[i].tolist(), **filters)  # type: ignore[arg-type]

        def brute_force(i: int) -> object:
            return np.argpartition(-(matrix @ vectors[i]), 50)[:50]

        timings = {mode: timed(search(mode), QUERIES) for mode in ("hybrid", "bm25", "vector")}
        timings["hybrid_filtered"] = timed(search("hybrid", sources=["notes"], since=since), QUERIES)
        timings["numpy_scan"] = timed(brute_force, QUERIES)
        store.close()
        return insert_s, timings
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k records only (CI size)")
    sizes = [10_000] if parser.parse_args().quick else [10_000, 100_000]
    rng = np.random.default_rng(7)
    headline: dict[str, dict[str, float]] = {}
    for n in sizes:
        insert_s, timings = bench(n, rng)
        print(f"\n{n} records, inserted in {insert_s:.1f} s (embedding stand-in, batches of 2000)")
        hybrid = timings["hybrid"]["p95_ms"]
        for name, stats in timings.items():
            print(
                f"  {name:16s} p50 {stats['p50_ms']:8.2f} ms  p95 {stats['p95_ms']:8.2f} ms  "
                f"hybrid p95 / this p95 = {hybrid / max(stats['p95_ms'], 1e-6):.2f}"
            )
        headline[f"{n // 1000}k"] = {
            "hybrid_p50_ms": timings["hybrid"]["p50_ms"],
            "hybrid_p95_ms": hybrid,
            "numpy_scan_p95_ms": timings["numpy_scan"]["p95_ms"],
            "insert_s": round(insert_s, 1),
        }
    print(json.dumps({"bench": "search", "goal_p95_ms_at_100k": 50, **headline}))


if __name__ == "__main__":
    main()
