"""A deterministic ChatModel for consolidation tests; run as a script it consolidates a test store (kill test)."""

from __future__ import annotations

import re
import sys
import time
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


def _new(prompt: str) -> str:
    return prompt.rsplit("New summary (", 1)[-1].split("):\n", 1)[-1]


class RuleModel:
    """Answers each consolidation step by rules on its prompt.

    segment: the records' texts (a record that says 'now' outdates the latest earlier related one);
    topic: the first #tag; rewrite: old + new summary, and an earlier summary is superseded when
    the new one says 'now'; profile: 'I love X' -> interests,
    'I live in X' -> places (replacing the earlier 'Lives in' statement). `garbage` answers nonsense."""

    name = "rule-fake"

    def __init__(self, delay: float = 0.0, garbage: bool = False) -> None:
        self.delay = delay
        self.garbage = garbage
        self.calls = 0

    def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions = GenerationOptions()
               ) -> Iterator[str]:
        yield "unused"

    def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any],
                      options: GenerationOptions = GenerationOptions()) -> Any:
        self.calls += 1
        time.sleep(self.delay)
        if self.garbage:
            return {"nonsense": [1, 2]}
        prompt = messages[-1]["content"]
        fields = schema["properties"]
        if "facts" in fields:
            window = dict(re.findall(r"^(R\d+) \[[^\]]*\] (.*)$", prompt, re.MULTILINE))
            earlier = re.findall(r"^(E\d+) \[", prompt, re.MULTILINE)
            lines = list(window.values())
            outdated = [{"old": old, "new": new} for new, text in window.items() if re.search(r"\bnow\b", text)
                        for old in earlier[-1:]]
            return {"summary": " ".join(lines)[:600], "people": [], "places": [], "facts": lines[:8],
                    "outdated": outdated}
        if "topic" in fields:
            tag = re.search(r"#(\w+)", _after(prompt, "Summary:"))
            return {"topic": tag.group(1).capitalize() if tag else "General"}
        if "history" in fields:
            new = _new(prompt)
            current = _after(prompt, "Current summary:")
            summary = new if current == "(a new topic)" else f"{current} {new}"
            earlier = fields["superseded"]["items"].get("enum", [])
            outdated = earlier if re.search(r"\bnow\b", new) else []
            return {"summary": summary[-800:], "superseded": outdated, "history": ["earlier: " + current[:80]]
                    if outdated else []}
        return {"statements": self._statements(prompt, fields)}

    def _statements(self, prompt: str, fields: dict[str, Any]) -> list[dict[str, str]]:
        summary = _new(prompt)
        profile = _after(prompt, "Profile:")
        found = []
        for thing in re.findall(r"I love (\w+)", summary):
            found.append({"section": "interests", "statement": f"Loves {thing}", "replaces": ""})
        for place in re.findall(r"I live in (\w+)", summary):
            old = re.search(r"\[(\w+)\] \(places\) Lives in", profile)
            found.append({"section": "places", "statement": f"Lives in {place}",
                          "replaces": old.group(1) if old else ""})
        return found


def main(data_dir: str, delay: str) -> None:
    store = MemoryStore(Path(data_dir), Cipher(KEY), HashEmbedder())
    report = Consolidator(store, RuleModel(delay=float(delay))).run()
    store.close()
    print(f"done {report.segments} {report.pending}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])
