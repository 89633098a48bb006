"""Telegram Desktop exports (result.json): one chat or a whole account, streamed message by message."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.conversations import Chat, Conversations, Message, clip
from ingest.items import Item, ParseError
from ingest.jsonstream import Skipped, stream

_SNIFF = re.compile(rb'"(date_unixtime|personal_information|from_id)"\s*:|"type"\s*:\s*"(message|service)"')
_CHAT_ROOTS = ("", "chats.list.item", "left_chats.list.item")
_MESSAGES = frozenset(f"{root}.messages.item".lstrip(".") for root in _CHAT_ROOTS)
_DROPPED_MEDIA = ("photo", "sticker", "voice message", "video", "video message", "GIF")
_MEDIA_TYPES = {"sticker": "sticker", "voice_message": "voice message", "video_file": "video",
                "video_message": "video message", "animation": "GIF", "audio_file": "audio"}


def looks_like_telegram(path: Path, head: bytes) -> bool:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return start.startswith(b"{") and b'"sender_name"' not in head and bool(_SNIFF.search(head))


def _text(value: Any) -> str:
    """A message's text: a string, or a list of strings and entities ({"type": "bold", "text": ...})."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        text, glued = "", False  # two entities side by side ("Link:" then a URL) get a space between
        for part in value:
            piece = part.get("text") if isinstance(part, dict) else part
            if not isinstance(piece, str):
                raise ValueError("`text` holds a part that is not text")
            space = glued and isinstance(part, dict) and text[-1:].strip() and piece[:1].strip()
            text, glued = text + (" " if space else "") + piece, isinstance(part, dict)
        return text
    raise ValueError("`text` is neither a string nor a list of text parts")


def _time(obj: dict[str, Any]) -> datetime:
    unix, local = obj.get("date_unixtime"), obj.get("date")
    if isinstance(unix, str | int) and str(unix).isdigit():
        when = datetime.fromtimestamp(int(unix), UTC)
    elif isinstance(local, str):
        when = datetime.fromisoformat(local).astimezone()  # older exports: the exporter's local time
    else:
        raise ValueError("no `date_unixtime` or `date`")
    if not 1970 <= when.year <= 2100:
        raise ValueError(f"date {when:%Y-%m-%d} is out of range")
    return when


def _media(obj: dict[str, Any]) -> str:
    """What a message carries besides its text, read out: "photo", "file: x.pdf", "poll: Where?"."""
    if "photo" in obj:
        return "photo"
    kind = _MEDIA_TYPES.get(str(obj.get("media_type")), "")
    if kind == "sticker" and isinstance(obj.get("sticker_emoji"), str):
        return f"sticker {obj['sticker_emoji']}"
    if kind:
        return kind
    if isinstance(obj.get("file_name"), str):
        return f"file: {obj['file_name']}"
    poll = obj.get("poll")
    if isinstance(poll, dict) and isinstance(poll.get("question"), str):
        return f"poll: {poll['question']}"
    if isinstance(obj.get("location_information"), dict):
        return f"location: {obj.get('place_name') or obj.get('address') or 'shared'}"
    contact = obj.get("contact_information")
    if isinstance(contact, dict):
        return f"contact: {' '.join(str(contact.get(k) or '') for k in ('first_name', 'last_name')).strip()}"
    return "file" if "file" in obj else ""


def message(obj: dict[str, Any], owner_id: str) -> Message | None:
    """A "message" entry as a Message (None for service entries and bare stickers/photos); ValueError if bad."""
    if obj.get("type", "message") != "message":
        return None
    sender = obj.get("from") or "Deleted Account"
    if not isinstance(sender, str):
        raise ValueError("`from` is not a string")
    text, media = _text(obj.get("text")).strip(), _media(obj)
    if not text and (not media or media.startswith(_DROPPED_MEDIA)):
        return None
    text = f"[{media}] {text}".strip() if media else text
    forwarded = obj.get("forwarded_from")
    if isinstance(forwarded, str) and forwarded:
        text = f"(forwarded from {forwarded}) {text}"
    return Message(_time(obj), sender.strip() or "Deleted Account", clip(text),
                   own=bool(owner_id) and obj.get("from_id") == owner_id, forwarded="forwarded_from" in obj)


def _chat(path: Path, info: dict[str, Any], number: int) -> Chat:
    name = str(info.get("name") or ("Saved Messages" if info.get("type") == "saved_messages" else "chat"))
    key = str(info.get("id") or info.get("name") or f"chat{number}")
    return Chat("telegram", f"Telegram: {name}", f"{path.resolve()}#{key}/")


def _skipped(name: str, chat: str, value: object) -> ParseError:
    """The error for a message left out whole: too deep or too big (Skipped), or not a JSON object."""
    if isinstance(value, Skipped):
        return ParseError(name, f"{chat}: a message {value.problem}; skipped", f"byte {value.byte}")
    return ParseError(name, f"{chat}: a message that is not a JSON object; skipped")


def parse_telegram(path: Path) -> Iterator[Item | ParseError]:
    """The items of every chat in the export; a message that cannot be read is an error, the rest goes on."""
    name = str(path)
    owner_id, info, grouped, chats, origins = "", {}, None, 0, set()  # origins: unique across the chats
    for prefix, event, value in stream(path, _MESSAGES.__contains__):
        parent, _, key = prefix.rpartition(".")
        if event in ("value", "skipped"):
            if grouped is None:
                chats += 1
                grouped = Conversations(_chat(path, info, chats), origins=origins)
            if not isinstance(value, dict):
                yield _skipped(name, grouped.chat.title, value)
                continue
            try:
                found = message(value, owner_id)
            except (ValueError, TypeError, OverflowError, OSError) as error:
                yield ParseError(name, f"{grouped.chat.title}: {error}", f"message {value.get('id', '?')}")
                continue
            if found:
                yield from grouped.add(found)
        elif prefix == "personal_information.user_id":
            owner_id = f"user{value}"
        elif event == "start_map" and prefix in _CHAT_ROOTS:
            info = {}
        elif event == "end_map" and prefix in _CHAT_ROOTS and grouped is not None:
            yield from grouped.close()
            grouped = None
        elif parent in _CHAT_ROOTS and key in ("name", "id", "type") and event in ("string", "number"):
            info[key] = value
