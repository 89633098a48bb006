"""Recognising explicit memory instructions in a chat message: remember, forget, standing rules, "about me"."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """What the owner asked SecondMe to do with its memory; `text` is the part it applies to."""

    kind: str  # "remember" | "forget" | "instruction" | "about_me"
    text: str


_REMEMBER = re.compile(r"^(?:please\s+)?(?:remember|note|keep in mind)(?:\s+that|\s*:)?\s+(?P<text>.+)$", re.I | re.S)
_FORGET = re.compile(r"^(?:please\s+)?forget(?:\s+that|\s+about|\s*:)?\s+(?P<text>.+)$", re.I | re.S)
_RULE = re.compile(
    r"^(?:please\s+)?(?P<text>(?:don'?t|do not|never|always|stop|from now on)\b.+)$", re.I | re.S
)
_ABOUT_ME = re.compile(
    r"^(?:so\s+)?what\s+(?:do\s+you|else\s+do\s+you)\s+know\s+about\s+me\b|^who\s+am\s+i\b|^tell\s+me\s+about\s+myself",
    re.I,
)


def _clean(text: str) -> str:
    return " ".join(text.split()).strip().rstrip(".!")


def parse_command(message: str) -> Command | None:
    """The memory command in `message`, or None for an ordinary message (a question stays a question)."""
    text = message.strip()
    if _ABOUT_ME.match(text):
        return Command("about_me", "")
    if text.endswith("?"):
        return None
    for kind, pattern in (("remember", _REMEMBER), ("forget", _FORGET), ("instruction", _RULE)):
        found = pattern.match(text)
        if found and _clean(found.group("text")):
            return Command(kind, _clean(found.group("text")))
    return None
