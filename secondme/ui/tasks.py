"""Running long work off the Qt thread: a generator's items arrive as signals, and it can be stopped."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from secondme.progress import Progress, ProgressCallback


class StreamWorker(QObject):
    """Iterates `make()` in a QThread; emits each item, then finished(result) or failed(message).

    The background callable never touches a widget; stop() makes it close the generator
    before the next item.
    """

    item = Signal(object)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, make: Callable[[], Iterator[Any]], result: Callable[[], Any] = lambda: None) -> None:
        super().__init__()
        self._make = make
        self._result = result
        self._stop = threading.Event()
        self._thread = QThread()
        self.moveToThread(self._thread)
        self._thread.started.connect(self._run)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wait(self) -> None:
        self._thread.quit()
        self._thread.wait()

    def _run(self) -> None:
        try:
            stream = self._make()
            for value in stream:
                if self._stop.is_set():
                    close = getattr(stream, "close", None)
                    if close:
                        close()
                    break
                self.item.emit(value)
            self.finished.emit(self._result())
        except Exception as error:  # noqa: BLE001 - shown to the user, never a crash of the UI
            self.failed.emit(str(error))
        finally:
            self._thread.quit()


def progress_stream(work: Callable[[ProgressCallback], Any], result: list[Any]) -> Iterator[Progress]:
    """Run `work(progress)` on a helper thread and yield its progress events; its return value is
    appended to `result` (its exception is raised here), so a StreamWorker can show a progress bar."""
    events: queue.Queue[object] = queue.Queue()
    done = object()

    def run() -> None:
        try:
            result.append(work(events.put))
        except BaseException as error:  # noqa: BLE001 - re-raised in the consuming thread
            result.append(error)
        finally:
            events.put(done)

    threading.Thread(target=run, daemon=True).start()
    while (event := events.get()) is not done:
        assert isinstance(event, Progress)
        yield event
    if isinstance(result[-1], BaseException):
        raise result[-1]


class _Job(QObject):
    """Lives on the Qt thread, so the worker's signals reach its callbacks there (a queued connection)."""

    def __init__(self, owner: BackgroundTasks, worker: StreamWorker, done: Callable[[Any], None],
                 failed: Callable[[str], None]) -> None:
        super().__init__(owner)
        self._owner, self.worker, self._done, self._failed = owner, worker, done, failed
        worker.finished.connect(self.finish)
        worker.failed.connect(self.fail)

    def finish(self, result: Any) -> None:
        self._owner.reap(self)
        self._done(result)

    def fail(self, message: str) -> None:
        self._owner.reap(self)
        self._failed(message)


class BackgroundTasks(QObject):
    """One-shot calls off the Qt thread (a search, a save, a connection test); each result comes back
    to `done` on the Qt thread, each error message to `failed`."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs: list[_Job] = []

    def run(self, work: Callable[[], Any], done: Callable[[Any], None] = lambda _: None,
            failed: Callable[[str], None] = lambda _: None) -> StreamWorker:
        worker = StreamWorker(lambda: iter(()), work)
        self._jobs.append(_Job(self, worker, done, failed))
        worker.start()
        return worker

    def reap(self, job: _Job) -> None:
        job.worker.wait()
        if job in self._jobs:
            self._jobs.remove(job)
        job.deleteLater()

    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    def shutdown(self) -> None:
        """Wait for every running call (their results are dropped)."""
        for job in list(self._jobs):
            job.worker.wait()
        self._jobs.clear()
