"""A big JSON file read as a stream (ijson): scalar events, and whole objects at chosen paths."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from ingest.items import ParseError

Event = tuple[str, str, Any]  # (path like "chats.list.item.name", event, value); event "object" for a whole one


class _Counted:
    """A binary file that counts the bytes read from it, to say where an error is."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.offset = 0

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.offset += len(data)
        return data


def _problem(error: Exception) -> str:
    text = error.args[0] if error.args else str(error)
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return re.sub(r"\s+", " ", text.strip().split("\n")[0]).rstrip(".") or type(error).__name__


def stream(path: Path, whole: Callable[[str], bool]) -> Iterator[Event]:
    """Every event outside the maps `whole(path)` picks; each of those comes once, built, as "object".
    ParseError (with the byte offset reached) for a file that is not valid, complete UTF-8 JSON."""
    name = str(path)
    try:
        handle = path.open("rb")
    except OSError as error:
        raise ParseError(name, f"cannot read: {error.strerror or error}") from error
    counted = _Counted(handle)
    with handle:
        try:
            builder, depth, at = None, 0, ""
            for prefix, event, value in ijson.parse(counted, use_float=True):
                if builder is None:
                    if event != "start_map" or not whole(prefix):
                        yield prefix, event, value
                        continue
                    builder, depth, at = ijson.ObjectBuilder(), 0, prefix
                builder.event(event, value)
                depth += event in ("start_map", "start_array")
                depth -= event in ("end_map", "end_array")
                if depth == 0:
                    yield at, "object", builder.value
                    builder = None
        except ijson.IncompleteJSONError as error:
            problem = _problem(error)
            cut = "premature EOF" in problem or "Incomplete" in problem
            raise ParseError(name, "the JSON ends too soon: the file is cut off (truncated?)" if cut else
                             f"not valid JSON ({problem})", f"byte {counted.offset}") from error
        except (ijson.JSONError, UnicodeDecodeError, ValueError, OverflowError, RecursionError) as error:
            raise ParseError(name, f"not valid JSON ({_problem(error)})", f"byte {counted.offset}") from error
        except OSError as error:
            raise ParseError(name, f"cannot read: {error.strerror or error}", f"byte {counted.offset}") from error
