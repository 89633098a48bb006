"""Ingest files into memory: parse each file completely, then store it in one step.

A file that fails to parse changes nothing in the store; a file seen before adds only what
changed (records are keyed by origin, position and content hash).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingest.detect import detect_format
from ingest.items import Item, ParseError
from ingest.jsonl import parse_jsonl
from ingest.notes import parse_note
from secondme.core.types import NewRecord, Sensitivity
from secondme.progress import Progress, ProgressCallback, no_progress

SKIPPED_NAMES = {".git", ".obsidian", ".trash", "node_modules", "__pycache__"}


@dataclass
class IngestReport:
    """What an ingest did: counts and one line per problem."""

    files: int = 0
    added: int = 0
    skipped: int = 0
    removed: int = 0
    errors: list[str] = field(default_factory=list)


def to_record(item: Item) -> NewRecord:
    return NewRecord(
        text=item.text, time=item.time, source=item.source, source_id=item.source_id, kind=item.kind,
        origin=item.origin, title=item.title, people=item.people, place=item.place,
        sensitivity=Sensitivity(item.sensitivity),
    )


def expand(paths: Iterable[Path]) -> Iterator[Path]:
    """Files, with folders walked in name order (hidden and tool folders skipped)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                parts = child.relative_to(path).parts
                if child.is_file() and not any(p in SKIPPED_NAMES or p.startswith(".") for p in parts):
                    yield child
        else:
            yield path


def _parse(path: Path, kind: str, report: IngestReport) -> list[Item]:
    if kind != "jsonl":
        return parse_note(path)
    items = []
    for line in parse_jsonl(path):
        if line.error:
            report.errors.append(str(line.error))
        elif line.item:
            items.append(line.item)
    if not items and not report.errors:
        raise ParseError(str(path), "the file holds no records")
    return items


class Ingestor:
    """Feeds files to a memory store that has `replace_origin(origin, records)`."""

    def __init__(self, store: object) -> None:
        self.store = store

    def ingest(self, paths: Sequence[Path], progress: ProgressCallback = no_progress) -> IngestReport:
        report = IngestReport()
        files = list(expand(paths))
        for done, path in enumerate(files):
            progress(Progress("ingest", done, len(files), "files", path.name))
            if not path.exists():
                report.errors.append(f"{path}: no such file")
                continue
            try:
                items = _parse(path, detect_format(path), report)
            except ParseError as error:
                report.errors.append(str(error))
                continue
            if not items:
                continue
            result = self.store.replace_origin(items[0].origin, [to_record(i) for i in items])  # type: ignore[attr-defined]
            report.files += 1
            report.added += len(result.added)
            report.skipped += result.skipped
            report.removed += result.removed
        progress(Progress("ingest", len(files), len(files), "files"))
        return report
