"""The small interfaces every model runtime implements, so tests and users can swap backends."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict, runtime_checkable


class ChatMessage(TypedDict):
    """One chat turn in OpenAI shape: role is system, user or assistant."""

    role: str
    content: str


@dataclass(frozen=True)
class GenerationOptions:
    """How to generate. temperature 0 with a fixed seed makes output repeatable.

    `stable_prefix` is the number of leading messages that stay the same across turns
    (persona + profile); a backend may cache their evaluated state in memory and on disk.
    """

    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 0.95
    seed: int = 0
    stop: tuple[str, ...] = ()
    stable_prefix: int = 0


@runtime_checkable
class ChatModel(Protocol):
    """A chat LLM that streams text and can answer in JSON constrained by a schema."""

    name: str

    def stream(
        self, messages: Sequence[ChatMessage], options: GenerationOptions = GenerationOptions()
    ) -> Iterator[str]:
        """Yield the answer piece by piece; closing the iterator stops generation."""
        ...

    def complete_json(
        self,
        messages: Sequence[ChatMessage],
        schema: dict[str, Any],
        options: GenerationOptions = GenerationOptions(),
    ) -> Any:
        """Return the parsed JSON value of an answer constrained to `schema`."""
        ...


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length vectors of a fixed dimension."""

    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order."""
        ...
