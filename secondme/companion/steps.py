"""One model step: a JSON answer constrained by a schema, parsed, retried with other seeds on failure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from secondme.core.protocols import ChatMessage, ChatModel, GenerationOptions
from secondme.errors import ModelError

T = TypeVar("T")
TRIES = 3  # the first answer at temperature 0, then two retries with other seeds
_RETRY_TEMPERATURE = 0.7


class StepFailed(Exception):
    """The model gave no valid answer in TRIES tries; the work stays queued for the next run."""


def ask_json(model: ChatModel, messages: list[ChatMessage], schema: dict[str, Any], parse: Callable[[Any], T],
             options: GenerationOptions) -> T:
    error: Exception | None = None
    for attempt in range(TRIES):
        tried = options if attempt == 0 else replace(options, temperature=_RETRY_TEMPERATURE,
                                                     seed=options.seed + attempt)
        try:
            return parse(model.complete_json(messages, schema, tried))
        except (ModelError, ValueError, TypeError, KeyError, AttributeError) as caught:
            error = caught
    raise StepFailed(f"{type(error).__name__}: {error}")


def text(value: Any, key: str, limit: int) -> str:
    """A string field of a model answer, whitespace-collapsed and clipped."""
    found = value[key]
    if not isinstance(found, str):
        raise TypeError(f"{key} is not a string")
    return " ".join(found.split())[:limit]


def texts(value: Any, key: str, limit: int, count: int) -> list[str]:
    found = value[key]
    if not isinstance(found, list):
        raise TypeError(f"{key} is not a list")
    cleaned = [" ".join(str(item).split())[:limit] for item in found]
    return list(dict.fromkeys(item for item in cleaned if item))[:count]
