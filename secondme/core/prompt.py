"""Prompt assembly, ordered stable-first so the model can reuse the evaluated prefix.

Order: system (persona + profile; changes rarely) → earlier turns (grow by appending) →
this turn's memories and message (new every time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from secondme.core.protocols import ChatMessage
from secondme.core.types import SearchHit


@dataclass(frozen=True)
class Persona:
    """Who SecondMe speaks for, and what it always knows about them."""

    owner: str = ""
    about: str = ""
    profile: str = ""

    def system_prompt(self) -> str:
        who = self.owner or "the user"
        lines = [
            f"You are SecondMe, the private second self of {who}, running on {who}'s own computer "
            "with their memories.",
            f"Reply to {who} in full sentences, speaking to them as \"you\". Each sentence that uses a "
            "memory ends with that memory's number in brackets, like this example:\n"
            "Memories: [1] I park on level 3.\nMessage: Where do I park?\nAnswer: You park on level 3 [1].\n"
            "If no memory answers the message, say you don't remember.",
        ]
        if self.about:
            lines.append(f"About {who}: {self.about}")
        if self.profile:
            lines.append(f"What you know about {who}:\n{self.profile}")
        return "\n\n".join(lines)


def memory_line(number: int, hit: SearchHit) -> str:
    record = hit.record
    label = record.title or record.source
    when = record.time.astimezone().strftime("%Y-%m-%d")
    text = " ".join(record.text.split())
    return f"[{number}] ({when}, {record.kind}: {label}) {text}"


def turn_message(question: str, memories: Sequence[SearchHit], now: datetime) -> ChatMessage:
    """The last user message: today's date, the retrieved memories, then the question."""
    shown = "\n".join(memory_line(n, hit) for n, hit in enumerate(memories, start=1))
    body = (
        f"Today is {now.astimezone().strftime('%A %d %B %Y')}.\n"
        f"Memories:\n{shown or '(none found)'}\n\n"
        f"Message: {question}"
    )
    return {"role": "user", "content": body}


def build_messages(
    persona: Persona,
    history: Sequence[ChatMessage],
    question: str,
    memories: Sequence[SearchHit],
    now: datetime,
) -> list[ChatMessage]:
    system: ChatMessage = {"role": "system", "content": persona.system_prompt()}
    return [system, *history, turn_message(question, memories, now)]
