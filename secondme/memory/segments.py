"""Segment summaries: windows cut from each origin's raw records, the prompt that summarises one, its record."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePath
from typing import Any

from secondme.core.protocols import ChatMessage
from secondme.core.types import NewRecord, Record, Sensitivity

SUMMARY_KINDS = ("segment", "topic")
OWN_MESSAGE = "own_message"  # a chat message the owner sent (ingest/conversations.py)
NOT_SUMMARISED = (*SUMMARY_KINDS, "reply")  # our own chat replies are not memories of the owner's life
MAX_RECORDS = 24
MAX_CHARS = 2400
RECORD_CLIP = 1200
EPISODE_GAP = timedelta(hours=6)  # a longer silence starts a new window (another session, another day)
RELATED_SHOWN = 3  # earlier records checked against a window for being outdated by it
_RANK = {Sensitivity.NORMAL: 0, Sensitivity.PRIVATE: 1, Sensitivity.SECRET: 2}

# Bounded lengths keep a small model from looping until max_tokens (grammar-enforced by llama.cpp).
_NAMES = {"type": "array", "items": {"type": "string", "maxLength": 40}, "maxItems": 6}
SUMMARY_MAX = 450
FACT_MAX = 100


SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "summary": {"type": "string", "maxLength": SUMMARY_MAX}, "people": _NAMES, "places": _NAMES,
        "facts": {"type": "array", "items": {"type": "string", "maxLength": FACT_MAX}, "maxItems": 3},
        "topic": {"type": "string", "maxLength": 40},
    },
    "required": ["summary", "people", "places", "facts", "topic"],
}
OUTDATED_SCHEMA: dict[str, Any] = {
    "type": "object", "properties": {"outdated": {"type": "boolean"}}, "required": ["outdated"]}
SIMILAR = 0.4  # cosine similarity above which an earlier record is checked for being outdated
# Only a later record that speaks of a change is put to the model: asked about any two similar
# records, the 1.5B model says "outdated" to most pairs of chit-chat (measured on LoCoMo).
CHANGE_WORDS = re.compile(
    r"\b(moved|moving|relocat\w*|no longer|any ?more|not \w+ing any|changed|instead|new (?:job|home|flat|"
    r"apartment|house|address|number|role|position|place)|quit|resign\w*|cancel\w*|postpon\w*|reschedul\w*|"
    r"switched|broke up|divorc\w*|sold|retired|promot\w*|fired|laid off|now (?:live|work|am|is|are|have))\b",
    re.IGNORECASE,
)

_SYSTEM = (
    "You condense a stretch of someone's memories (notes, messages) into their long-term memory. "
    "{who} Keep names, dates, places and numbers exact and state "
    "only what the records say. summary: 2 to 4 sentences. facts: up to 3 whole sentences worth "
    "remembering, each with its date. "
    "topic: a title of 1 to 4 words for what this is about (a person, a project, a hobby, a place, health, "
    "work...); reuse an existing topic's title when one fits."
)
_OUTDATED_SYSTEM = (
    "You compare two notes from someone's memory. Answer outdated=true only if both notes state the same "
    "fact about the same thing and the later note changes it, so the earlier note is no longer true (they "
    "moved, changed job, a plan was changed or cancelled, a number changed). Answer false when the notes are "
    "about different things, add to each other, or are small talk."
)
REPEAT_OVERLAP = 0.6  # share of words in common above which a summary repeats the one before it
# What a small model copies from the prompt instead of summarising: such an answer is retried.
_ECHO = re.compile(r"Records to summarise|Context, not to summarise|what came just before|\bR\d+ \[\d{4}-")


def tidy(text: str) -> str:
    """Whitespace collapsed and repeated sentences dropped (a small model may loop on one)."""
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
    return " ".join(dict.fromkeys(sentence for sentence in sentences if sentence))


def ended(text: str, cap: int) -> str:
    """Text the grammar cut off at its length cap ends with an ellipsis instead of a dangling "and"."""
    if len(text) < cap:
        return text
    cut = text.rstrip(" ,;:-")
    return cut if cut.endswith((".", "!", "?")) else cut + "…"


def highest(levels: Iterable[Sensitivity]) -> Sensitivity:
    """The most careful of these sensitivities (secret > private > normal)."""
    return max(levels, key=_RANK.__getitem__, default=Sensitivity.NORMAL)


def group_key(record: Record) -> str:
    """The stream a raw record belongs to: its origin, or its day when it has none."""
    return record.origin or f"day:{record.time.date().isoformat()}"


def label(key: str) -> str:
    """A short name of a stream for titles and prompts."""
    return PurePath(key).stem if "/" in key or "\\" in key else key


def episodes(records: Sequence[Record]) -> list[list[Record]]:
    """Runs of one stream's records (in time order) without a silence longer than EPISODE_GAP."""
    runs: list[list[Record]] = []
    for record in records:
        if runs and record.time - runs[-1][-1].time <= EPISODE_GAP:
            runs[-1].append(record)
        else:
            runs.append([record])
    return runs


def windows(records: Sequence[Record]) -> list[list[Record]]:
    """Cut one stream's records (in time order) into windows: an episode each, cut further at
    MAX_RECORDS or about MAX_CHARS."""
    return [window for run in episodes(records) for window in _cut(run)]


