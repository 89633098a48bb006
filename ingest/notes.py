"""Markdown, Obsidian and plain-text notes → items, one per section (heading path kept as the title).

Sections follow the document's headings; a long section is split at paragraph breaks.
Front matter may give `title`, `date`, `tags`, `people`, `place` and `sensitivity`.
`[[wikilinks]]` (and links to other .md files) become the item's `links`; the text keeps what
a reader sees (the alias, or the target's name). Tags stay in the text as `#tag`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote

import yaml

from ingest.items import Item, ParseError
from ingest.textfile import read_text

MAX_CHUNK_CHARS = 1500
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_DATE_IN_NAME = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_FENCE = re.compile(r"^(```|~~~)")
_WIKILINK = re.compile(r"(!?)\[\[([^\[\]|#^\n]*)([#^][^\[\]|\n]*)?(?:\|([^\[\]\n]*))?\]\]")
_MD_LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(<?([^)>\s:]+\.md)>?\)")
_ATTACHMENT = re.compile(r"\.(?!md$)[A-Za-z0-9]{1,5}$")
_TAG = re.compile(r"(?<![\w#&/])#([^\W\d][\w/-]*)")
MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown")
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
    except (ValueError, TypeError, OverflowError, RecursionError) as error:  # e.g. a date like 2025-14-12
        raise ParseError(name, f"front matter has a bad value ({error})", "line 1") from error
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
    return modified_time(path)


def modified_time(path: Path) -> datetime:
    """When the file was last changed (now, if it cannot be told)."""
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except (OSError, ValueError, OverflowError):
        return datetime.now(UTC)


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, list):
        return tuple(str(v) for v in value if v is not None)
    return ()


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def tags_of(value: Any) -> tuple[str, ...]:
    """Front-matter tags (a list, or a string split at commas or spaces), without their `#`."""
    words = _strings(value) if isinstance(value, list) else tuple(str(value or "").replace(",", " ").split())
    return _unique(w.strip().lstrip("#") for w in words)


def _note_name(target: str) -> str:
    name = PurePosixPath(target.strip().replace("\\", "/")).name
    return name[:-3] if name.lower().endswith(".md") else name


def resolve_links(text: str) -> tuple[str, tuple[str, ...]]:
    """The text as a reader sees it (aliases, not `[[...]]`) and the names of the notes it links to."""
    links: list[str] = []

    def readable(match: re.Match[str]) -> str:
        embed, target, anchor, alias = match.groups()
        name = _note_name(target)
        if not (embed and _ATTACHMENT.search(name)):  # an embedded image or PDF is not a note
            links.append(name)
        shown = " > ".join(p for p in (name, (anchor or "")[1:].strip()) if p)
        return alias.strip() if alias and alias.strip() else shown

    text = _WIKILINK.sub(readable, text)
    links += [_note_name(unquote(m.group(1))) for m in _MD_LINK.finditer(text)]
    return text, _unique(links)


@dataclass(frozen=True)
class NoteInfo:
    """What every item of one note shares."""

    title: str
    time: datetime
    origin: str
    source: str
    people: tuple[str, ...] = ()
    place: str = ""
    sensitivity: str = "normal"
    tags: tuple[str, ...] = ()  # tags the text does not show (front matter, Evernote)


def note_items(note: NoteInfo, found: Iterable[Section]) -> list[Item]:
    """One item per paragraph group of each section; the title is the note's title plus the heading path."""
    items = []
    for section in found:
        heading_path = section.headings[1:] if section.headings[:1] == (note.title,) else section.headings
        heading = resolve_links(" > ".join((note.title, *heading_path)))[0]
        for n, chunk in enumerate(chunks(section.text)):
            text, links = resolve_links(chunk)
            shown = set(_TAG.findall(text))
            hidden = [f"#{t}" for t in note.tags if t not in shown]
            items.append(Item(
                text="\n\n".join([text, " ".join(hidden)]) if hidden else text, time=note.time, source=note.source,
                source_id=f"{note.origin}#{'/'.join(section.headings)}#{n}", kind="note", origin=note.origin,
                title=heading, people=note.people, place=note.place, sensitivity=note.sensitivity, links=links,
            ))
    return items


def sensitivity_of(name: str, value: Any) -> str:
    sensitivity = str(value or "normal").lower()
    if sensitivity not in SENSITIVITIES:
        raise ParseError(name, f"sensitivity must be one of {', '.join(SENSITIVITIES)}, not {sensitivity!r}")
    return sensitivity


def parse_note(path: Path, source: str | None = None, markdown: bool | None = None) -> list[Item]:
    """All items of one Markdown or text note (Markdown by its suffix unless `markdown` says)."""
    name = str(path)
    text = read_text(path)
    markdown = path.suffix.lower() in MARKDOWN_SUFFIXES if markdown is None else markdown
    meta, body = split_front_matter(name, text) if markdown or text.startswith("---") else ({}, text)
    title = str(meta.get("title") or path.stem)
    note = NoteInfo(
        title=title, time=note_time(path, meta), origin=str(path.resolve()),
        source=source or ("markdown" if markdown else "text"), people=_strings(meta.get("people")),
        place=str(meta.get("place") or ""), sensitivity=sensitivity_of(name, meta.get("sensitivity")),
        tags=tags_of(meta.get("tags")),
    )
    items = note_items(note, sections(body) if markdown else [Section((), body)])
    if not items:
        raise ParseError(name, "the note has no text besides its front matter")
    return items
