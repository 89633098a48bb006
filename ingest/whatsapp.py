"""WhatsApp .txt exports (Android and iOS, any date order, 12/24-hour), and the line-chat reader they share.

The file is read twice, line by line and never whole: first to check it is UTF-8 and to tell
dd/mm from mm/dd (no field over 12 in one order, dates running forward), then for the messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ingest.conversations import MAX_MESSAGE_CHARS, Chat, Message, chat_items, clip
from ingest.items import Item, ParseError

MAX_LINE_BYTES = 256 * 1024
_MARKS = "\ufeff\u200e\u200f"  # BOM and the direction marks iOS puts before system lines and media
_SP = r"[ \u00a0\u202f]"
_DATE = r"(?P<date>\d{1,4}(?P<sep>[./-])\d{1,2}(?P=sep)\d{1,4})"
_TIME = rf"(?P<time>\d{{1,2}}[:.]\d{{2}}(?:[:.]\d{{2}})?)(?:{_SP}?(?P<ampm>[AaPp]\.?{_SP}?[Mm]\.?))?"
HEADERS = (
    re.compile(rf"\[{_DATE},?{_SP}{_TIME}\]{_SP}(?P<rest>.*)", re.S),  # iOS: [31/12/21, 22:01:05] Ana: hi
    re.compile(rf"{_DATE},?{_SP}{_TIME}{_SP}[-–]{_SP}(?P<rest>.*)", re.S),  # Android: 31/12/21, 22:01 - Ana: hi
)
_NOTICE = re.compile(r"(Messages and calls are end-to-end encrypted|Messages (to|you send to) this (group|chat)"
                     r" (are|and calls are) now secured)", re.I)
_DROPPED = re.compile(r"<[^<>\n]{1,60}>|null|(image|video|audio|sticker|GIF|document|Contact card) omitted|"
                      r"(This message was deleted|You deleted this message)\.?|Waiting for this message.*", re.I | re.S)
_EDITED = ("<This message was edited>", "<Diese Nachricht wurde bearbeitet>", "<Se editó este mensaje.>")
_ATTACHED = re.compile(r"<attached: (?P<name>[^>]+)>|(?P<file>\S[^\n]*?) \(file attached\)")
# Media files named by WhatsApp itself (iOS "00000031-PHOTO-2023-...", Android "IMG-20200103-WA0001.jpg").
_AUTO_NAMED = re.compile(r"\d+-(?P<ios>PHOTO|VIDEO|AUDIO|STICKER|GIF)-.*|(?P<android>IMG|VID|PTT|AUD|STK)-\d{8}-WA.*")
_MEDIA = {"PHOTO": "photo", "IMG": "photo", "VIDEO": "video", "VID": "video", "AUDIO": "voice message",
          "PTT": "voice message", "AUD": "voice message", "STICKER": "sticker", "STK": "sticker", "GIF": "GIF"}
_EXPORT_NAME = re.compile(r"(?i)^(whats\s?app[\s_-]*chat[\s_-]*(with|mit|con|com|avec|met|-)?|"
                          r"chat de whatsapp (con|com)|signal[\s_-]*chat[\s_-]*(with)?)\s*")


@dataclass
class _DateOrder:
    """Evidence for dd/mm against mm/dd: impossible months, and dates that run backwards."""

    bad_dmy: int = 0
    bad_mdy: int = 0
    back_dmy: int = 0
    back_mdy: int = 0
    last_dmy: tuple[int, int, int] = (0, 0, 0)
    last_mdy: tuple[int, int, int] = (0, 0, 0)

    def see(self, match: re.Match[str]) -> None:
        if _year_first(match):
            return
        a, b, c = (int(f) for f in match["date"].split(match["sep"]))
        dmy, mdy = (c, b, a), (c, a, b)
        self.bad_dmy += b > 12
        self.bad_mdy += a > 12
        self.back_dmy += dmy < self.last_dmy
        self.back_mdy += mdy < self.last_mdy
        self.last_dmy, self.last_mdy = dmy, mdy

    @property
    def day_first(self) -> bool:
        return (self.bad_dmy, self.back_dmy) <= (self.bad_mdy, self.back_mdy)


def header(line: str, headers: Sequence[re.Pattern[str]]) -> re.Match[str] | None:
    line = line.lstrip(_MARKS)
    return next((m for m in (h.fullmatch(line) for h in headers) if m), None)


def starts_with_header(head: bytes, headers: Sequence[re.Pattern[str]]) -> bool:
    """True when the first non-empty line of the file's head is a message line."""
    for line in head.decode("utf-8", "replace").splitlines()[:20]:
        if line.strip(_MARKS + " \t"):
            return header(line.rstrip("\r"), headers) is not None
    return False


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(number, text) of each line; ParseError for unreadable, binary or non-UTF-8 files."""
    name = str(path)
    try:
        handle = path.open("rb")
    except OSError as error:
        raise ParseError(name, f"cannot read: {error.strerror or error}") from error
    with handle:
        number = 0
        while raw := handle.readline(MAX_LINE_BYTES):
            number += 1
            if len(raw) >= MAX_LINE_BYTES and not raw.endswith(b"\n"):
                raise ParseError(name, f"line is over {MAX_LINE_BYTES:,} bytes long; not a chat export",
                                 f"line {number}")
            if b"\x00" in raw:
                raise ParseError(name, "binary data, not text (NUL byte)", f"line {number}")
            try:
                yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
            except UnicodeDecodeError as error:
                raise ParseError(name, f"not valid UTF-8 text (byte 0x{raw[error.start]:02x} at column "
                                       f"{error.start + 1}); export the chat again or re-save it as UTF-8",
                                 f"line {number}") from error


def _year_first(match: re.Match[str]) -> bool:
    return len(match["date"].split(match["sep"])[0]) == 4


def _time(match: re.Match[str], day_first: bool) -> datetime:
    fields = [int(f) for f in match["date"].split(match["sep"])]
    if _year_first(match):
        year, month, day = fields
    else:
        (day, month, year) = fields if day_first else (fields[1], fields[0], fields[2])
    year += 2000 if year < 100 else 0
    hour, minute, *second = (int(f) for f in re.split(r"[:.]", match["time"]))
    if match["ampm"]:
        if hour > 12:
            raise ValueError("hour over 12 with am/pm")
        hour = hour % 12 + (12 if match["ampm"][0] in "Pp" else 0)
    if not 1970 <= year <= 2100:
        raise ValueError("year out of range")
    return datetime(year, month, day, hour, minute, *second).astimezone()


def _split(rest: str) -> tuple[str, str] | None:
    """(sender, text) of a message line's rest; None for a system line ("Ana added Ben")."""
    sender, sep, text = rest.partition(": ")
    if not sep and rest.endswith(":"):
        sender = rest[:-1]
    elif not sep:
        return None
    sender = sender.strip(_MARKS + " ")
    if not sender or '"' in sender or len(sender) > 80 or _NOTICE.match(text.lstrip(_MARKS)):
        return None
    return sender, text


