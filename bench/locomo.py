"""Benchmark: recall of LoCoMo evidence turns by BM25, vectors, hybrid search and the retrieval pipeline.

Each conversation goes into its own memory (real SQLite, chromadb and MiniLM), one record a turn.
For every question of categories 1-4 with evidence, each mode's top 10 is checked: an item hits
when it is an evidence turn or a summary linked (through summary_links) to one. Recall@k is the
share of a question's evidence turns hit in the top k, averaged over questions.
With --with-summaries, each conversation is consolidated first (segment summaries, topics,
profile) by the built-in model; the consolidated memory is kept under
~/.cache/secondme-bench/locomo/ so a re-run (or a run that was killed) does not redo that work.
BM25, vector and hybrid then rank the raw turns only; "pipeline" ranks turns, segments and topics.
--consolidated-only scores just the cached conversations whose consolidation has finished, so a
consolidation spread over several runs can be measured as it grows.
Run: python bench/locomo.py [--quick] [--conversations N] [--with-summaries | --consolidated-only] [--model small].
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from secondme.core.types import NewRecord
from secondme.memory.crypto import Cipher
from secondme.memory.retrieval import Memory, Retriever, level_of
from secondme.memory.store import MemoryStore
from secondme.models.embedder import MiniLMEmbedder

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo" / "locomo10.json"
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
MODES = ("bm25", "vector", "hybrid", "pipeline")
SAME_TURNS = "same_budget"  # hybrid's recall with the pipeline top 10's text size, and with its turns
K = 10
CACHE = Path.home() / ".cache" / "secondme-bench" / "locomo"
_EVIDENCE = re.compile(r"D:?(\d+):0*(\d+)")  # also reads the data's slips "D:11:26" and "D30:05"


def session_time(text: str) -> datetime:
    """ "1:56 pm on 8 May, 2023" as a UTC time."""
    return datetime.strptime(text, "%I:%M %p on %d %B, %Y").replace(tzinfo=UTC)


def turns(sample: dict) -> list[NewRecord]:
    """One record a turn, "Speaker: text", a few seconds apart within a session to keep their order."""
    conversation = sample["conversation"]
    sessions = sorted(int(key.split("_")[1]) for key in conversation if re.fullmatch(r"session_\d+", key))
    records = []
    for n in sessions:
        start = session_time(conversation[f"session_{n}_date_time"])
        for i, turn in enumerate(conversation[f"session_{n}"]):
            records.append(
                NewRecord(
                    text=f"{turn['speaker']}: {turn['text']}",
                    time=start + timedelta(seconds=10 * i),
                    source="locomo",
                    source_id=turn["dia_id"],
                    kind="message",
                    origin=f"locomo:{sample['sample_id']}:session_{n}",
                )
            )
    return records


def evidence_ids(question: dict, record_of: dict[str, str]) -> set[str]:
    """The record ids of a question's evidence turns (ids the data does not hold are dropped)."""
    dia_ids = {f"D{a}:{b}" for a, b in _EVIDENCE.findall(" ".join(question.get("evidence", [])))}
    return {record_of[d] for d in dia_ids if d in record_of}


def summariser(model_name: str, timing: dict[str, float]) -> Callable[[MemoryStore, str], None]:
    """A function that consolidates a store of an owner's memories with the built-in model
    `model_name`, adding the turns and seconds it took to `timing`."""
    from secondme.memory.consolidation import Consolidator, pending
    from secondme.models.bundled import ensure_model
    from secondme.models.llama import LlamaChatModel

    cache = Path(os.environ.get("SECONDME_TEST_CACHE", Path.home() / ".cache" / "secondme-tests")) / "models"
    model = LlamaChatModel(ensure_model(model_name, cache), n_ctx=4096, n_threads=os.cpu_count() or 2)

    def summarise(store: MemoryStore, owner: str) -> None:
        waiting = pending(store)
        report = Consolidator(store, model, owner=owner).run()
        print(
            f"  {report.segments} segments, {report.topics} topic rewrites, {report.statements} profile "
            f"statements, {report.failures} failures in {report.seconds:.0f} s"
        )
        if report.segments:  # a cached memory consolidated before is not timed again
            timing["turns"] = timing.get("turns", 0) + waiting
            timing["seconds"] = timing.get("seconds", 0.0) + report.seconds

    return summarise


def cached(sample: dict, model_name: str) -> Path:
    """Where a conversation's consolidated memory is kept between runs."""
    return CACHE / f"{sample['sample_id']}-{model_name}"


