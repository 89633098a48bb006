"""SecondMe's own JSON Lines record format: the universal way to bring anything in.

One object per line: `text` and `time` (ISO 8601) and `source` are required; `speaker`,
`conversation`, `people`, `place`, `sensitivity`, `title` and `kind` are optional.
The file is streamed, so its size does not matter; a bad line is reported with its number.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.items import Item, ParseError
from ingest.jsonlimits import TOO_DEEP, too_deep
from ingest.notes import SENSITIVITIES
from ingest.textfile import bounded_lines, size_text


@dataclass(frozen=True)
class LineResult:
    """One line's item, or the error that line gave."""

    item: Item | None = None
    error: ParseError | None = None


def looks_like_jsonl(head: bytes) -> bool:
    """True when the first non-empty line is a JSON object with a `text` field."""
    for line in head.splitlines():
        if line.strip():
            if too_deep(line):
                return False
            try:
                value = json.loads(line)
            except ValueError:
                return False
            return isinstance(value, dict) and "text" in value
    return False


def _field(name: str, number: int, obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ParseError(name, f"`{key}` is missing or not a non-empty string", f"line {number}")
    return value.strip()


def item_from_object(name: str, origin: str, number: int, obj: Any) -> Item:
    if not isinstance(obj, dict):
        raise ParseError(name, "expected a JSON object", f"line {number}")
    text = _field(name, number, obj, "text")
    source = _field(name, number, obj, "source")
    raw_time = _field(name, number, obj, "time")
    try:
        when = datetime.fromisoformat(raw_time.replace("Z", "+00:00"))
    except ValueError as error:
        raise ParseError(name, f"`time` {raw_time!r} is not ISO 8601", f"line {number}") from error
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    sensitivity = str(obj.get("sensitivity", "normal")).lower()
    if sensitivity not in SENSITIVITIES:
        raise ParseError(name, f"`sensitivity` must be one of {', '.join(SENSITIVITIES)}", f"line {number}")
    people = obj.get("people") or []
    if isinstance(people, str):
        people = [people]
    speaker = str(obj.get("speaker") or "")
    if speaker and speaker not in people:
        people = [speaker, *people]
    conversation = str(obj.get("conversation") or "")
    title = str(obj.get("title") or (f"{source}: {conversation}" if conversation else source))
    body = f"{speaker}: {text}" if speaker else text
    return Item(
        text=body, time=when, source=source,
        source_id=f"{origin}#{conversation}@{when.isoformat()}#{speaker}",
        kind=str(obj.get("kind") or ("message" if speaker else "note")), origin=origin, title=title,
        people=tuple(str(p) for p in people), place=str(obj.get("place") or ""), sensitivity=sensitivity,
    )


BLOCK_LINES = 1000  # a file's lines are stored in blocks (one origin each), so memory does not grow with it
MAX_LINE_BYTES = 4 << 20  # a longer line is skipped unread (one record's text is never near that)


def parse_jsonl(path: Path) -> Iterator[LineResult]:
    """Stream the file's lines as items or per-line errors. Whole-file problems raise."""
    name = str(path)
    resolved = str(path.resolve())
    try:
        handle = path.open("rb")
    except OSError as error:
        raise ParseError(name, f"cannot read: {error.strerror or error}") from error
    with handle:
        for number, raw in bounded_lines(handle, MAX_LINE_BYTES):
            if raw is None:
                yield LineResult(error=ParseError(name, f"the line is longer than {size_text(MAX_LINE_BYTES)}; skipped",
                                                  f"line {number}"))
                continue
            if not raw.strip():
                continue
            if too_deep(raw):
                yield LineResult(error=ParseError(name, f"{TOO_DEEP}; skipped", f"line {number}"))
                continue
            origin = f"{resolved}#lines-{(number - 1) // BLOCK_LINES * BLOCK_LINES + 1}"
            try:
                obj = json.loads(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
                yield LineResult(item=item_from_object(name, origin, number, obj))
            except UnicodeDecodeError:
                yield LineResult(error=ParseError(name, "not valid UTF-8", f"line {number}"))
            except ParseError as error:
                yield LineResult(error=error)
            except ValueError as error:
                yield LineResult(error=ParseError(name, f"not valid JSON ({error})", f"line {number}"))