def _cut(records: Sequence[Record]) -> list[list[Record]]:
    """One episode in windows of MAX_RECORDS or about MAX_CHARS; a short tail stays with the window before it."""
    cut: list[list[Record]] = []
    current: list[Record] = []
    size = 0
    for record in records:
        current.append(record)
        size += min(len(record.text), RECORD_CLIP)
        if len(current) >= MAX_RECORDS or size >= MAX_CHARS:
            cut.append(current)
            current, size = [], 0
    if cut and current and len(current) <= MAX_RECORDS // 4 and size <= MAX_CHARS // 4:
        cut[-1] += current  # a short tail joins the window before it: one model call instead of four
        return cut
    return cut + [current] if current else cut


def _line(tag: str, record: Record) -> str:
    text = " ".join(record.text.split())[:RECORD_CLIP]
    title = f"{record.title}: " if record.title and record.kind == "note" else ""
    own = "(the user) " if record.kind == OWN_MESSAGE else ""
    return f"{tag} [{record.time:%Y-%m-%d %H:%M}] {own}{title}{text}"


def _whose(owner: str) -> str:
    if owner:  # by name: a question names people, and "the user" would match none of them
        return f"These are the memories of {owner} (the user); call {owner} by name."
    return "Call the owner of the memories 'the user'."


def messages(key: str, records: Sequence[Record], previous: str, topics: Sequence[str] = (),
             owner: str = "") -> list[ChatMessage]:
    """The prompt that summarises one window of `owner`'s memories, with the summary of the part just
    before (when the window continues it) and the topics so far."""
    lines = "\n".join(_line(f"R{n}", r) for n, r in enumerate(records, 1))
    # The records come first: a small model given the earlier summary first tends to summarise that.
    user = (f"Records to summarise, from {label(key)}:\n{lines}\n\nContext, not to summarise:\n"
            f"- what came just before: {previous or '(nothing)'}\n"
            f"- existing topics: {'; '.join(topics) or '(none yet)'}")
    return [{"role": "system", "content": _SYSTEM.format(who=_whose(owner))}, {"role": "user", "content": user}]


def outdated_messages(earlier: tuple[datetime, str], later: tuple[datetime, str]) -> list[ChatMessage]:
    """The yes/no question whether a later note (its time and text) outdates an earlier one."""
    (then, old), (now, new) = earlier, later
    user = (f"Earlier note ({then:%Y-%m-%d}): {' '.join(old.split())[:RECORD_CLIP]}\n"
            f"Later note ({now:%Y-%m-%d}): {' '.join(new.split())[:RECORD_CLIP]}")
    return [{"role": "system", "content": _OUTDATED_SYSTEM}, {"role": "user", "content": user}]


def parse_outdated(value: Any) -> bool:
    if not isinstance(value, dict) or not isinstance(value.get("outdated"), bool):
        raise ValueError("no outdated flag")
    return value["outdated"]


@dataclass(frozen=True)
class Summary:
    """What the model made of one window."""

    summary: str
    people: tuple[str, ...]
    places: tuple[str, ...]
    facts: tuple[str, ...]
    topic: str = ""


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError("expected a list of strings")
    clean = [" ".join(str(item).split()) for item in value if isinstance(item, str)]
    return tuple(dict.fromkeys(item for item in clean if item))


def repeats(summary: str, previous: str) -> bool:
    """Whether a summary mostly says again what the summary before it said (a small model given the
    earlier summary as context often copies it instead of summarising its own records)."""
    words, before = set(re.findall(r"\w+", summary.lower())), set(re.findall(r"\w+", previous.lower()))
    return bool(words and before) and len(words & before) / len(words | before) >= REPEAT_OVERLAP


def parse(value: Any, previous: str = "") -> Summary:
    """Check the model's answer; ValueError when it is not a usable summary."""
    if not isinstance(value, dict) or not isinstance(value.get("summary"), str) or not value["summary"].strip():
        raise ValueError("no summary")
    if _ECHO.search(value["summary"]):
        raise ValueError("the summary copies the prompt")
    if previous and repeats(value["summary"], previous):
        raise ValueError("the summary repeats the one before it")
    topic = value.get("topic")
    facts = value.get("facts", [])
    facts = [ended(fact, FACT_MAX) if isinstance(fact, str) else fact for fact in facts] if isinstance(
        facts, list) else facts
    return Summary(tidy(ended(value["summary"], SUMMARY_MAX)), _strings(value.get("people", [])),
                   _strings(value.get("places", [])), _strings(facts),
                   " ".join(topic.split())[:60] if isinstance(topic, str) else "")


def source_id(ids: Sequence[str]) -> str:
    """The key of a segment: a digest of the records it covers (idempotent re-runs)."""
    return hashlib.sha256(json.dumps(sorted(ids)).encode()).hexdigest()[:32]


def record(key: str, records: Sequence[Record], summary: Summary, source_key: str) -> NewRecord:
    """The segment as a record: newest covered time, the highest covered sensitivity."""
    facts = "".join(f"\n- {fact}" for fact in summary.facts)
    people = dict.fromkeys([*summary.people, *(p for r in records for p in r.people)])
    return NewRecord(
        text=summary.summary + facts, time=max(r.time for r in records), source="secondme", source_id=source_key,
        kind="segment", origin=f"segment:{key}", title=f"Summary of {label(key)}", people=tuple(people)[:12],
        place=summary.places[0] if summary.places else "", sensitivity=highest(r.sensitivity for r in records),
    )
