"""Benchmark: LoCoMo answer F1 of the chat engine, on a fixed sample of questions.

The memories are those bench/locomo.py built (consolidated with --with-summaries, cached under
~/.cache/secondme-bench/locomo/); questions of categories 1-4 are drawn with a fixed seed from
the conversations given. Each is asked through the real Assistant (retrieval pipeline, profile,
standing instruction "answer in a few words") with the answer model, as the owner (the first
speaker) on the day of the last session. Scoring is LoCoMo's: token F1 after normalisation and
Porter stemming; multi-hop answers are split at commas and each gold part takes its best match.
With --compare-raw the same questions are also answered from a memory of raw turns only.
Run: python bench/locomo_answers.py [--questions 100] [--conversations 2] [--model answer] [--compare-raw]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import string
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from nltk.stem import PorterStemmer

from secondme.config import MemoryConfig
from secondme.core.assistant import Assistant
from secondme.core.prompt import Persona
from secondme.core.protocols import GenerationOptions
from secondme.core.types import NewRecord
from secondme.memory.crypto import Cipher
from secondme.memory.profile import Profile
from secondme.memory.recall import RecallingStore
from secondme.memory.retrieval import RetrievalConfig, Retriever
from secondme.memory.store import MemoryStore
from secondme.models.bundled import ensure_model
from secondme.models.embedder import MiniLMEmbedder
from secondme.models.llama import LlamaChatModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from locomo import CACHE, CATEGORIES, DATA, turns  # noqa: E402

SHORT = "Answer in as few words as possible: a name, a date, a number or a short phrase."
_STEM = PorterStemmer()


def normalise(text: str) -> list[str]:
    text = "".join(ch for ch in text.lower().replace(",", "") if ch not in string.punctuation)
    return [_STEM.stem(word) for word in re.sub(r"\b(a|an|the|and)\b", " ", text).split()]


def token_f1(prediction: str, gold: str) -> float:
    predicted, wanted = normalise(prediction), normalise(gold)
    same = sum((Counter(predicted) & Counter(wanted)).values())
    if not same:
        return 0.0
    precision, recall = same / len(predicted), same / len(wanted)
    return 2 * precision * recall / (precision + recall)


def locomo_f1(prediction: str, gold: str, category: int) -> float:
    """LoCoMo's score of one answer (its task_eval/evaluation.py, categories 1-4)."""
    prediction = re.sub(r"\s*\[\d+\]", "", prediction)  # our citation markers are not part of the answer
    if category == 3:
        gold = gold.split(";")[0]
    if category != 1:
        return token_f1(prediction, gold)
    parts = [p.strip() for p in prediction.split(",")]
    return statistics.fmean(max(token_f1(p, g.strip()) for p in parts) for g in gold.split(","))


class Rules:
    def texts(self) -> list[str]:
        return [SHORT]

    def add(self, text: str) -> None:
        raise NotImplementedError


class ReadOnly(RecallingStore):
    """Answers must not add the benchmark's own exchanges to the memory being measured."""

    def add(self, records: Sequence[NewRecord]) -> None:  # type: ignore[override]
        return None


def sample_questions(samples: list[dict], count: int) -> list[tuple[dict, dict]]:
    pool = [(sample, q) for sample in samples for q in sample["qa"] if q.get("category") in CATEGORIES
            and "answer" in q]
    return random.Random(7).sample(pool, min(count, len(pool)))


def answer_all(samples: list[dict], chosen: list[tuple[dict, dict]], model: LlamaChatModel, model_name: str,
               raw_only: bool, ranking: RetrievalConfig = RetrievalConfig()) -> list[tuple[int, float, float]]:
    """(category, F1, seconds) per question."""
    embedder = MiniLMEmbedder()
    results = []
    with tempfile.TemporaryDirectory(prefix="secondme-locomo-qa-") as scratch:
        for sample in samples:
            asked = [q for s, q in chosen if s is sample]
            if not asked:
                continue
            records = turns(sample)
            folder = Path(scratch) / sample["sample_id"] if raw_only else CACHE / f"{sample['sample_id']}-{model_name}"
            if not raw_only and not folder.exists():
                raise SystemExit(f"{folder} is missing: run bench/locomo.py --with-summaries --model {model_name}")
            store = MemoryStore(folder, Cipher(bytes(32)), embedder)
            store.add(records)
            conversation = sample["conversation"]
            people = [conversation["speaker_a"], conversation["speaker_b"]]
            now = max(r.time for r in records)
            memory = ReadOnly(store, Retriever(store, ranking, known_people=people), lambda now=now: now)
            assistant = Assistant(model, memory, Persona(people[0]), GenerationOptions(max_tokens=60, seed=0),
                                  clock=lambda now=now: now, instructions=Rules(),
                                  profile=None if raw_only else Profile(store))
            for question in asked:
                began = time.monotonic()
                answer = assistant.ask(question["question"])
                seconds = time.monotonic() - began
                score = locomo_f1(answer.text, str(question["answer"]), question["category"])
                results.append((question["category"], score, seconds))
                print(f"  [{question['category']}] F1 {score:.2f} {seconds:4.1f}s  Q: {question['question']}\n"
                      f"      gold: {question['answer']}\n      said: {' '.join(answer.text.split())[:160]}",
                      flush=True)
            store.close()
    return results


def table(name: str, results: list[tuple[int, float, float]]) -> dict[str, float]:
    print(f"\n{name}: {'category':<16}{'n':>4}{'F1':>7}")
    by_category = {}
    for category, label in CATEGORIES.items():
        scores = [f1 for c, f1, _ in results if c == category]
        if scores:
            by_category[label] = round(100 * statistics.fmean(scores), 1)
            print(f"{'':<{len(name) + 2}}{f'{category} {label}':<16}{len(scores):>4}{by_category[label]:>7.1f}")
    overall = round(100 * statistics.fmean(f1 for _, f1, _ in results), 1)
    seconds = statistics.median(s for _, _, s in results)
    print(f"{'':<{len(name) + 2}}{'overall':<16}{len(results):>4}{overall:>7.1f}   median {seconds:.1f} s an answer")
    return {"f1": overall, "median_s": round(seconds, 1), **{f"f1_{k}": v for k, v in by_category.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--conversations", type=int, default=2)
    parser.add_argument("--model", default="answer")
    parser.add_argument("--max-summaries", type=int, default=MemoryConfig().prompt_summaries,
                        help="summaries in the prompt at most (default: the app's memory.prompt_summaries)")
    parser.add_argument("--compare-raw", action="store_true", help="also answer from raw turns only")
    args = parser.parse_args()
    samples = json.loads(DATA.read_text())[: args.conversations]
    chosen = sample_questions(samples, args.questions)
    cache = Path(os.environ.get("SECONDME_TEST_CACHE", Path.home() / ".cache" / "secondme-tests")) / "models"
    model = LlamaChatModel(ensure_model(args.model, cache), n_ctx=4096, n_threads=os.cpu_count() or 2)
    headline: dict[str, object] = {"bench": "locomo_answers", "model": args.model, "questions": len(chosen)}
    headline["consolidated"] = table("consolidated", answer_all(samples, chosen, model, args.model, False,
                                                                    RetrievalConfig(max_summaries=args.max_summaries)))
    if args.compare_raw:
        headline["raw_turns"] = table("raw turns", answer_all(samples, chosen, model, args.model, True))
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
