"""Reading a text file safely: size and line limits, binary detection, clear encoding errors."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ingest.items import ParseError

MAX_TEXT_BYTES = 50 * 1024 * 1024
MAX_LINE_CHARS = 200_000
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def size_text(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return ""


def _looks_like_utf16(head: bytes) -> bool:
    """Mostly-ASCII text in UTF-16: every other byte is NUL."""
    pairs = len(head) // 2
    return pairs >= 2 and max(head[0::2].count(0), head[1::2].count(0)) >= 0.8 * pairs


def read_text(path: Path, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """The file's text, or a ParseError that says exactly what is wrong with it."""
    name = str(path)
    try:
        size = path.stat().st_size
        if size == 0:
            raise ParseError(name, "the file is empty")
        if size > max_bytes:
            raise ParseError(name, f"the file is {size_text(size)}; text files over "
                                   f"{size_text(max_bytes)} are not supported (split it up)")
        data = path.read_bytes()
    except OSError as error:
        raise ParseError(name, f"cannot read: {error.strerror or error}") from error
    encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), "utf-8")
    if encoding == "utf-8":
        nul = data.find(b"\x00")
        if nul >= 0 and _looks_like_utf16(data[:4096]):
            raise ParseError(name, "UTF-16 text without a byte-order mark; re-save the file as UTF-8")
        if nul >= 0:
            raise ParseError(name, f"binary data, not text (NUL byte at offset {nul})")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        bad = data[error.start:error.start + 1].hex()
        line = data.count(b"\n", 0, error.start) + 1
        raise ParseError(name, f"not valid {encoding.upper()} text (byte 0x{bad} at offset {error.start}); "
                               "re-save the file as UTF-8", f"line {line}") from error
    if not text.strip():
        raise ParseError(name, "the file holds only whitespace")
    check_line_lengths(name, text)
    return text


def check_line_lengths(name: str, text: str) -> None:
    for number, line in enumerate(text.split("\n"), start=1):
        if len(line) > MAX_LINE_CHARS:
            raise ParseError(name, f"line is {len(line):,} characters long (limit {MAX_LINE_CHARS:,}); "
                                   "this does not look like notes", f"line {number}")


def bounded_lines(handle: BinaryIO, limit: int) -> Iterator[tuple[int, bytes | None]]:
    """(number, line) with None for a line longer than `limit` bytes, which is skipped unread (in 1 MB pieces)."""
    number = 0
    while True:
        raw = handle.readline(limit + 1)
        if not raw:
            return
        number += 1
        if len(raw) > limit and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):
                raw = handle.readline(1 << 20)
            yield number, None
        else:
            yield number, raw
