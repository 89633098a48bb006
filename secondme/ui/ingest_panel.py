"""The ingest page: files and folders dropped or chosen are ingested off the Qt thread, one job at a time,
each with its progress bar, rate, time left, a Cancel button and the errors of its files."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from secondme.ingestion import Ingestor, IngestReport
from secondme.progress import Progress, ProgressCallback, Rate
from secondme.ui.tasks import StreamWorker, progress_stream

if TYPE_CHECKING:
    from secondme.app import Services


def local_paths(urls: list[QUrl]) -> list[Path]:
    """The local files and folders among dropped URLs."""
    return [Path(url.toLocalFile()) for url in urls if url.isLocalFile()]


class IngestJob(QFrame):
    """One ingest: its paths, a progress bar with rate and time left, Cancel, and the errors per file.
    `start()` runs it; `finished(report)` comes on the Qt thread when it ends (cancelled or not)."""

    finished = Signal(object)

    def __init__(self, store: Any, paths: list[Path], parent: QWidget | None = None) -> None:
        super().__init__(parent, frameShape=QFrame.Shape.StyledPanel)
        self.paths, self.report, self._store = paths, None, store
        self._stop, self._rate, self._result = threading.Event(), Rate(), []
        self.title = QLabel(", ".join(p.name or str(p) for p in paths), wordWrap=True)
        self.bar = QProgressBar(maximum=0)
        self.status = QLabel("waiting")
        self.cancel = QPushButton("Cancel", clicked=self.request_cancel)
        self.errors = QListWidget(visible=False, maximumHeight=120)
        row = QHBoxLayout()
        row.addWidget(self.bar, 1)
        row.addWidget(self.status)
        row.addWidget(self.cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(row)
        layout.addWidget(self.errors)
        self.worker: StreamWorker | None = None

    def _work(self, progress: ProgressCallback) -> IngestReport:
        return Ingestor(self._store).ingest(self.paths, progress, stop=self._stop.is_set)

    @property
    def waiting(self) -> bool:
        """Not started, and not cancelled before it could start."""
        return self.worker is None and not self._stop.is_set()

    def start(self) -> None:
        self.status.setText("starting…")
        self.worker = StreamWorker(lambda: progress_stream(self._work, self._result), lambda: self._result[-1])
        self.worker.item.connect(self.show_progress)
        self.worker.finished.connect(self._done)
        self.worker.failed.connect(self._failed)
        self.worker.start()

    def request_cancel(self) -> None:
        """Stop after the file or part being stored now; what finished stays stored."""
        self._stop.set()
        self.cancel.setEnabled(False)
        self.status.setText("cancelling…" if self.worker else "cancelled")
        if self.worker is None:
            self.finished.emit(None)

    def show_progress(self, event: Progress) -> None:
        self._rate.update(event)
        self.bar.setMaximum(event.total or 0)
        self.bar.setValue(event.done)
        self.status.setText(self._rate.describe(event.unit) or f"{event.done} / {event.total} {event.unit}")
        self.bar.setFormat(f"%v / %m {event.unit}  {event.note[:40]}")

    def _done(self, report: IngestReport) -> None:
        self.report = report
        self._end("cancelled" if report.cancelled else "done", report.warnings + report.errors)
        self.status.setText(f"{self.status.text()}: {report.added} added, {report.skipped} already there"
                            + (f", {len(report.errors)} error(s)" if report.errors else ""))
        self.finished.emit(report)

    def _failed(self, message: str) -> None:
        self._end("failed", [message])
        self.finished.emit(None)

    def _end(self, state: str, errors: list[str]) -> None:
        if self.worker is not None:
            self.worker.wait()
        self.cancel.setEnabled(False)
        self.status.setText(state)
        self.errors.addItems(errors)
        self.errors.setVisible(bool(errors))

    def shutdown(self) -> None:
        """Cancel and wait for the thread (closing the app)."""
        self._stop.set()
        if self.worker is not None:
            self.worker.wait()


class IngestPanel(QWidget):
    """Drop files or folders here (or anywhere on a window that forwards its drops to `accept_drop`), or
    use the buttons; jobs run one after another. `memory_did_change(report)` follows each finished job."""

    memory_did_change = Signal(object)

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.setAcceptDrops(True)
        self._store = services.store
        self.jobs: list[IngestJob] = []
        self._running: IngestJob | None = None
        hint = QLabel("Drop files or folders here: notes, chat exports, location history, PDFs…", wordWrap=True)
        buttons = QHBoxLayout()
        buttons.addWidget(QPushButton("Add files…", clicked=self.choose_files))
        buttons.addWidget(QPushButton("Add folder…", clicked=self.choose_folder))
        buttons.addStretch(1)
        self._list = QVBoxLayout()
        self._list.addStretch(1)
        holder = QWidget()
        holder.setLayout(self._list)
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(holder)
        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addLayout(buttons)
        layout.addWidget(scroll, 1)

    def choose_files(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, "Add files to memory")
        self.add_paths([Path(n) for n in names])

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder to memory")
        if folder:
            self.add_paths([Path(folder)])

    def accept_drop(self, urls: list[QUrl]) -> bool:
        """Ingest the local files and folders among `urls`; False if there were none."""
        paths = local_paths(urls)
        if paths:
            self.add_paths(paths)
        return bool(paths)

    def add_paths(self, paths: list[Path]) -> IngestJob | None:
        """Queue an ingest of these paths; it starts when the jobs before it are done."""
        if not paths:
            return None
        job = IngestJob(self._store, paths)
        job.finished.connect(lambda report: self._finished(job, report))
        self.jobs.append(job)
        self._list.insertWidget(self._list.count() - 1, job)
        self._next()
        return job

    def _next(self) -> None:
        if self._running is None:
            waiting = [j for j in self.jobs if j.waiting]
            if waiting:
                self._running = waiting[0]
                self._running.start()

    def _finished(self, job: IngestJob, report: IngestReport | None) -> None:
        if job is self._running:
            self._running = None
        if report is not None:
            self.memory_did_change.emit(report)
        self._next()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        if local_paths(event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's name
        if self.accept_drop(event.mimeData().urls()):
            event.acceptProposedAction()

    def shutdown(self) -> None:
        """Cancel every job and wait for the running one."""
        for job in self.jobs:
            job.shutdown()
