"""Turning the [n] markers of an answer into citations of the memories the prompt showed."""

from __future__ import annotations

import re
from collections.abc import Sequence

from secondme.core.types import Citation, SearchHit

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_WORD = re.compile(r"\w{3,}", re.UNICODE)
_COMMON = frozenset(
    "the and for are was were you your with that this from have has had not but they their what "
    "when where who how which will would about there been into than then them its our out can".split()
)


def cited_numbers(answer: str) -> list[int]:
    """The distinct citation numbers in `answer`, in order of first use."""
    seen: list[int] = []
    for group in _MARKER.findall(answer):
        for number in (int(n) for n in group.split(",")):
            if number not in seen:
                seen.append(number)
    return seen


def _words(text: str) -> set[str]:
    return {w for w in (m.lower() for m in _WORD.findall(text)) if w not in _COMMON}


def inferred_numbers(answer: str, memories: Sequence[SearchHit], min_shared: int = 2) -> list[int]:
    """Memories that share enough distinctive words with an answer that cites nothing.

    Small models sometimes answer from a memory without writing its marker; the user should
    still see where the answer came from.
    """
    answer_words = _words(answer)
    scored = []
    for number, hit in enumerate(memories, start=1):
        shared = len(answer_words & _words(hit.record.text))
        if shared >= min_shared:
            scored.append((shared, number))
    return [number for _, number in sorted(scored, reverse=True)[:3]]


def citations_for(answer: str, memories: Sequence[SearchHit]) -> list[Citation]:
    """Citations for the markers that point at a shown memory; inferred ones if none do."""
    numbers = [n for n in cited_numbers(answer) if 1 <= n <= len(memories)]
    inferred = not numbers
    if inferred:
        numbers = inferred_numbers(answer, memories)
    return [Citation(n, memories[n - 1].record, inferred=inferred) for n in numbers]
