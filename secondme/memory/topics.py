"""Topic summaries: which topic a segment belongs to, and the prompt that rewrites a topic with new segments."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from secondme.core.protocols import ChatMessage
from secondme.core.types import NewRecord, Record
from secondme.memory.segments import highest, tidy
from secondme.memory.terms import tokens

Similarity = Callable[[Sequence[str], Sequence[str]], list[list[float]]]
HISTORY = "\nHistory:\n"
EARLIER_SHOWN = 6
# MiniLM cosine of two topic titles above which they name one topic. On the 1.5B's LoCoMo titles:
# "LGBTQ activism"/"LGBT advocacy" 0.85, "art"/"art creation" 0.79, "family and love"/"family and
# counseling" 0.66; different subjects ("pottery workshop"/"art creation", "home"/"work") 0.5 or less.
TITLE_SIMILAR = 0.65

_REWRITE_SYSTEM = (
    "You keep one topic page of someone's long-term memory. Merge the new summaries into the topic summary "
    "(at most 6 sentences). Where new information contradicts old, the summary says what is current and "
    "history keeps what was true before, with dates. superseded: the labels of earlier summaries whose facts "
    "are now outdated (often none)."
)


def slug(title: str) -> str:
    """A stable ascii key of a title: 'Trip to Lisbon!' -> 'trip-to-lisbon'."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:60] or "topic"


def split(record: Record) -> tuple[str, list[str]]:
    """A topic record's summary and its history lines."""
    summary, _, history = record.text.partition(HISTORY)
    return summary, [line[2:] for line in history.splitlines() if line.startswith("- ")]


def _overlap(a: str, b: str) -> float:
    left, right = set(tokens(a)), set(tokens(b))
    return len(left & right) / len(left | right) if left and right else 0.0


def match(title: str, topics: Sequence[Record]) -> Record | None:
    """The existing topic a title names: same slug, else the most similar title (lexical)."""
    found = _named(title, [topic.title for topic in topics])
    return next(topic for topic in topics if topic.title == found) if found else None


def _named(title: str, known: Sequence[str]) -> str | None:
    """The known title that `title` names by its words: the same slug, else half its words in common."""
    same = next((other for other in known if slug(other) == slug(title)), None)
    if same is not None:
        return same
    best = max(known, key=lambda other: _overlap(title, other), default=None)
    return best if best is not None and _overlap(title, best) >= 0.5 else None


def assign(titles: Sequence[str], known: Sequence[str], similarity: Similarity) -> list[str]:
    """The topic each segment joins, given the titles the model wrote for them in time order: a known
    topic (or one begun earlier in this list) that the title names by its words or whose title means
    nearly the same (embedding cosine >= TITLE_SIMILAR), else a new topic under the title itself.
    A small model words one subject many ways ("LGBTQ activism", "LGBT advocacy"); without this each
    wording became its own topic page."""
    unique = list(dict.fromkeys(titles))
    pool = list(dict.fromkeys([*known, *unique]))
    column = {title: n for n, title in enumerate(pool)}
    rows = dict(zip(unique, similarity(unique, pool), strict=True)) if unique else {}
    taken = list(dict.fromkeys(known))
    chosen: dict[str, str] = {}
    for title in unique:
        found = _named(title, taken)
        if found is None and taken:
            row = rows[title]
            closest = max(taken, key=lambda other: row[column[other]])
            found = closest if row[column[closest]] >= TITLE_SIMILAR else None
        chosen[title] = found or title
        if found is None:
            taken.append(title)
    return [chosen[title] for title in titles]


def lexical_topic(text: str, topics: Sequence[Record]) -> Record | None:
    """The fallback when the model names no topic: the topic sharing most words with the text."""
    best = max(topics, key=lambda t: _overlap(text, t.text + " " + t.title), default=None)
    return best if best is not None and _overlap(text, best.text + " " + best.title) >= 0.15 else None


def rewrite_schema(earlier: Sequence[Record]) -> dict[str, Any]:
    labels = {"enum": [f"S{n}" for n in range(1, len(earlier) + 1)] or [""]}
    return {
        "type": "object",
        "properties": {
            "summary": {"type": "string", "maxLength": 700},
            "superseded": {"type": "array", "items": labels, "maxItems": EARLIER_SHOWN},
            "history": {"type": "array", "items": {"type": "string", "maxLength": 150}, "maxItems": 5},
        },
        "required": ["summary", "superseded", "history"],
    }


def rewrite_messages(
    title: str, topic: Record | None, earlier: Sequence[Record], new: Sequence[Record]
) -> list[ChatMessage]:
    summary, history = split(topic) if topic else ("(a new topic)", [])
    past = "\n".join(f"- {line}" for line in history) or "(none)"
    shown = "\n".join(f"S{n} ({r.time:%Y-%m-%d}): {' '.join(r.text.split())[:400]}"
                      for n, r in enumerate(earlier, 1)) or "(none)"
    added = "\n".join(f"({r.time:%Y-%m-%d}) {r.text}" for r in new)
    user = (f"Topic: {title}\n\nCurrent summary:\n{summary}\n\nHistory:\n{past}\n\nEarlier summaries:\n{shown}"
            f"\n\nNew summaries:\n{added}")
    return [{"role": "system", "content": _REWRITE_SYSTEM}, {"role": "user", "content": user}]


@dataclass(frozen=True)
class Rewrite:
    """A topic's new text and the earlier summaries (ids) it declares outdated."""

    summary: str
    history: tuple[str, ...]
    superseded: tuple[str, ...]


def parse_rewrite(value: Any, earlier: Sequence[Record]) -> Rewrite:
    """Check the model's answer; unknown superseded labels are dropped, an empty summary is an error."""
    if not isinstance(value, dict) or not isinstance(value.get("summary"), str) or not value["summary"].strip():
        raise ValueError("no topic summary")
    known = {f"S{n}": r.id for n, r in enumerate(earlier, 1)}
    history = [" ".join(h.split()) for h in value.get("history") or [] if isinstance(h, str) and h.strip()]
    superseded = [known[label] for label in value.get("superseded") or [] if label in known]
    return Rewrite(tidy(value["summary"]), tuple(dict.fromkeys(history)), tuple(dict.fromkeys(superseded)))


def record(title: str, topic: Record | None, new: Sequence[Record], rewrite: Rewrite) -> NewRecord:
    """The rewritten topic: newest time, the highest sensitivity of the topic and the new segments."""
    text = rewrite.summary + (HISTORY + "\n".join(f"- {h}" for h in rewrite.history) if rewrite.history else "")
    parts = [*new, *([topic] if topic else [])]
    people = dict.fromkeys(p for part in parts for p in part.people)
    return NewRecord(
        text=text, time=max(part.time for part in parts), source="secondme", source_id="topic",
        kind="topic", origin=topic.origin if topic else f"topic:{slug(title)}", title=topic.title if topic else title,
        people=tuple(people)[:12], sensitivity=highest(part.sensitivity for part in parts),
    )
