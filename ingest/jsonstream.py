"""A big JSON file read as a stream (ijson's C parser), within limits: events, and whole values at chosen paths.

A chosen value nested deeper than MAX_DEPTH or bigger than MAX_VALUE_BYTES is skipped (a `Skipped` in
its place) and the rest of the file goes on; nothing deeper than MAX_DEPTH is read at all. A string
longer than MAX_STRING_BYTES stops the file with a ParseError: the parser would have to hold it whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from ingest.items import ParseError
from ingest.jsonlimits import MAX_DEPTH, MAX_STRING_BYTES, MAX_VALUE_BYTES, TOO_DEEP, Scanner
from ingest.textfile import size_text

Event = tuple[str, str, Any]  # (path like "chats.list.item.name", event, value); see `stream`
_OPENS = frozenset(("start_map", "start_array"))
_CLOSES = frozenset(("end_map", "end_array"))
TOO_BIG = f"over {size_text(MAX_VALUE_BYTES)}"


@dataclass(frozen=True)
class Skipped:
    """A value at a chosen path left out: what was wrong with it, and how far into the file it was."""

    problem: str
    byte: int


class Unsafe(Exception):
    """The file holds a value too deep or too big for ijson's own builder (raised by a `strict` source)."""


class Source:
    """The file as ijson reads it: bytes counted and scanned, so that no string grows past the limit (and,
    when `strict`, nothing nests too deep and no value at `item_depth` grows too big: Unsafe)."""

    def __init__(self, handle: BinaryIO, name: str, item_depth: int = 0) -> None:
        self.handle, self.name, self.offset = handle, name, 0
        self.strict = item_depth > 0
        self.scanner = Scanner(item_depth)

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        scanner = self.scanner
        scanner.feed(data)
        if scanner.longest > MAX_STRING_BYTES:
            raise ParseError(self.name, f"holds a string over {size_text(MAX_STRING_BYTES)} long; SecondMe "
                                        "reads no further", f"byte {self.offset}")
        if self.strict and (scanner.deepest > MAX_DEPTH or scanner.largest > MAX_VALUE_BYTES):
            raise Unsafe
        self.offset += len(data)
        return data


def _problem(error: Exception) -> str:
    text = error.args[0] if error.args else str(error)
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return re.sub(r"\s+", " ", text.strip().split("\n")[0]).rstrip(".") or type(error).__name__


@contextmanager
def opened(path: Path, item_depth: int = 0) -> Iterator[Source]:
    """The file as a Source; an unreadable file or bad JSON raises ParseError with the byte offset reached."""
    name = str(path)
    try:
        handle = path.open("rb")
    except OSError as error:
        raise ParseError(name, f"cannot read: {error.strerror or error}") from error
    source = Source(handle, name, item_depth)
    with handle:
        try:
            yield source
        except ijson.IncompleteJSONError as error:
            problem = _problem(error)
            cut = "premature EOF" in problem or "Incomplete" in problem
            raise ParseError(name, "the JSON ends too soon: the file is cut off (truncated?)" if cut else
                             f"not valid JSON ({problem})", f"byte {source.offset}") from error
        except (ijson.JSONError, UnicodeDecodeError, ValueError, OverflowError) as error:
            raise ParseError(name, f"not valid JSON ({_problem(error)})", f"byte {source.offset}") from error
        except OSError as error:
            raise ParseError(name, f"cannot read: {error.strerror or error}", f"byte {source.offset}") from error


def stream(path: Path, whole: Callable[[str], bool]) -> Iterator[Event]:
    """ijson's (prefix, event, value) for everything outside the values `whole(prefix)` picks; each of those
    comes once, as (prefix, "value", the value built) or (prefix, "skipped", Skipped). ParseError for a
    file that is not valid, complete UTF-8 JSON."""
    with opened(path) as source:
        yield from _events(ijson.basic_parse(source, use_float=True), whole, source)


def _events(events: Iterator[tuple[str, Any]], whole: Callable[[str], bool], source: Source) -> Iterator[Event]:
    keys: list[str] = []  # the map keys and "item"s down to where the parser is (ijson's prefix, as a list)
    taking, at, problem = False, "", ""  # a value being built or skipped, at `at`
    depth = room = until = 0  # its containers open, how many more it may open, the offset it must end by
    builder: ijson.ObjectBuilder | None = None  # None once the value broke a limit, or when it is not chosen
    for event, value in events:
        if taking:
            if event in _OPENS:
                depth += 1
            elif event in _CLOSES:
                depth -= 1
            if builder is not None:
                if depth > room or source.offset > until:
                    builder, problem = None, TOO_DEEP if depth > room else TOO_BIG
                else:
                    builder.event(event, value)
            if depth == 0:
                taking = False
                if builder is not None:
                    yield at, "value", builder.value
                elif problem:
                    yield at, "skipped", Skipped(problem, source.offset)
            continue
        if event == "map_key":
            yield ".".join(keys[:-1]), event, value
            keys[-1] = value
            continue
        if event in _CLOSES:
            keys.pop()
            yield ".".join(keys), event, value
            continue
        prefix = ".".join(keys)
        chosen = whole(prefix)
        if event not in _OPENS:
            yield prefix, "value" if chosen else event, value
        elif chosen or len(keys) == MAX_DEPTH:  # a value to build, or one too deep to read: skipped whole
            taking, depth, at, problem = True, 1, prefix, ""
            room, until = MAX_DEPTH - len(keys), source.offset + MAX_VALUE_BYTES
            builder = ijson.ObjectBuilder() if chosen else None
            if len(keys) == MAX_DEPTH:
                builder, problem = None, TOO_DEEP if chosen else ""
            elif builder is not None:
                builder.event(event, value)
        else:
            yield prefix, event, value
            keys.append("item" if event == "start_array" else "")
