"""Ingest files into memory: each origin (a note, a conversation, a day) is stored in one step.

A file that fails to parse changes nothing already stored; a file seen before adds only what
changed (records are keyed by origin, position and content hash).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ingest.formats import detect_format
from ingest.items import Item, ParseError
from secondme.core.types import NewRecord, Sensitivity
from secondme.memory.origins import escape, file_origin, range_of
from secondme.owners import ChatOwners, Owner
from secondme.places import Places
from secondme.progress import Progress, ProgressCallback, no_progress
from secondme.scope import Scope


class _Cancelled(Exception):
    """The caller asked the ingest to stop; raised between origins, so each stored origin is whole."""


def never() -> bool:
    return False


@dataclass
class IngestReport:
    """What an ingest did: counts and one line per problem."""

    files: int = 0
    added: int = 0
    skipped: int = 0
    removed: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # files left out of the folders walked, and why
    cancelled: bool = False  # stopped by the caller; what finished before is stored
    owners: dict[str, Owner] = field(default_factory=dict)  # chat owners this ingest settled, by source


def to_record(item: Item) -> NewRecord:
    return NewRecord(
        text=item.text, time=item.time, source=item.source, source_id=item.source_id, kind=item.kind,
        origin=item.origin, title=item.title, people=item.people, place=item.place,
        sensitivity=Sensitivity(item.sensitivity), speaker=item.speaker, links=item.links,
    )


def _parts(path: Path) -> Iterator[Item | ParseError]:
    """The file's parts as its parser gives them; anything else than a ParseError the parser raises (a bug, or
    input it did not foresee: RecursionError, MemoryError, UnicodeError...) becomes that file's ParseError."""
    try:
        yield from detect_format(path).parse(path)
    except ParseError:
        raise
    except Exception as error:
        raise ParseError(str(path), f"could not be read ({type(error).__name__}: {error})") from error


class Ingestor:
    """Feeds files to a MemoryStore: each origin of a file is stored in one step as soon as it is
    parsed, so a killed ingest keeps what it finished and a re-run skips it."""

    def __init__(self, store: object, owners: ChatOwners | None = None, scope: Scope | None = None) -> None:
        self.store = store
        self.owners = owners or ChatOwners(store)
        self.scope = scope or Scope()
        self.places = Places(store)  # days of visits get place labels (home, work, names the user gave)

    def ingest(self, paths: Sequence[Path], progress: ProgressCallback = no_progress,
               stop: Callable[[], bool] = never) -> IngestReport:
        """Ingest files and folders; `stop()` is asked between files and between a file's origins, and
        when it says True the ingest ends there, keeping every origin stored so far (report.cancelled)."""
        selected = self.scope.select(paths)
        files = selected.files
        report = IngestReport(errors=selected.errors, warnings=selected.warnings)
        report.owners = self.owners.prepare(files)
        done = 0
        try:
            for done, path in enumerate(files):
                progress(Progress("ingest", done, len(files), "files", path.name))
                self._one(path, report, stop)
            done = len(files)
        except _Cancelled:
            report.cancelled = True
        self.places.refresh()
        progress(Progress("ingest", done, len(files), "files", "cancelled" if report.cancelled else ""))
        return report

    def _one(self, path: Path, report: IngestReport, stop: Callable[[], bool]) -> None:
        if stop():
            raise _Cancelled
        if not path.exists():
            report.errors.append(f"{path}: no such file")
            return
        try:
            self._file(path, report, stop)
        except ParseError as error:
            report.errors.append(str(error))

    def _store(self, origin: str, items: list[Item], report: IngestReport) -> None:
        result = self.store.replace_origin(origin, [to_record(i) for i in items])  # type: ignore[attr-defined]
        report.added += len(result.added)
        report.skipped += result.skipped
        report.removed += result.removed

    def _file(self, path: Path, report: IngestReport, stop: Callable[[], bool]) -> None:
        origin, items, stored, errors = "", [], set(), 0
        resolved = str(path.resolve())
        for part in _parts(path):
            if isinstance(part, ParseError):
                report.errors.append(str(part))
                errors += 1
                continue
            part = replace(part, origin=file_origin(resolved, part.origin))
            if part.origin != origin:
                if items:
                    self._store(origin, items, report)
                    stored.add(origin)
                    if stop():  # before the next part; the file's vanished parts are left alone
                        raise _Cancelled
                if part.origin in stored:
                    raise ParseError(str(path), f"parser bug: origin {part.origin} came back after others")
                origin, items = part.origin, []
            items.append(self.places.tag(self.owners.tag(part)))
        if items:
            self._store(origin, items, report)
            stored.add(origin)
        if not stored and not errors:
            raise ParseError(str(path), "the file holds no records")
        self._drop_vanished_parts(resolved, stored, report)
        report.files += 1

    def _drop_vanished_parts(self, resolved: str, stored: set[str], report: IngestReport) -> None:
        """Parts of a file (origins "<path>" or "<path>#<part>", path escaped) that the file no longer holds."""
        store: Any = self.store
        found = {key for (key,) in store.query("SELECT DISTINCT origin FROM records WHERE origin = ? OR "
                                               "(origin >= ? AND origin < ?)",
                                               range_of(store.origin_key(escape(resolved))))}
        for key in found - {store.origin_key(origin) for origin in stored}:
            [(record_id,)] = store.query("SELECT id FROM records WHERE origin = ? LIMIT 1", (key,))
            self._store(store.get(record_id).origin, [], report)  # the clear origin is in the payload
