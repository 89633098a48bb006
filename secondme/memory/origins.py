"""Origins: the file (and part of it) or conversation a record came from, and the keyed form stored in the clear.

A file's origin is its path, or its path, "#" and a part ("chat.txt#2024-05-01T09:00:00"). The path's own
"%" and "#" are escaped, so the first "#" always ends the path: a file named "a.md#b.md" is never taken
for a part of "a.md". The database holds origins keyed (HMAC): the path and the part each hashed, joined
by "#", so the parts of a file are still found by a range of keys. Conversations keep their origin as it
is: "conversation:" or "guest:" and a random id, no content.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

PART = "#"
CLEAR_SCHEMES = ("conversation:", "guest:")
SEGMENT = "segment:"


def escape(path: str) -> str:
    return path.replace("%", "%25").replace(PART, "%23")


def file_origin(path: str, origin: str) -> str:
    """A parser's origin of the file at `path` ("<path>" or "<path>#<part>", unescaped) with the path escaped;
    any other origin as it is."""
    if origin == path or origin.startswith(path + PART):
        return escape(path) + origin[len(path):]
    return origin


def origin_path(origin: str) -> str:
    """The file path an origin names (the part dropped, escapes undone); the origin itself when it names none."""
    return origin.partition(PART)[0].replace("%23", PART).replace("%25", "%")


def key(identifier: Callable[[str], str], origin: str) -> str:
    """The stored form of an origin: keyed hashes of its path and its part (random conversation ids kept)."""
    if not origin or origin.startswith(CLEAR_SCHEMES):
        return origin
    path, sep, part = origin.partition(PART)
    return identifier(path) + (sep + identifier(part) if sep else "")


def range_of(file_key: str) -> tuple[str, str, str]:
    """SQL parameters for `origin = ? OR (origin >= ? AND origin < ?)`: a file's own key and its parts' keys."""
    return file_key, file_key + PART, file_key + chr(ord(PART) + 1)


def legacy(origin: str) -> str:
    """The origin, in today's form, of one stored before paths were escaped: an absolute path is cut at
    the longest "#" prefix that is an existing file (else at its first "#") and escaped."""
    if origin.startswith(SEGMENT):
        return SEGMENT + legacy(origin[len(SEGMENT):])
    if not os.path.isabs(origin):
        return origin
    cuts = [i for i, char in enumerate(origin) if char == PART]
    if not cuts:
        return escape(origin)
    path = next((origin[:i] for i in [len(origin), *reversed(cuts)] if Path(origin[:i]).is_file()), origin[: cuts[0]])
    return file_origin(path, origin)
