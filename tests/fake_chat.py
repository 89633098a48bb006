"""Deterministic stand-ins for the chat model and the memory store, for tests of the logic around them."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from secondme.core.protocols import ChatMessage, GenerationOptions
from secondme.core.types import NewRecord, Record, SearchHit
from secondme.memory.search import in_families

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


class ScriptedModel:
    """Streams a fixed answer word by word and records the prompts it was given."""

    name = "scripted"

    def __init__(self, answer: str, delay: float = 0.0) -> None:
        self.answer = answer
        self.delay = delay
        self.prompts: list[list[ChatMessage]] = []
        self.options: list[GenerationOptions] = []

    def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions = GenerationOptions()
    ) -> Iterator[str]:
        self.prompts.append(list(messages))
        self.options.append(options)
        for word in self.answer.split(" "):
            time.sleep(self.delay)
            yield word + " "

    def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any],
                      options: GenerationOptions = GenerationOptions()) -> Any:
        raise NotImplementedError


def record(rid: str, text: str, kind: str = "note") -> Record:
    return Record(text=text, time=NOW, source="markdown", source_id=rid, kind=kind, origin=f"/notes/{rid}.md",
                  title=rid, id=rid)


class ListMemory:
    def __init__(self, records: list[Record]) -> None:
        self.records = records
        self.added: list[NewRecord] = []

    def search(self, query: str, k: int = 10, *, exclude_sensitivity: Sequence[str] = (),
               exclude_sources: Sequence[str] = ()) -> list[SearchHit]:
        shown = [r for r in self.records if r.sensitivity not in exclude_sensitivity
                 and not in_families(r.source, exclude_sources)]
        return [SearchHit(r, 1.0 / (n + 1)) for n, r in enumerate(shown[:k])]

    def forget(self, record_id: str) -> bool:
        before = len(self.records)
        self.records = [r for r in self.records if r.id != record_id]
        return len(self.records) < before

    def add(self, records: Sequence[NewRecord]) -> object:
        self.added.extend(records)
        return None
