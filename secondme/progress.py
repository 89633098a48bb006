"""One progress callback type for all long work; the CLI draws a bar, the GUI a widget."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """A step of long work: `done` of `total` units (total 0 when unknown) in `stage`."""

    stage: str
    done: int
    total: int = 0
    unit: str = "items"
    note: str = ""


ProgressCallback = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    """The callback used when nobody is watching."""
