"""Carrying out the owner's explicit memory commands: remember, forget, standing instructions."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from secondme.core.commands import Command
from secondme.core.types import NewRecord, Record, Sensitivity

if TYPE_CHECKING:
    from secondme.core.assistant import Assistant

_WORD = re.compile(r"\w{3,}", re.UNICODE)
_FILLER = frozenset("the and that this about with from have had was were are for you your my mine our".split())
FORGET_OVERLAP = 0.6  # share of the command's words a memory must contain to be forgotten


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)} - _FILLER


def note_record(text: str, now: datetime, sensitivity: Sensitivity = Sensitivity.NORMAL,
                people: tuple[str, ...] = ()) -> NewRecord:
    """A memory the owner asked to keep (chat "remember that…", `secondme remember`, the app's capture box)."""
    return NewRecord(text, now, "remember", f"remember:{now.isoformat()}", "note", "remember", "Remembered",
                     people, sensitivity=sensitivity)


def remember(assistant: Assistant, text: str) -> tuple[str, list[Record]]:
    record = note_record(text, assistant.clock(), people=(assistant.persona.owner,) if assistant.persona.owner else ())
    result = assistant.memory.add([record])
    added = getattr(result, "added", [])
    stored = Record(**{**record.__dict__, "id": added[0] if added else ""})
    return f"I'll remember that: {text} [1]", [stored]


def forget(assistant: Assistant, text: str) -> tuple[str, list[Record]]:
    """Forget the memories that contain most of the words the owner named; say which."""
    wanted = _words(text)
    hits = assistant.memory.search(text, k=10)
    matching = [h.record for h in hits
                if wanted and len(wanted & _words(h.record.text)) >= FORGET_OVERLAP * len(wanted)]
    if not matching:
        return f"I found no memory about “{text}”, so I forgot nothing.", []
    for record in matching:
        assistant.memory.forget(record.id)
    listed = "; ".join(" ".join(r.text.split())[:80] for r in matching)
    return f"Forgotten ({len(matching)}): {listed}", []


def carry_out(assistant: Assistant, command: Command) -> tuple[str, list[Record]]:
    if command.kind == "remember":
        return remember(assistant, command.text)
    if command.kind == "forget":
        return forget(assistant, command.text)
    if assistant.instructions is None:
        return "I can't keep standing instructions in this session.", []
    assistant.instructions.add(command.text)
    return f"Understood. From now on: {command.text}.", []
