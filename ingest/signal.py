"""Signal chats exported as text, one line per message ("[2019-12-24, 12:23] Jane Doe: Hello")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ingest.items import Item, ParseError
from ingest.whatsapp import parse_line_chat, starts_with_header

# ISO date and minutes only: WhatsApp's bracketed lines carry seconds ("[2019-12-24 12:23:45]").
HEADERS = (re.compile(r"\[(?P<date>\d{4}(?P<sep>-)\d{2}-\d{2}),? (?P<time>\d{2}:\d{2})(?P<ampm>)\] (?P<rest>.*)",
                      re.S),)


def looks_like_signal(path: Path, head: bytes) -> bool:
    return starts_with_header(head, HEADERS)


def parse_signal(path: Path) -> Iterator[Item | ParseError]:
    yield from parse_line_chat(path, "signal", "Signal", HEADERS)
