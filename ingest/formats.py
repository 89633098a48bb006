"""The formats SecondMe reads: how each is recognised (content first) and parsed.

A parser streams `Item`s, all items of one origin together (a note, a chat conversation, a
day of visits), and may yield a `ParseError` for a bad part of the file and go on; raising a
ParseError means the file as a whole cannot be read. Origins of one file are the file's
resolved path, or that path plus "#" and a part name for files that hold several.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest.evernote import looks_like_enex, parse_enex
from ingest.gps import GPS_FORMATS
from ingest.instagram import looks_like_instagram, parse_instagram
from ingest.items import Item, ParseError
from ingest.jsonl import looks_like_jsonl, parse_jsonl
from ingest.notes import parse_note
from ingest.pdf import looks_like_pdf, parse_pdf
from ingest.signal import looks_like_signal, parse_signal
from ingest.telegram import looks_like_telegram, parse_telegram
from ingest.whatsapp import looks_like_whatsapp, parse_whatsapp

HEAD_BYTES = 64 * 1024
MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown")
TEXT_SUFFIXES = (".txt", ".text", "")

Parsed = Iterator[Item | ParseError]


@dataclass(frozen=True)
class Format:
    """One readable format. `sniff(path, head)` looks at the first HEAD_BYTES of the file."""

    name: str
    sniff: Callable[[Path, bytes], bool]
    parse: Callable[[Path], Parsed]


def _jsonl(path: Path) -> Parsed:
    for line in parse_jsonl(path):
        if line.error:
            yield line.error
        elif line.item:
            yield line.item


def _note(path: Path) -> Parsed:
    yield from parse_note(path, markdown=path.suffix.lower() not in TEXT_SUFFIXES)


def _is_markdown(path: Path, head: bytes) -> bool:
    if path.suffix.lower() in MARKDOWN_SUFFIXES:
        return True
    return path.suffix.lower() not in TEXT_SUFFIXES and b"\x00" not in head and head.lstrip().startswith((b"#", b"---"))


# Order matters: specific formats (recognised by their content) before the generic text ones.
FORMATS: list[Format] = [
    Format("pdf", lambda path, head: looks_like_pdf(head) or path.suffix.lower() == ".pdf", parse_pdf),
    Format("evernote", lambda path, head: looks_like_enex(head) or path.suffix.lower() == ".enex", parse_enex),
    Format("jsonl", lambda path, head: looks_like_jsonl(head) or path.suffix.lower() in (".jsonl", ".ndjson"), _jsonl),
    Format("telegram", looks_like_telegram, parse_telegram),
    Format("instagram", looks_like_instagram, parse_instagram),
    Format("signal", looks_like_signal, parse_signal),  # before WhatsApp, whose bracketed lines look alike
    Format("whatsapp", looks_like_whatsapp, parse_whatsapp),
    *(Format(*spec) for spec in GPS_FORMATS),  # GPX, Google location history, OwnTracks, Overland
    Format("markdown", _is_markdown, _note),
    Format("text", lambda path, head: path.suffix.lower() in TEXT_SUFFIXES, _note),
]


def detect_format(path: Path) -> Format:
    """The format of a file; ParseError for a folder, an unreadable file or a format SecondMe cannot read."""
    name = str(path)
    if path.is_dir():
        raise ParseError(name, "is a folder; give files, or the folder to walk through `ingest`")
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError as error:
        raise ParseError(name, f"cannot read: {error.strerror or error}") from error
    if not head:
        raise ParseError(name, "the file is empty")
    for candidate in FORMATS:
        if candidate.sniff(path, head):
            return candidate
    raise ParseError(name, f"unsupported file type {path.suffix.lower()!r} (SecondMe reads "
                           f"{', '.join(f.name for f in FORMATS)}; see README)")
