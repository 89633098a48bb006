"""The objects at one path of a JSON file, streamed by ijson's C parser; ParseError with a byte offset if it is bad."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from ingest.items import ParseError

# Anything a conversion of one record may raise on odd content: the record is skipped and counted.
BAD_RECORD = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)


class _Counting:
    def __init__(self, handle: BinaryIO) -> None:
        self.handle, self.offset = handle, 0

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.offset += len(data)
        return data


def _first_line(error: Exception) -> str:
    text = error.args[0] if error.args else type(error).__name__
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return re.sub(r"\s+", " ", text.strip().split("\n")[0]).rstrip(".")


def items(path: Path, prefix: str) -> Iterator[Any]:
    """Each value at `prefix` ("locations.item", "item"...), built; the file is never loaded whole."""
    try:
        handle = path.open("rb")
    except OSError as error:
        raise ParseError(str(path), f"cannot read: {error.strerror or error}") from error
    with handle:
        source = _Counting(handle)
        name = str(path)
        try:
            yield from ijson.items(source, prefix, use_float=True)
        except ijson.JSONError as error:
            problem = _first_line(error)
            cut = "premature EOF" in problem
            raise ParseError(name, "the JSON ends too soon: the file is cut off (truncated?)" if cut
                             else f"not valid JSON ({problem})", f"near byte {source.offset}") from error
        except (UnicodeDecodeError, ValueError, OverflowError, RecursionError) as error:
            raise ParseError(name, f"not valid JSON ({_first_line(error)})", f"near byte {source.offset}") from error
        except OSError as error:
            raise ParseError(name, f"cannot read: {error.strerror or error}", f"near byte {source.offset}") from error
