"""How long a wake-up takes with the default model: prompt size and time of each model step.

Monday 18:00 the owner says "I'm going to the hospital tomorrow morning"; the working memory is
updated from it (one model call), a wake-up on Tuesday at 09:00 finds nothing due (no model
call), and the one at 12:00 decides on the check-in (one model call).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from secondme.app import build
from secondme.companion.clock import Clock
from secondme.config import CompanionConfig, Config, OwnerConfig
from secondme.core.assistant import Answer, Conversation
from secondme.core.protocols import ChatMessage, GenerationOptions
from secondme.models.bundled import ensure_model
from secondme.models.llama import LlamaChatModel
from secondme.paths import data_dir


class Timed:
    """The model, with the prompt size, time and answer of each JSON call kept."""

    def __init__(self, model: LlamaChatModel) -> None:
        self.model = model
        self.name = model.name
        self.calls: list[dict[str, Any]] = []

    def tokens(self, messages: Sequence[ChatMessage]) -> int:
        formatters = self.model._formatters
        if formatters:
            return len(self.model._render(formatters[1], messages))
        return sum(self.model.count_tokens(m["content"]) for m in messages)

    def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions = GenerationOptions()
               ) -> Iterator[str]:
        return self.model.stream(messages, options)

    def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any],
                      options: GenerationOptions = GenerationOptions()) -> Any:
        started = time.perf_counter()
        answer = self.model.complete_json(messages, schema, options)
        step = "decision" if "reach_out" in schema["properties"] else "working memory"
        self.calls.append({"step": step, "prompt_tokens": self.tokens(messages),
                           "answer_tokens": self.model.count_tokens(json.dumps(answer)),
                           "seconds": time.perf_counter() - started, "answer": answer})
        return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="answer", choices=["small", "answer"])
    parser.add_argument("--models-dir", type=Path, default=None, help="default: <data dir>/models")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    path = ensure_model(args.model, args.models_dir or data_dir() / "models")
    started = time.perf_counter()
    model = Timed(LlamaChatModel(path, n_ctx=4096, n_threads=args.threads))
    load_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as home:
        config = Config(owner=OwnerConfig("Maya"), companion=CompanionConfig(timezone="UTC"))
        services = build(config, Path(home), model=model)  # type: ignore[arg-type]
        monday = datetime(2026, 5, 4, 18, 0, tzinfo=UTC)
        services.clock = Clock(UTC, monday)
        assistant = services.assistant()  # the owner's turn, stored as the chat stores it
        assistant.remember_exchange(Conversation(), "I'm going to the hospital tomorrow morning",
                                    Answer("Good luck tomorrow!", [], []))
        companion = services.companion()
        companion.observe(datetime(2026, 5, 4, 18, 5, tzinfo=UTC))
        idle = companion.wake(datetime(2026, 5, 5, 9, 0, tzinfo=UTC))
        decision = companion.wake(datetime(2026, 5, 5, 12, 0, tzinfo=UTC))
        services.close()
    model.model.close()

    print(f"model {path.name}, {args.threads} threads, loaded in {load_s:.1f} s")
    print(f"{'step':<16}{'prompt tok':>11}{'answer tok':>11}{'seconds':>9}")
    for call in model.calls:
        print(f"{call['step']:<16}{call['prompt_tokens']:>11}{call['answer_tokens']:>11}{call['seconds']:>9.1f}")
    print(f"{'idle wake-up':<16}{0:>11}{0:>11}{idle.seconds:>9.2f}   ({idle.rule})")
    print(f"Tuesday 12:00 decision: reach_out={decision.reach_out}, whole wake-up {decision.seconds:.1f} s")
    print(f"  message: {decision.message}")
    print(f"  reason:  {decision.reason}")
    memory = next(c for c in model.calls if c["step"] == "working memory")
    choice = next(c for c in model.calls if c["step"] == "decision")
    print(json.dumps({
        "bench": "checkin", "model": args.model, "threads": args.threads,
        "wakeup_s": round(decision.seconds, 2), "decision_prompt_tokens": choice["prompt_tokens"],
        "decision_answer_tokens": choice["answer_tokens"], "decision_s": round(choice["seconds"], 2),
        "memory_update_prompt_tokens": memory["prompt_tokens"], "memory_update_s": round(memory["seconds"], 2),
        "idle_wakeup_s": round(idle.seconds, 3), "reach_out": decision.reach_out,
        "mentions_hospital": "hospital" in decision.message.lower(),
    }))


if __name__ == "__main__":
    main()
