"""Instagram (and Facebook Messenger) message_N.json exports: messages, newest first, put in time order.

One file holds at most some thousand messages (the exports split threads into message_1.json,
message_2.json...), so its messages are gathered to be sorted; the file is still streamed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.conversations import Chat, Message, chat_items, clip
from ingest.items import Item, ParseError
from ingest.jsonstream import Skipped, stream

_SYSTEM = re.compile(r"(.+ )?(liked a message|reacted .+ to (your|a) message|sent an attachment\.|"
                     r"unsent a message|started a (video|audio) (chat|call)|missed an? (video |audio )?call|"
                     r"the video chat ended|left the group\.?|named the group .+)", re.I | re.S)
_MEDIA = (("photos", "photo"), ("videos", "video"), ("audio_files", "voice message"), ("gifs", "GIF"),
          ("sticker", "sticker"))


def looks_like_instagram(path: Path, head: bytes) -> bool:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return start.startswith(b"{") and b'"sender_name"' in head and b'"timestamp_ms"' in head


def fix_text(text: str) -> str:
    """Undo the exports' mojibake: UTF-8 bytes written out as one \\u00XX character each."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def message(obj: Any) -> Message | None:
    """One entry as a Message; None for reactions, calls and bare photos; ValueError when malformed (or left out
    by the reader: too deep or too big)."""
    if isinstance(obj, Skipped):
        raise ValueError(f"{obj.problem}; skipped")
    if not isinstance(obj, dict):
        raise TypeError("not a JSON object; skipped")
    sender, stamp, content = obj.get("sender_name"), obj.get("timestamp_ms"), obj.get("content", "")
    if not isinstance(sender, str) or not sender.strip():
        raise ValueError("`sender_name` is missing")
    if not isinstance(stamp, int) or isinstance(stamp, bool):
        raise ValueError("`timestamp_ms` is not a whole number")
    when = datetime.fromtimestamp(stamp / 1000, UTC)
    if not 1970 <= when.year <= 2100:
        raise ValueError(f"timestamp {stamp} is out of range")
    text = fix_text(content).strip() if isinstance(content, str) else ""
    if (len(text) < 200 and _SYSTEM.fullmatch(text)) or "call_duration" in obj:
        return None
    share = obj.get("share")
    link = share.get("link") if isinstance(share, dict) else None
    if isinstance(link, str) and link not in text:
        text = f"{text} {link}".strip()
    media = next((kind for key, kind in _MEDIA if obj.get(key)), "")
    if media and text:
        text = f"[{media}] {text}"
    return Message(when, fix_text(sender).strip(), clip(text)) if text else None


def parse_instagram(path: Path) -> Iterator[Item | ParseError]:
    """The items of one thread file; a message that cannot be read is an error, the rest goes on."""
    name = str(path)
    found: list[Message | ParseError] = []
    title, number = "", 0
    for prefix, event, value in stream(path, "messages.item".__eq__):
        if event in ("value", "skipped"):
            number += 1
            try:
                kept = message(value)
            except (ValueError, TypeError, OverflowError, OSError) as error:
                found.append(ParseError(name, str(error), f"message {number}"))
                continue
            if kept:
                found.append(kept)
        elif prefix == "title" and isinstance(value, str):
            title = fix_text(value)
    chat_name = title or (path.parent.name if path.stem.startswith("message_") else path.stem)
    ordered = sorted(found, key=lambda m: (0, datetime.min.replace(tzinfo=UTC)) if isinstance(m, ParseError)
                     else (1, m.time))
    yield from chat_items(Chat("instagram", f"Instagram: {chat_name}", f"{path.resolve()}#"), ordered)
