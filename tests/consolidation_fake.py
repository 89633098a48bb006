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


class RuleModel:
    """Answers each consolidation step by rules on its prompt.

    segment: the records' texts and the topic of the first #tag; outdated: the later note says
    'now'; topic rewrite: old + new summaries, and the earlier
    summaries are superseded when a new one says 'now'; profile: 'I love X' -> interests,
    'I live in X' -> places (replacing the earlier 'Lives in' statement). `garbage` answers nonsense."""

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
        self.steps[next(k for k in ("facts", "outdated", "history", "statements") if k in fields)] += 1
        if "facts" in fields:
            lines = re.findall(r"^R\d+ \[[^\]]*\] (.*)$", prompt, re.MULTILINE)
            tag = re.search(r"#(\w+)", " ".join(lines))
            return {"summary": " ".join(lines)[:2000], "people": [], "places": [], "facts": lines[:8],
                    "topic": tag.group(1).capitalize() if tag else ""}
        if "outdated" in fields:
            return {"outdated": bool(re.search(r"\bnow\b", _after(prompt, "Later note")))}
        new = _after(prompt, "New summaries:")
        if "history" in fields:
            current = _after(prompt, "Current summary:")
            added = " ".join(re.sub(r"^\(\S+\) ", "", line) for line in new.splitlines())
            summary = added if current == "(a new topic)" else f"{current} {added}"
            earlier = [label for label in fields["superseded"]["items"]["enum"] if label]
            outdated = earlier if re.search(r"\bnow\b", new) else []
            return {"summary": summary[-800:], "superseded": outdated, "history": ["earlier: " + current[:80]]
                    if outdated else []}
        return {"statements": self._statements(prompt, new)}

    def _statements(self, prompt: str, new: str) -> list[dict[str, str]]:
        profile = _after(prompt, "Profile:")
        found = []
        for label, summary in re.findall(r"^(N\d+) \(\S+\): (.*)$", new, re.MULTILINE):
            for thing in re.findall(r"I love (\w+)", summary):
                found.append({"section": "interests", "statement": f"Loves {thing}", "replaces": "", "source": label})
            for place in re.findall(r"I (?:now )?live in (\w+)", summary):
                old = re.search(r"\[(\w+)\] \(places\) Lives in", profile)
                found.append({"section": "places", "statement": f"Lives in {place}",
                              "replaces": old.group(1) if old else "", "source": label})
        return found


def main(data_dir: str, delay: str) -> None:
    store = MemoryStore(Path(data_dir), Cipher(KEY), HashEmbedder())
    report = Consolidator(store, RuleModel(delay=float(delay))).run()
    store.close()
    print(f"done {report.segments} {report.pending}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])
