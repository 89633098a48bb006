"""Markdown and plain-text notes → items, one per section (heading path kept as the title).

Sections follow the document's headings; a long section is split at paragraph breaks.
Front matter may give `title`, `date`, `tags`, `people`, `place` and `sensitivity`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from ingest.items import Item, ParseError
from ingest.textfile import read_text

MAX_CHUNK_CHARS = 1500
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_DATE_IN_NAME = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_FENCE = re.compile(r"^(```|~~~)")
SENSITIVITIES = ("normal", "private", "secret")


@dataclass(frozen=True)
class Section:
    headings: tuple[str, ...]
    text: str


def split_front_matter(name: str, text: str) -> tuple[dict[str, Any], str]:
    if not text.startswith("---"):
        return {}, text
    end = re.search(r"^(---|\.\.\.)\s*$", text[3:], re.MULTILINE)
    if not end:
        return {}, text
    raw = text[3:3 + end.start()]
    try:
        meta = yaml.safe_load(raw) or {}
    except yaml.YAMLError as error:
        raise ParseError(name, f"front matter is not valid YAML ({error.__class__.__name__})", "line 1") from error
    if not isinstance(meta, dict):
        return {}, text
    return meta, text[3 + end.end():]


def sections(body: str) -> Iterator[Section]:
    """Sections by heading; fenced code is never mistaken for a heading."""
    path: list[tuple[int, str]] = []
    lines: list[str] = []
    in_fence = False

    def flush() -> Iterator[Section]:
        text = "\n".join(lines).strip()
        if text:
            yield Section(tuple(title for _, title in path), text)

    for line in body.split("\n"):
        if _FENCE.match(line.strip()):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING.match(line)
        if heading:
            yield from flush()
            lines = []
            level = len(heading.group(1))
            path = [(lv, t) for lv, t in path if lv < level] + [(level, heading.group(2))]
        else:
            lines.append(line)
    yield from flush()


def chunks(text: str, limit: int = MAX_CHUNK_CHARS) -> Iterator[str]:
    """Paragraph groups up to `limit` characters; a single huge paragraph is cut at sentences."""
    current: list[str] = []
    size = 0
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        pieces = [paragraph] if len(paragraph) <= limit else re.split(r"(?<=[.!?])\s+", paragraph)
        for piece in pieces:
            if current and size + len(piece) > limit:
                yield "\n\n".join(current)
                current, size = [], 0
            current.append(piece)
            size += len(piece) + 2
    if current:
        yield "\n\n".join(current)


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, 12, tzinfo=UTC)
    if isinstance(value, str):
        try:
            return _as_datetime(datetime.fromisoformat(value.strip()))
        except ValueError:
            return None
    return None


def note_time(path: Path, meta: dict[str, Any]) -> datetime:
    for key in ("date", "created", "time"):
        found = _as_datetime(meta.get(key))
        if found:
            return found
    match = _DATE_IN_NAME.search(path.stem)
    if match:
        try:
            return datetime(*map(int, match.groups()), 12, tzinfo=UTC)
        except ValueError:
            pass
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return ()


def parse_note(path: Path, source: str | None = None) -> list[Item]:
    """All items of one Markdown or text note."""
    name = str(path)
    text = read_text(path)
    markdown = path.suffix.lower() in (".md", ".markdown", ".mdown")
    meta, body = split_front_matter(name, text) if markdown or text.startswith("---") else ({}, text)
    sensitivity = str(meta.get("sensitivity", "normal")).lower()
    if sensitivity not in SENSITIVITIES:
        raise ParseError(name, f"sensitivity must be one of {', '.join(SENSITIVITIES)}, not {sensitivity!r}")
    title = str(meta.get("title") or path.stem)
    when = note_time(path, meta)
    origin = str(path.resolve())
    items = []
    found = sections(body) if markdown else [Section((), body)]
    for section in found:
        heading_path = section.headings[1:] if section.headings[:1] == (title,) else section.headings
        heading = " > ".join((title, *heading_path))
        for n, chunk in enumerate(chunks(section.text)):
            items.append(Item(
                text=chunk, time=when, source=source or ("markdown" if markdown else "text"),
                source_id=f"{origin}#{'/'.join(section.headings)}#{n}", kind="note", origin=origin,
                title=heading, people=_strings(meta.get("people")), place=str(meta.get("place") or ""),
                sensitivity=sensitivity,
            ))
    if not items:
        raise ParseError(name, "the note has no text besides its front matter")
    return items