def consolidated(folder: Path, embedder: MiniLMEmbedder) -> bool:
    """Whether a cached memory exists with nothing left to consolidate (segments, topics, profile)."""
    from secondme.memory.consolidation import backlog

    if not (folder / "memory.db").exists():
        return False
    store = MemoryStore(folder, Cipher(bytes(32)), embedder)
    try:
        return store.count() > 0 and not any(backlog(store).values())
    finally:
        store.close()


class Evaluator:
    """One conversation's memory, searched in every mode; items are mapped to the turns they cover."""

    def __init__(self, store: MemoryStore, people: Sequence[str], now: datetime) -> None:
        self.store = store
        self.retriever = Retriever(store, known_people=people)
        self.now = now
        self._covers: dict[str, set[str]] = {}

    def ranking(self, mode: str, question: str) -> list[Memory]:
        if mode == "pipeline":
            return self.retriever.retrieve(question, K, now=self.now)
        hits = self.store.search(question, K, mode=mode, sources=["locomo"])
        return [Memory(hit, level_of(hit.record)) for hit in hits]

    def covers(self, memory: Memory) -> set[str]:
        """The raw record ids an item stands for: itself, or what a summary links to."""
        record_id = memory.hit.record.id
        if record_id not in self._covers:
            self._covers[record_id] = {record.id for record in self.retriever.expand(memory)}
        return self._covers[record_id]

    def score(self, ranking: list[Memory], evidence: set[str]) -> Score:
        """Recall@5 and @10 in percent, and how many turns the top 10 stand for (10 without summaries)."""
        top5, top10 = (set().union(*(self.covers(memory) for memory in ranking[:k])) for k in (5, K))
        return 100 * len(top5 & evidence) / len(evidence), 100 * len(top10 & evidence) / len(evidence), len(top10)


Score = tuple[float, float, float]
Scores = dict[str, dict[int, list[Score]]]  # mode -> category -> a Score per question


def run_conversation(
    sample: dict,
    embedder: MiniLMEmbedder,
    scores: Scores,
    latency: dict[str, list[float]],
    summarise: Callable[[MemoryStore, str], None] | None,
    folder: Path | None = None,
) -> None:
    """Store (or reopen from `folder`) one conversation, consolidate it if asked, score every mode."""
    records = turns(sample)
    with tempfile.TemporaryDirectory(prefix="secondme-locomo-") as scratch:
        store = MemoryStore(folder or Path(scratch), Cipher(bytes(32)), embedder)
        began = time.perf_counter()
        added = len(store.add(records).added)
        print(f"{sample['sample_id']}: {len(records)} turns, {added} stored in {time.perf_counter() - began:.1f} s")
        conversation = sample["conversation"]
        people = [conversation["speaker_a"], conversation["speaker_b"]]
        if summarise is not None:
            summarise(store, people[0])  # the owner is the first speaker
        record_of = {r.source_id: r.id for r in store.records(
            [i for (i,) in store.query("SELECT id FROM records WHERE source = 'locomo'")])}
        evaluator = Evaluator(store, people, max(r.time for r in records))
        for question in sample["qa"]:
            evidence = evidence_ids(question, record_of)
            if question["category"] not in CATEGORIES or not evidence:
                continue
            for mode in MODES:
                began = time.perf_counter()
                ranking = evaluator.ranking(mode, question["question"])
                latency[mode].append(time.perf_counter() - began)
                scores[mode].setdefault(question["category"], []).append(evaluator.score(ranking, evidence))
            baselines(store, question, evidence, ranking, scores)
        store.close()


def baselines(store: MemoryStore, question: dict, evidence: set[str], pipeline: list[Memory], scores: Scores) -> None:
    """The fair baselines for the pipeline's top 10: hybrid search over turns given as many turns as
    those 10 items stand for, and given as much text as they hold (what a prompt pays for)."""
    turns_covered = int(scores["pipeline"][question["category"]][-1][2])
    chars = sum(len(memory.record.text) for memory in pipeline[:K])
    found = store.search(question["question"], max(turns_covered, 4 * K), mode="hybrid", sources=["locomo"])
    by_text, used = set(), 0
    for hit in found:
        if used >= chars:
            break
        by_text.add(hit.record.id)
        used += len(hit.record.text)
    by_turns = {hit.record.id for hit in found[:turns_covered]}
    same_turns, same_text = (100 * len(ids & evidence) / len(evidence) for ids in (by_turns, by_text))
    scores[SAME_TURNS].setdefault(question["category"], []).append((same_text, same_turns, len(by_text)))


