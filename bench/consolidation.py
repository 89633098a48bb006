"""Benchmark: consolidation time per 1,000 turns, from the first turns of a LoCoMo conversation.

Run: python bench/consolidation.py [--turns 150] [--model answer]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from secondme.core.protocols import ChatMessage, GenerationOptions
from secondme.memory.consolidation import Consolidator
from secondme.memory.crypto import Cipher
from secondme.memory.store import MemoryStore
from secondme.models.bundled import ensure_model
from secondme.models.embedder import MiniLMEmbedder
from secondme.models.llama import LlamaChatModel
from secondme.progress import Progress

sys.path.insert(0, str(Path(__file__).resolve().parent))
from locomo import DATA, turns  # noqa: E402


class Timed:
    """A ChatModel wrapper that times each JSON call by the step it serves."""

    def __init__(self, model: LlamaChatModel) -> None:
        self.model = model
        self.name = model.name
        self.seconds: dict[str, list[float]] = {}

    def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions = GenerationOptions()) -> Any:
        return self.model.stream(messages, options)

    def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any],
                      options: GenerationOptions = GenerationOptions()) -> Any:
        # by a field only its schema has, in this order (a topic rewrite also has a summary)
        steps = {"history": "topic", "summary": "segment", "outdated": "outdated check", "facts": "profile question"}
        step = next(name for key, name in steps.items() if key in schema["properties"])
        started = time.monotonic()
        try:
            return self.model.complete_json(messages, schema, options)
        finally:
            self.seconds.setdefault(step, []).append(time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=150)
    parser.add_argument("--model", default="answer")
    args = parser.parse_args()
    cache = Path(os.environ.get("SECONDME_TEST_CACHE", Path.home() / ".cache" / "secondme-tests")) / "models"
    model = Timed(LlamaChatModel(ensure_model(args.model, cache), n_ctx=4096, n_threads=os.cpu_count() or 2))
    sample = json.loads(DATA.read_text())[0]
    records = turns(sample)[: args.turns]
    with tempfile.TemporaryDirectory() as home:
        store = MemoryStore(Path(home), Cipher(os.urandom(32)), MiniLMEmbedder())
        store.add(records)
        started = time.monotonic()

        def show(event: Progress) -> None:
            print(f"{event.stage}: {event.done}/{event.total} {event.unit} in {time.monotonic() - started:.0f} s",
                  flush=True)

        consolidator = Consolidator(store, model, show, owner=sample["conversation"]["speaker_a"])
        report = consolidator.run()
        statements = consolidator.profile.statements()
        store.close()
    calls = {step: f"{len(s)} calls, {sum(s) / len(s):.1f} s each" for step, s in model.seconds.items()}
    print(f"{len(records)} turns, {report.segments} segments, {report.topics} topic rewrites, "
          f"{len(statements)} statements, {report.failures} failures, {report.seconds:.0f} s")
    print(f"per step: {calls}")
    per_1000 = report.seconds / len(records) * 1000 / 60
    print(f"per 1,000 turns: {per_1000:.1f} min")
    print(json.dumps({"bench": "consolidation", "model": args.model, "turns": len(records),
                      "segments": report.segments, "topic_rewrites": report.topics,
                      "calls": {step: len(s) for step, s in model.seconds.items()},
                      "min_per_1000_turns": round(per_1000, 1)}))


if __name__ == "__main__":
    main()
