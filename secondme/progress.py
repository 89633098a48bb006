"""One progress callback type for all long work; the CLI draws a bar, the GUI a widget."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


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


@dataclass
class Rate:
    """Units per second and seconds left of one stage, from its events as they arrive (its first sets the start)."""

    clock: Callable[[], float] = time.monotonic
    _start: tuple[float, int] | None = field(default=None, repr=False)
    per_second: float = 0.0
    eta_s: float | None = None  # None while unknown

    def update(self, event: Progress) -> None:
        now = self.clock()
        if self._start is None:
            self._start = (now, event.done)
        began, first = self._start
        elapsed, done = now - began, event.done - first
        self.per_second = done / elapsed if elapsed > 0 and done > 0 else 0.0
        self.eta_s = _seconds_left(event, self.per_second)

    def describe(self, unit: str) -> str:
        """E.g. "12.5 files/s, 0:42 left"; "" before anything is known."""
        rate = f"{self.per_second:,.1f} {unit}/s" if self.per_second else ""
        left = f"{int(self.eta_s) // 60}:{int(self.eta_s) % 60:02d} left" if self.eta_s is not None else ""
        return ", ".join(part for part in (rate, left) if part)


def _seconds_left(event: Progress, per_second: float) -> float | None:
    left = max(event.total - event.done, 0)
    if not event.total or (left and not per_second):
        return None
    return left / per_second if left else 0.0
