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