def _media(text: str) -> str:
    """The text with a media placeholder read out ("[photo] caption"); "" when nothing is left."""
    text = text.strip().lstrip(_MARKS)
    for edited in _EDITED:
        text = text.removesuffix(edited).rstrip().rstrip(_MARKS)
    first, _, caption = text.partition("\n")
    attached = _ATTACHED.fullmatch(first.lstrip(_MARKS).strip())
    if attached:
        file = attached["name"] or attached["file"]
        auto = _AUTO_NAMED.fullmatch(file)
        kind = _MEDIA[auto["ios"] or auto["android"]] if auto else ""
        first = f"[{kind}]" if kind else f"[file: {file}]"
        return "" if kind and not caption.strip() else f"{first} {caption.strip()}".strip()
    return "" if _DROPPED.fullmatch(text) else text


def chat_name(path: Path) -> str:
    """The chat's name from the export's file name ("WhatsApp Chat with Ana.txt" → "Ana")."""
    for part in (path.stem, path.parent.name):
        name = _EXPORT_NAME.sub("", part).strip(" _-")
        if name and name.lower() not in ("chat", "_chat", "messages", "index"):
            return name
    return "chat"


def _messages(path: Path, headers: Sequence[re.Pattern[str]], day_first: bool) -> Iterator[Message | ParseError]:
    name = str(path)
    current: tuple[datetime, str | None, list[str]] | None = None
    size = 0
    for number, line in _lines(path):
        match = header(line, headers)
        if match is None:
            if current is not None and size < MAX_MESSAGE_CHARS:
                current[2].append(line)
                size += len(line)
            elif current is None and number == 1 and line.strip():
                yield ParseError(name, "the line does not start with a date and time", f"line {number}")
            continue
        if current:
            yield from _finish(current)
        try:
            when = _time(match, day_first)
        except (ValueError, OverflowError, OSError) as error:
            current = None
            yield ParseError(name, f"{match['date']} {match['time']} is not a valid date and time ({error})",
                             f"line {number}")
            continue
        split = _split(match["rest"])
        current = (when, split[0], [split[1]]) if split else (when, None, [])
        size = len(line)
    if current:
        yield from _finish(current)


def _finish(message: tuple[datetime, str | None, list[str]]) -> Iterator[Message]:
    when, sender, lines = message
    text = _media("\n".join(lines)) if sender else ""
    if sender and text:
        yield Message(when, sender, clip(text))


def parse_line_chat(path: Path, source: str, app: str,
                    headers: Sequence[re.Pattern[str]] = HEADERS) -> Iterator[Item | ParseError]:
    """The items of a chat exported as one line per message (continued on following lines)."""
    order = _DateOrder()
    for _, line in _lines(path):
        match = header(line, headers)
        if match:
            order.see(match)
    chat = Chat(source, f"{app}: {chat_name(path)}", f"{path.resolve()}#")
    yield from chat_items(chat, _messages(path, headers, order.day_first))


def looks_like_whatsapp(path: Path, head: bytes) -> bool:
    return starts_with_header(head, HEADERS)


def parse_whatsapp(path: Path) -> Iterator[Item | ParseError]:
    yield from parse_line_chat(path, "whatsapp", "WhatsApp")
