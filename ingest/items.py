"""The plain item every parser yields, and the one error every parser raises."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class ParseError(Exception):
    """A file could not be parsed. The message names the file, the position and the problem."""

    def __init__(self, path: str, problem: str, position: str = "") -> None:
        where = f"{path}:{position}" if position else path
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.problem = problem
        self.position = position


@dataclass(frozen=True)
class Item:
    """One memory-sized piece of a file: a note chunk, a chat message, a visit..."""

    text: str
    time: datetime
    source: str
    source_id: str
    kind: str = "note"
    origin: str = ""
    title: str = ""
    people: tuple[str, ...] = ()
    place: str = ""
    sensitivity: str = "normal"
    speaker: str = ""  # who wrote or said it (chat messages, transcripts); "" for the owner's notes
    links: tuple[str, ...] = ()  # names of other notes this one links to ([[wikilinks]])
