"""The domain's plain data: memory records, search hits and citations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Sensitivity(StrEnum):
    """How carefully a memory is treated: secrets never leave the owner's own prompts."""

    NORMAL = "normal"
    PRIVATE = "private"
    SECRET = "secret"


@dataclass(frozen=True)
class NewRecord:
    """A memory about to be stored. `origin` groups the records of one file or conversation
    so that re-ingesting a changed file replaces only its changed parts."""

    text: str
    time: datetime
    source: str
    source_id: str
    kind: str = "note"
    origin: str = ""
    title: str = ""
    people: tuple[str, ...] = ()
    place: str = ""
    sensitivity: Sensitivity = Sensitivity.NORMAL
    speaker: str = ""  # who wrote or said it; "" for the owner's own notes
    links: tuple[str, ...] = ()  # titles of other notes this one links to


@dataclass(frozen=True)
class Record(NewRecord):
    """A stored memory: a NewRecord plus its id and keyed content hash."""

    id: str = ""
    content_hash: str = ""


@dataclass(frozen=True)
class SearchHit:
    """A record found by search, its fused score and its rank in each retriever (1-based)."""

    record: Record
    score: float
    ranks: dict[str, int] = field(default_factory=dict)
    level: str = "raw"  # "raw", "segment" (a window summary) or "topic"
    superseded_by: str | None = None  # the id of the newer record that replaced this one


@dataclass(frozen=True)
class Citation:
    """A memory an answer cites as [n]."""

    number: int
    record: Record
    inferred: bool = False  # True when the model wrote no marker and overlap picked the memory

    @property
    def snippet(self) -> str:
        text = " ".join(self.record.text.split())
        return text if len(text) <= 160 else text[:157] + "..."
