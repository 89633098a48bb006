"""The values at one path of a JSON file, streamed; ParseError with a byte offset if the file is bad.

ijson's C builder does the work while the file stays within the limits of ingest.jsonlimits (real
exports always do); from a value nested too deep or too big on, the file is read again the careful
way (ingest.jsonstream), which skips such a value and goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ijson

from ingest.gps.points import Tally
from ingest.jsonstream import Skipped, Unsafe, opened, stream

# Anything a conversion of one record may raise on odd content: the record is skipped and counted.
BAD_RECORD = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)


def items(path: Path, prefix: str, tally: Tally) -> Iterator[tuple[int, Any]]:
    """(number, value) of each value at `prefix` ("locations.item", "item"...), in order; the file is never
    loaded whole. A value too deep or too big goes to `tally` under its number ("locations[12]")."""
    done = 0
    try:
        with opened(path, item_depth=prefix.count(".") + 2) as source:
            for value in ijson.items(source, prefix, use_float=True):
                yield done, value
                done += 1
        return
    except Unsafe:
        pass
    label = prefix.removesuffix(".item") or "item"
    values = (value for _, event, value in stream(path, prefix.__eq__) if event in ("value", "skipped"))
    for number, value in enumerate(values):
        if number < done:
            continue
        if isinstance(value, Skipped):
            tally.note(f"a record {value.problem}", f"{label}[{number}]")
        else:
            yield number, value
