"""How deep and how big JSON from a file may be, measured on its bytes before any parser sees them.

A parser given a value nested thousands of levels deep recurses or builds a path string per level
(ijson: quadratic memory); given one 200 MB string it holds it whole. `Scanner` finds the nesting
depth, the longest string and the largest value at one depth exactly, chunk by chunk, with a few
numpy passes over each chunk (strings and escapes are taken into account).
"""

from __future__ import annotations

import numpy as np

MAX_DEPTH = 64  # no export SecondMe reads nests deeper than a dozen levels
MAX_VALUE_BYTES = 16 << 20  # one message, record or visit; the biggest real ones are some hundred KB
MAX_STRING_BYTES = 16 << 20
TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep"

# Each byte's part in the structure: brackets (odd codes) open or close, quotes, backslashes; 0 for the rest.
_OPEN, _CLOSE, _QUOTE, _BACKSLASH = 1, -1, 2, 4
_CODES = bytes({ord("["): _OPEN, ord("{"): _OPEN, ord("]"): _CLOSE & 0xFF, ord("}"): _CLOSE & 0xFF,
                ord('"'): _QUOTE, ord("\\"): _BACKSLASH}.get(byte, 0) for byte in range(256))


def _paired(starts: np.ndarray, ends: np.ndarray, start: int | None, end: int) -> tuple[int, int | None]:
    """(the longest of the spans start→end paired in order, bytes; the start of the one left open, or None).
    `start` is that of a span the last chunk left open; `end` is where this chunk ends."""
    if start is not None:
        starts = np.concatenate(([start], starts))
    closed = min(len(starts), len(ends))
    longest = int((ends[:closed] - starts[:closed]).max(initial=-1)) + 1
    if len(starts) > closed:
        pending = int(starts[closed])
        return max(longest, end - pending), pending
    return longest, None


class Scanner:
    """Feed it a file's bytes in order; it keeps the deepest nesting, the longest string, and (with
    `item_depth`) the largest container opened at that depth (1 is the top value), all in bytes."""

    def __init__(self, item_depth: int = 0) -> None:
        self.item_depth = item_depth
        self.deepest = self.longest = self.largest = 0
        self.offset = 0  # bytes fed so far
        self._depth = 0
        self._string: int | None = None  # offset of the quote that opened the string the last chunk ended in
        self._item: int | None = None  # offset of the item still open at the end of the last chunk
        self._backslashes = 0  # the run of backslashes the last chunk ended with

    def feed(self, data: bytes) -> None:
        codes = np.frombuffer(data.translate(_CODES), np.int8)
        at = np.flatnonzero(codes.view(bool))  # where the structure's bytes are; the work is on those only
        kind = codes[at]
        quote = kind == _QUOTE
        if self._backslashes or (kind == _BACKSLASH).any():
            quote &= ~self._escaped(at, kind)
        inside = int(self._string is not None)
        # a bracket counts when the quotes before it (with the string the last chunk ended in) are even
        counted = np.cumsum(quote, dtype=np.uint8)
        structure = ((counted ^ (inside ^ 1)) & kind.view(np.uint8) & 1).view(bool)
        brackets, steps = at[structure], kind[structure]
        depth = self._depth + np.cumsum(steps, dtype=np.int64)
        if len(depth):
            self.deepest = max(self.deepest, int(depth.max()))
            self._depth = int(depth[-1])
        local = None if self._string is None else self._string - self.offset
        quotes = at[quote]
        longest, pending = _paired(quotes[inside::2], quotes[1 - inside::2], local, len(data))
        self.longest = max(self.longest, longest)
        self._string = None if pending is None else self.offset + pending
        if self.item_depth:
            starts = brackets[(steps == _OPEN) & (depth == self.item_depth)]
            ends = brackets[(steps == _CLOSE) & (depth == self.item_depth - 1)]
            local = None if self._item is None else self._item - self.offset
            largest, pending = _paired(starts, ends, local, len(data))
            self.largest = max(self.largest, largest)
            self._item = None if pending is None else self.offset + pending
        trailing = len(data) - len(data.rstrip(b"\\"))
        self._backslashes = trailing + (self._backslashes if trailing == len(data) else 0)
        self.offset += len(data)

    def _escaped(self, at: np.ndarray, kind: np.ndarray) -> np.ndarray:
        """Which of the structure's bytes come right after an odd run of backslashes (begun maybe in the last chunk)."""
        backslash = kind == _BACKSLASH
        follows = np.zeros(len(at), bool)  # the byte right before this one is a backslash
        follows[1:] = backslash[:-1] & (at[1:] == at[:-1] + 1)
        if len(at) and at[0] == 0:
            follows[0] = self._backslashes > 0
        run_start = np.maximum.accumulate(np.where(backslash & ~follows, np.arange(len(at)), 0))
        after = np.flatnonzero(follows)
        last = after - 1  # the backslash before each of those (-1: the run is all in the last chunk)
        first = np.where(last >= 0, at[run_start[np.maximum(last, 0)]], 0)
        run = np.where(last >= 0, at[np.maximum(last, 0)] - first + 1, 0) + np.where(first == 0, self._backslashes, 0)
        escaped = np.zeros(len(at), bool)
        escaped[after] = run % 2 == 1
        return escaped


def too_deep(data: bytes) -> bool:
    """Whether the JSON in `data` nests deeper than MAX_DEPTH; counting brackets first keeps most lines cheap."""
    if data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
        return False
    scanner = Scanner()
    scanner.feed(data)
    return scanner.deepest > MAX_DEPTH
