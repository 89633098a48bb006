"""Evernote exports (.enex) → items, streamed one note at a time; one origin per note."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from xml.parsers import expat

from ingest.items import Item, ParseError
from ingest.notes import NoteInfo, modified_time, note_items, sections, tags_of
from ingest.textfile import size_text

READ_BYTES = 1 << 20
MAX_NOTE_CHARS = 20 * 1024 * 1024
_FIELDS = {"title", "content", "created", "updated", "tag", "guid", "latitude", "longitude", "altitude",
           "place-name", "subject-date"}
_TOO_BIG = "\0too big"
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_BLOCKS = {"div", "p", "tr", "ul", "ol", "table", "blockquote", "pre", "hr", "en-note"}
_HIDDEN = {"en-crypt", "en-media", "style", "script", "title", "head"}


def looks_like_enex(head: bytes) -> bool:
    return b"<en-export" in head[:4096]


class _Enml(HTMLParser):
    """ENML (Evernote's XHTML) → Markdown-like text: paragraphs, `- ` list items, `#` headings, `[ ]` to-dos."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.hidden = 0

    def _breaks(self, count: int) -> None:
        tail = "".join(self.out[-3:])
        self.out.append("\n" * max(0, count - (len(tail) - len(tail.rstrip("\n")))))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _HEADINGS:
            self._breaks(2)
            self.out.append("#" * _HEADINGS[tag] + " ")
        elif tag == "li":
            self._breaks(1)
            self.out.append("- ")
        elif tag == "br":
            self.out.append("\n")
        elif tag == "en-todo":
            self.out.append("[x] " if dict(attrs).get("checked") == "true" else "[ ] ")
        elif tag in ("td", "th"):
            self.out.append(" ")
        elif tag in _BLOCKS:
            self._breaks(2 if tag in ("p", "ul", "ol", "table", "blockquote") else 1)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _HEADINGS or tag in ("p", "ul", "ol", "table", "blockquote"):
            self._breaks(2)
        elif tag in _BLOCKS:
            self._breaks(1)

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.out.append(data)


def enml_text(enml: str) -> str:
    parser = _Enml()
    parser.feed(enml)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.out).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _date(value: str) -> datetime | None:
    try:
        return datetime.strptime(value.strip(), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def _place(note: dict[str, str]) -> str:
    try:
        geo = [repr(float(note[k])) for k in ("latitude", "longitude") if k in note]
        altitude = f"{float(note['altitude']):.0f} m" if "altitude" in note and geo else ""
    except ValueError:
        geo, altitude = [], ""
    where = ", ".join(geo + ([altitude] if altitude else []))
    name = note.get("place-name", "")
    return f"{name} ({where})" if name and where else name or where


class _Notes:
    """Expat callbacks that collect each note's fields (resources and their data are never kept)."""

    def __init__(self, name: str, parser: expat.XMLParserType) -> None:
        self.name, self.parser = name, parser
        self.stack: list[str] = []
        self.done: list[tuple[int, dict[str, str], list[str]]] = []
        self.note: dict[str, str] | None = None
        self.tags: list[str] = []
        self.field, self.parts, self.size, self.line = "", [], 0, 0

    def start(self, tag: str, _attrs: dict[str, str]) -> None:
        if not self.stack and tag != "en-export":
            raise ParseError(self.name, f"not an Evernote export (the document is <{tag}>, not <en-export>)")
        parent = self.stack[-1] if self.stack else ""
        self.stack.append(tag)
        if tag == "note" and parent == "en-export":
            self.note, self.tags, self.line = {}, [], self.parser.CurrentLineNumber
        elif self.note is not None and tag in _FIELDS and parent in ("note", "note-attributes"):
            self.field, self.parts, self.size = tag, [], 0

    def end(self, tag: str) -> None:
        self.stack.pop()
        if tag == "note" and self.note is not None:
            self.done.append((self.line, self.note, self.tags))
            self.note = None
        elif tag == self.field and self.note is not None:
            value = "".join(self.parts).strip()
            if tag == "tag":
                self.tags.append(value)
            else:
                self.note[tag] = value
            self.field, self.parts = "", []

    def data(self, text: str) -> None:
        if self.field and self.note is not None:
            self.size += len(text)
            if self.size > MAX_NOTE_CHARS:  # reported by parse_enex; the rest of the file goes on
                self.note[_TOO_BIG], self.field, self.parts = self.field, "", []
                return
            self.parts.append(text)

    def entity(self, *_: object) -> None:
        raise ParseError(self.name, "the file declares XML entities, which an Evernote export never does",
                         f"line {self.parser.CurrentLineNumber}")


def _raw_notes(path: Path) -> Iterator[tuple[int, dict[str, str], list[str]]]:
    """(line, fields, tags) per note, reading the file in pieces; XML errors raise with their position."""
    name = str(path)
    parser = expat.ParserCreate()
    notes = _Notes(name, parser)
    parser.StartElementHandler, parser.EndElementHandler = notes.start, notes.end
    parser.CharacterDataHandler, parser.EntityDeclHandler = notes.data, notes.entity
    try:
        handle = path.open("rb")
    except OSError as error:
        raise ParseError(name, f"cannot read: {error.strerror or error}") from error
    with handle:
        while True:
            piece = handle.read(READ_BYTES)
            try:
                parser.Parse(piece, not piece)
            except expat.ExpatError as error:
                problem = expat.ErrorString(error.code) if error.code else str(error)
                cut = " (the file ends too early)" if not piece and "no element found" in problem else ""
                raise ParseError(name, f"not valid XML: {problem}{cut}",
                                 f"line {error.lineno}, column {error.offset + 1}") from error
            except (LookupError, ValueError) as error:  # e.g. an XML declaration naming an unknown encoding
                raise ParseError(name, f"not valid XML: {error}", f"line {parser.CurrentLineNumber}") from error
            yield from notes.done
            notes.done.clear()
            if not piece:
                return


def parse_enex(path: Path) -> Iterator[Item | ParseError]:
    """Items of each note: title, created (or subject) date, tags, geo position; a bad note is reported, the
    rest go on. Origins are the file's path + "#" + the note's guid, or its creation time and title."""
    name, base = str(path), str(path.resolve())
    seen: Counter[str] = Counter()
    fallback = modified_time(path)
    for number, (line, note, tags) in enumerate(_raw_notes(path), start=1):
        title = note.get("title") or f"Untitled note {number}"
        key = note.get("guid") or f"{note.get('created', '')} {title}".strip()
        seen[key] += 1
        key += f" ({seen[key]})" if seen[key] > 1 else ""
        if _TOO_BIG in note:
            yield ParseError(name, f"note {title!r}: its {note[_TOO_BIG]} is over {size_text(MAX_NOTE_CHARS)}; "
                                   "left out", f"line {line}")
            continue
        try:
            text = enml_text(note.get("content", ""))
        except Exception as error:  # noqa: BLE001 - HTMLParser may trip on odd markup in many ways
            yield ParseError(name, f"note {title!r}: cannot read its content ({error})", f"line {line}")
            continue
        when = next(filter(None, map(_date, (note.get(k, "") for k in ("subject-date", "created", "updated")))),
                    fallback)
        info = NoteInfo(title=title, time=when, origin=f"{base}#{key}", source="evernote", place=_place(note),
                        tags=tags_of(tags))
        yield from note_items(info, sections(text or title))
