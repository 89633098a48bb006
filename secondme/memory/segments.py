"""Segment summaries: windows cut from each origin's raw records, the prompt that summarises one, its record."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePath
from typing import Any

from secondme.core.protocols import ChatMessage
from secondme.core.types import NewRecord, Record, Sensitivity

SUMMARY_KINDS = ("segment", "topic")
NOT_SUMMARISED = (*SUMMARY_KINDS, "reply")  # our own chat replies are not memories of the owner's life
MAX_RECORDS = 16
MAX_CHARS = 1500
RECORD_CLIP = 1200
EPISODE_GAP = timedelta(hours=6)  # a longer silence starts a new window (another session, another day)
RELATED_SHOWN = 3  # earlier records shown beside a window, so the model can say which it outdates
_RANK = {Sensitivity.NORMAL: 0, Sensitivity.PRIVATE: 1, Sensitivity.SECRET: 2}

# Bounded lengths keep a small model from looping until max_tokens (grammar-enforced by llama.cpp).
_NAMES = {"type": "array", "items": {"type": "string", "maxLength": 40}, "maxItems": 6}


def schema(labels: Sequence[str]) -> dict[str, Any]:
    """The answer's shape; `outdated` pairs name records by the labels the prompt gave them."""
    label = {"enum": list(labels)}
    pair = {"type": "object", "properties": {"old": label, "new": label}, "required": ["old", "new"]}
    return {
        "type": "object",
        "properties": {
            "summary": {"type": "string", "maxLength": 500}, "people": _NAMES, "places": _NAMES,
            "facts": {"type": "array", "items": {"type": "string", "maxLength": 120}, "maxItems": 6},
            "outdated": {"type": "array", "items": pair, "maxItems": 3},
        },
        "required": ["summary", "people", "places", "facts", "outdated"],
    }


_SYSTEM = (
    "You condense a stretch of someone's memories (notes, messages) into their long-term memory. "
    "Call the owner of the memories 'the user'. Keep names, dates, places and numbers exact and state "
    "only what the records say. summary: 2 to 4 sentences. facts: short standalone facts, with dates when known. "
    "outdated: pairs where a newer record (new) changes a fact that an older record (old) stated, e.g. the user "
    "moved, changed job, a plan was changed or cancelled; usually none."
)


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
    return f"{tag} [{record.time:%Y-%m-%d %H:%M}] {title}{text}"


def labels(records: Sequence[Record], related: Sequence[Record]) -> dict[str, str]:
    """{label: record id}: the window's records are R1, R2..., the earlier related ones E1, E2..."""
    return {**{f"R{n}": r.id for n, r in enumerate(records, 1)}, **{f"E{n}": r.id for n, r in enumerate(related, 1)}}


def messages(key: str, records: Sequence[Record], previous: str, related: Sequence[Record] = ()) -> list[ChatMessage]:
    """The prompt that summarises one window, with the previous window's summary for context and
    earlier records on the same subjects (which a newer record may outdate)."""
    lines = "\n".join(_line(f"R{n}", r) for n, r in enumerate(records, 1))
    earlier = "\n".join(_line(f"E{n}", r) for n, r in enumerate(related, 1)) or "(none)"
    user = (f"Summary of the part before:\n{previous or '(none)'}\n\nEarlier records on the same subjects:\n"
            f"{earlier}\n\nRecords from {label(key)}:\n{lines}")
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": user}]


@dataclass(frozen=True)
class Summary:
    """What the model made of one window."""

    summary: str
    people: tuple[str, ...]
    places: tuple[str, ...]
    facts: tuple[str, ...]
    outdated: tuple[tuple[str, str], ...] = ()  # (old label, new label)


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError("expected a list of strings")
    clean = [" ".join(str(item).split()) for item in value if isinstance(item, str)]
    return tuple(dict.fromkeys(item for item in clean if item))


def parse(value: Any) -> Summary:
    """Check the model's answer; ValueError when it is not a usable summary."""
    if not isinstance(value, dict) or not isinstance(value.get("summary"), str) or not value["summary"].strip():
        raise ValueError("no summary")
    pairs = value.get("outdated") or []
    outdated = tuple((str(p.get("old")), str(p.get("new"))) for p in pairs if isinstance(p, dict)) \
        if isinstance(pairs, list) else ()
    return Summary(" ".join(value["summary"].split()), _strings(value.get("people", [])),
                   _strings(value.get("places", [])), _strings(value.get("facts", [])), outdated)


def replacements(summary: Summary, by_label: dict[str, str], times: dict[str, datetime]) -> list[tuple[str, str]]:
    """The (old id, new id) pairs of an answer that make sense: known labels, the new one in the
    window, not older than the old one."""
    pairs = []
    for old_label, new_label in summary.outdated:
        old, new = by_label.get(old_label), by_label.get(new_label)
        if old and new and old != new and new_label.startswith("R") and times[new] >= times[old]:
            pairs.append((old, new))
    return list(dict.fromkeys(pairs))


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