def mean(rows: list[Score], index: int) -> float:
    return round(statistics.fmean(row[index] for row in rows), 1) if rows else 0.0


def quantile_ms(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def report(scores: Scores, latency: dict[str, list[float]]) -> dict[str, object]:
    """Print recall by category and latency by mode; the headline figures."""
    print(f"\n{'category':<16}{'n':>5}" + "".join(f"{mode + ' R@5/R@10':>22}" for mode in MODES))
    rows: list[tuple[str, Callable[[str], list[Score]]]] = [
        (f"{c} {name}", lambda mode, c=c: scores[mode].get(c, [])) for c, name in CATEGORIES.items()
    ]
    rows.append(("overall 1-4", lambda mode: [p for c in CATEGORIES for p in scores[mode].get(c, [])]))
    for label, pairs_of in rows:
        cells = "".join(f"{mean(pairs_of(m), 0):>14.1f} /{mean(pairs_of(m), 1):>5.1f}" for m in MODES)
        print(f"{label:<16}{len(pairs_of(MODES[0])):>5}{cells}")
    print("\nhybrid over turns given the pipeline top 10's budget: as much text / as many turns (recall)")
    for label, pairs_of in rows:
        budget = pairs_of(SAME_TURNS)
        print(f"  {label:<16}{mean(budget, 0):>6.1f} / {mean(budget, 1):5.1f}   ({mean(budget, 2):.0f} turns of text)")
    overall = {mode: [p for c in CATEGORIES for p in scores[mode].get(c, [])] for mode in (*MODES, SAME_TURNS)}
    print("\nlatency (query embedding included); turns the top 10 stand for (summaries count what they cover)")
    for mode in MODES:
        p50, p95 = quantile_ms(latency[mode], 0.5), quantile_ms(latency[mode], 0.95)
        print(f"  {mode:<10} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  turns {mean(overall[mode], 2):7.1f}")
    return {
        "questions": len(overall["bm25"]),
        "recall_at_5": {mode: mean(overall[mode], 0) for mode in MODES},
        "recall_at_10": {mode: mean(overall[mode], 1) for mode in MODES},
        "turns_in_top10": {mode: mean(overall[mode], 2) for mode in MODES},
        "hybrid_same_text_recall": mean(overall[SAME_TURNS], 0),
        "hybrid_same_turns_recall": mean(overall[SAME_TURNS], 1),
        "p95_ms": {mode: quantile_ms(latency[mode], 0.95) for mode in MODES},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10, help="how many conversations (default all 10)")
    parser.add_argument("--quick", action="store_true", help="2 conversations")
    parser.add_argument("--with-summaries", action="store_true", help="store segment and topic summaries first")
    parser.add_argument("--model", default="small", help="the built-in model that writes summaries")
    parser.add_argument("--consolidated-only", action="store_true",
                        help="score only the conversations already fully consolidated in the cache (no model)")
    args = parser.parse_args()
    samples = json.loads(DATA.read_text())[: 2 if args.quick else args.conversations]
    embedder = MiniLMEmbedder()
    scores: Scores = {mode: {} for mode in (*MODES, SAME_TURNS)}
    latency: dict[str, list[float]] = {mode: [] for mode in MODES}
    timing: dict[str, float] = {}
    summaries = args.with_summaries or args.consolidated_only
    if args.consolidated_only:
        samples = [s for s in samples if consolidated(cached(s, args.model), embedder)]
        print(f"consolidated conversations: {', '.join(s['sample_id'] for s in samples) or 'none'}")
    summarise = summariser(args.model, timing) if args.with_summaries and not args.consolidated_only else None
    for sample in samples:
        folder = cached(sample, args.model) if summaries else None
        run_conversation(sample, embedder, scores, latency, summarise, folder)
    headline = report(scores, latency)
    if timing.get("turns"):
        headline["consolidation_min_per_1000_turns"] = round(timing["seconds"] / timing["turns"] * 1000 / 60, 1)
        print(f"consolidation: {headline['consolidation_min_per_1000_turns']} min per 1,000 turns ({args.model})")
    print(
        json.dumps({"bench": "locomo", "conversations": len(samples), "summaries": summaries,
                    "model": args.model if summaries else None, **headline})
    )


if __name__ == "__main__":
    main()
