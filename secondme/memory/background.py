"""Consolidation in the background: a daemon thread that works while the user is away.

It runs whenever consolidation has work and the user has been idle for a while, and stops
between steps as soon as the user is active again (`pause`), so a chat waits at most for the
one model call in flight. Killing the process is safe: consolidation resumes where it stopped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from secondme.memory.consolidation import Consolidator, Report, backlog
from secondme.memory.store import MemoryStore
from secondme.progress import ProgressCallback, no_progress


class BackgroundConsolidation:
    """Start it once; call `pause()` when the user starts something and `resume()` when done."""

    def __init__(self, store: MemoryStore, consolidator: Callable[[], Consolidator], *, idle_s: float = 30.0,
                 poll_s: float = 5.0, progress: ProgressCallback = no_progress,
                 on_done: Callable[[Report], None] = lambda report: None) -> None:
        self._store = store
        self._make = consolidator
        self._idle_s = idle_s
        self._poll_s = poll_s
        self._progress = progress
        self._on_done = on_done
        self._interrupt = threading.Event()  # set: stop between steps (user active, or closing)
        self._closing = threading.Event()
        self._paused = 0
        self._active_at = time.monotonic()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="consolidation", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def pause(self) -> None:
        with self._lock:
            self._paused += 1
            self._interrupt.set()

    def resume(self) -> None:
        with self._lock:
            self._paused = max(0, self._paused - 1)
            self._active_at = time.monotonic()

    def close(self, timeout: float | None = None) -> None:
        """Stop after the step in flight and wait for the thread."""
        self._closing.set()
        self._interrupt.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _may_run(self) -> bool:
        with self._lock:
            idle = time.monotonic() - self._active_at >= self._idle_s
            if self._paused or not idle:
                return False
            self._interrupt.clear()
            return True

    def _has_work(self) -> bool:
        waiting = backlog(self._store)
        return any(waiting[step] for step in ("records", "topics", "profile"))

    def _loop(self) -> None:
        consolidator: Consolidator | None = None
        while not self._closing.wait(self._poll_s):
            if not self._may_run() or not self._has_work():
                continue
            consolidator = consolidator or self._make()
            report = consolidator.run(self._progress, stop=self._interrupt)
            self._on_done(report)
            if report.failures and not report.stopped:
                self._closing.wait(self._poll_s * 60)  # the model keeps failing: do not spin on it
