"""A deterministic ChatModel for consolidation tests; run as a script it consolidates a test store (kill test)."""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from secondme.core.protocols import ChatMessage, GenerationOptions
from secondme.memory.consolidation import Consolidator
from secondme.memory.crypto import Cipher
from secondme.memory.store import MemoryStore
from tests.fakes import HashEmbedder

KEY = bytes(range(32))


def _after(text: str, heading: str) -> str:
    return text.split(heading, 1)[1].split("\n\n", 1)[0].strip() if heading in text else ""


def step_of(schema: dict[str, Any]) -> str:
    """Which consolidation step a schema belongs to: segment, outdated, topic or profile."""
    fields = schema["properties"]
    return next(step for step, field in (("topic", "history"), ("segment", "summary"), ("outdated", "outdated"),
                                         ("profile", "facts")) if field in fields)


class RuleModel:
    """Answers each consolidation step by rules on its prompt.

    segment: the records' texts and the topic of the first #tag; outdated: the later note says
    'now', or both notes say where one lives; topic rewrite: old + new summaries, and the earlier
    summaries are superseded when a new one says 'now'; profile questions: 'I love X' -> 'Loves X'
    for interests, 'I live in X' -> 'Lives in X' for places. `garbage` answers nonsense."""

    name = "rule-fake"

    def __init__(self, delay: float = 0.0, garbage: bool = False) -> None:
        self.delay = delay
        self.garbage = garbage
        self.calls = 0
        self.steps: Counter[str] = Counter()
        self.prompts: list[Sequence[ChatMessage]] = []

    def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions = GenerationOptions()
               ) -> Iterator[str]:
        yield "unused"

    def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any],
                      options: GenerationOptions = GenerationOptions()) -> Any:
        self.calls += 1
        self.prompts.append(messages)
        time.sleep(self.delay)
        if self.garbage:
            return {"nonsense": [1, 2]}
        prompt = messages[-1]["content"]
        fields = schema["properties"]
        step = step_of(schema)
        self.steps[step] += 1
        if step == "segment":
            lines = re.findall(r"^R\d+ \[[^\]]*\] (.*)$", prompt, re.MULTILINE)
            tag = re.search(r"#(\w+)", " ".join(lines))
            return {"summary": " ".join(lines)[:2000], "people": [], "places": [], "facts": lines[:8],
                    "topic": tag.group(1).capitalize() if tag else ""}
        if step == "outdated":
            earlier, later = _after(prompt, "Earlier note"), _after(prompt, "Later note")
            moved = all(re.search(r"\bLives in", note) for note in (earlier, later))
            return {"outdated": moved or bool(re.search(r"\bnow\b", later))}
        if step == "topic":
            new = _after(prompt, "New summaries:")
            current = _after(prompt, "Current summary:")
            added = " ".join(re.sub(r"^\(\S+\) ", "", line) for line in new.splitlines())
            summary = added if current == "(a new topic)" else f"{current} {added}"
            earlier = [label for label in fields["superseded"]["items"]["enum"] if label]
            outdated = earlier if re.search(r"\bnow\b", new) else []
            return {"summary": summary[-800:], "superseded": outdated, "history": ["earlier: " + current[:80]]
                    if outdated else []}
        return {"facts": self._facts(_after(prompt, "Memories:"), _after(prompt, "Question:"))}

    @staticmethod
    def _facts(memories: str, question: str) -> list[dict[str, str]]:
        found = []
        for label, summary in re.findall(r"^(N\d+) \(\S+\): (.*)$", memories, re.MULTILINE):
            if "like doing" in question:
                found += [{"fact": f"Loves {thing}", "source": label} for thing in re.findall(r"I love (\w+)", summary)]
            if "where" in question and "lives" in question:
                found += [{"fact": f"Lives in {place}", "source": label}
                          for place in re.findall(r"I (?:now )?live in (\w+)", summary)]
        return found


def main(data_dir: str, delay: str) -> None:
    store = MemoryStore(Path(data_dir), Cipher(KEY), HashEmbedder())
    report = Consolidator(store, RuleModel(delay=float(delay))).run()
    store.close()
    print(f"done {report.segments} {report.pending}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])
