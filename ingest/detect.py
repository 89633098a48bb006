"""Pick the parser for a file by its content first, its extension second."""

from __future__ import annotations

from pathlib import Path

from ingest.items import ParseError
from ingest.jsonl import looks_like_jsonl

NOTE_SUFFIXES = {".md", ".markdown", ".mdown", ".txt", ".text", ""}
HEAD_BYTES = 64 * 1024


def detect_format(path: Path) -> str:
    """"jsonl", "markdown" or "text"; ParseError for what SecondMe cannot read yet."""
    name = str(path)
    if path.is_dir():
        raise ParseError(name, "is a folder; give files, or the folder to walk through `ingest`")
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError as error:
        raise ParseError(name, f"cannot read: {error.strerror or error}") from error
    if looks_like_jsonl(head):
        return "jsonl"
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix in (".md", ".markdown", ".mdown"):
        return "markdown"
    if suffix in NOTE_SUFFIXES:
        return "text"
    if b"\x00" not in head and head.lstrip().startswith((b"#", b"---")):
        return "markdown"
    raise ParseError(name, f"unsupported file type {suffix!r} (SecondMe reads Markdown, text and "
                           "its JSON Lines format; see README)")
