"""The CLI's face of the progress callback: a rich progress bar per stage, on stderr."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import (
    Progress as Bar,
)
from rich.text import Text

from secondme.progress import Progress


class RateColumn(ProgressColumn):
    """Units per second, e.g. "12.5 files/s"."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.1f} {task.fields.get('unit', '')}/s" if speed else "", style="progress.data.speed")


class ProgressBar:
    """Use as a context manager; pass the instance wherever a ProgressCallback is expected."""

    def __init__(self, console: Console) -> None:
        self._bar = Bar(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"), RateColumn(), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("[dim]{task.fields[note]}"), console=console, transient=True,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> ProgressBar:
        if self._bar.console.is_terminal:  # a bar in a pipe or a log file is noise
            self._bar.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar.live.is_started:
            self._bar.stop()

    def __call__(self, event: Progress) -> None:
        total = event.total or None
        done, unit = event.done, event.unit
        if unit == "bytes":
            done, total, unit = done // 2**20, (event.total // 2**20) or None, "MB"
        task = self._tasks.get(event.stage)
        if task is None:
            task = self._tasks[event.stage] = self._bar.add_task(event.stage, total=total, unit=unit, note="")
        self._bar.update(task, completed=done, total=total, unit=unit, note=event.note[:40])
