"""Watching folders: files created, changed or moved there are ingested again, deleted ones forgotten."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from secondme.ingestion import Ingestor, IngestReport, never
from secondme.memory.origins import origin_path
from secondme.progress import ProgressCallback, no_progress
from secondme.scope import Scope, hidden

_IGNORED_EVENTS = {"opened", "closed_no_write"}
_TEMPORARY = ("~", ".swp", ".swx", ".tmp", ".part", ".crdownload")


def forget_paths(store: object, paths: Sequence[Path], report: IngestReport) -> None:
    """Drop what deleted files or folders brought in: their origins, their parts' and, for a folder, its
    files' (origins are keyed in the database: they are read back from one record of each)."""
    gone = set(paths)
    for origin in store.origins() if gone else ():  # type: ignore[attr-defined]
        named = Path(origin_path(origin))
        if gone & {named, *named.parents}:
            report.removed += store.replace_origin(origin, []).removed  # type: ignore[attr-defined]


class _Pending(FileSystemEventHandler):
    """Collects the paths events touch, with the time of the last event on each (for debouncing)."""

    def __init__(self, roots: Sequence[Path]) -> None:
        self.roots = roots
        self.lock = threading.Lock()
        self.paths: dict[Path, float] = {}

    def _wanted(self, path: Path) -> bool:
        root = next((r for r in self.roots if path == r or r in path.parents), None)
        parts = path.relative_to(root).parts if root else ()
        return bool(parts) and not any(hidden(p) for p in parts) \
            and not path.name.endswith(_TEMPORARY)

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in _IGNORED_EVENTS or (event.is_directory and event.event_type == "modified"):
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            path = Path(raw.decode() if isinstance(raw, bytes) else raw) if raw else None
            if path and self._wanted(path):
                with self.lock:
                    self.paths[path] = time.monotonic()

    def due(self, quiet: float) -> list[Path]:
        """The paths with no event for `quiet` seconds, taken off the list."""
        now = time.monotonic()
        with self.lock:
            ready = sorted(p for p, last in self.paths.items() if now - last >= quiet)
            for path in ready:
                del self.paths[path]
        return ready


class Watcher:
    """Use as a context manager around the first ingest, so that no change made meanwhile is missed."""

    def __init__(self, store: object, folders: Sequence[Path], quiet: float = 1.0, follow_links: bool = False) -> None:
        self.store, self.quiet = store, quiet
        self.folders = [f.resolve() for f in folders]
        self.scope = Scope(follow_links, tuple(self.folders))  # what changes there is judged as found in a folder
        self._pending = _Pending(self.folders)
        self._observer = Observer()

    def __enter__(self) -> Watcher:
        for folder in self.folders:
            self._observer.schedule(self._pending, str(folder), recursive=True)
        self._observer.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)

    def ingest_all(self, progress: ProgressCallback = no_progress) -> IngestReport:
        """Ingest everything in the watched folders (unchanged files cost a parse, nothing more)."""
        return Ingestor(self.store, scope=self.scope).ingest(self.folders, progress)

    def step(self, stop: Callable[[], bool] = never) -> IngestReport | None:
        """Handle the changes that have settled: re-ingest what exists, forget what is gone."""
        paths = self._pending.due(self.quiet)
        if not paths:
            return None
        existing = [p for p in paths if p.exists() and not set(p.parents) & set(paths)]  # a folder covers its files
        report = Ingestor(self.store, scope=self.scope).ingest(existing, stop=stop) if existing else IngestReport()
        forget_paths(self.store, [p for p in paths if not p.exists()], report)
        return report

    def run(self, on_report: Callable[[IngestReport], None], stop: threading.Event | None = None,
            poll: float = 0.2) -> None:
        """Handle changes until `stop` is set, calling `on_report` after each batch (a batch in
        progress ends after the file part being stored)."""
        stop = stop or threading.Event()
        while not stop.wait(poll):
            report = self.step(stop.is_set)
            if report is not None:
                on_report(report)
