"""Chat messages of any app grouped into conversations by time gaps: one origin per conversation.

Every message becomes one item reading "Sender: text", so "what did Ana say about X" finds
Ana's own words; the conversation (its origin) keeps them together for summaries. The owner's
messages, where the export itself says who the owner is, are kind "own_message"; forwarded ones
("forwarded_message") are nobody's own words.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ingest.items import Item, ParseError

CONVERSATION_GAP = timedelta(hours=6)  # a longer silence starts a new conversation
MAX_MESSAGES = 400  # a conversation longer than this is cut into parts (each one origin)
MAX_MESSAGE_CHARS = 20_000
MESSAGE, OWN_MESSAGE, FORWARDED = "message", "own_message", "forwarded_message"


@dataclass(frozen=True)
class Message:
    """One chat message as an export has it (time as written there)."""

    time: datetime
    sender: str
    text: str
    own: bool = False
    forwarded: bool = False


@dataclass(frozen=True)
class Chat:
    """One chat of an export: items' source and title, and the origin prefix of its conversations."""

    source: str  # "whatsapp", "telegram"...
    title: str  # "WhatsApp: Ana"
    base: str  # f"{path.resolve()}#" or f"{path.resolve()}#{chat id}/"


@dataclass
class Conversations:
    """Feed one chat's messages in order; whole conversations come out as items."""

    chat: Chat
    gap: timedelta = CONVERSATION_GAP
    limit: int = MAX_MESSAGES
    current: list[Message] = field(default_factory=list)
    origins: set[str] = field(default_factory=set)

    def add(self, message: Message) -> list[Item]:
        done: list[Item] = []
        if self.current and (len(self.current) >= self.limit or _gap(self.current[-1], message) > self.gap):
            done = self.close()
        self.current.append(message)
        return done

    def close(self) -> list[Item]:
        messages, self.current = self.current, []
        return self._items(messages) if messages else []

    def _origin(self, start: datetime) -> str:
        origin = f"{self.chat.base}{start:%Y-%m-%dT%H:%M:%S}"
        unique, n = origin, 1
        while unique in self.origins:  # clocks that went back: a start seen before in this chat
            n += 1
            unique = f"{origin}~{n}"
        self.origins.add(unique)
        return unique

    def _items(self, messages: list[Message]) -> list[Item]:
        origin = self._origin(messages[0].time)
        people = tuple(dict.fromkeys(m.sender for m in messages))
        seen: dict[tuple[str, str], int] = {}
        items = []
        for message in messages:
            stamp = f"{message.time:%Y-%m-%dT%H:%M:%S}"
            n = seen[(stamp, message.sender)] = seen.get((stamp, message.sender), -1) + 1
            items.append(Item(
                text=f"{message.sender}: {message.text}", time=message.time, source=self.chat.source,
                source_id=f"{stamp}#{message.sender}#{n}", kind=_kind(message),
                origin=origin, title=self.chat.title, people=people, speaker=message.sender,
            ))
        return items


def _kind(message: Message) -> str:
    return FORWARDED if message.forwarded else OWN_MESSAGE if message.own else MESSAGE


def _gap(before: Message, after: Message) -> timedelta:
    try:
        return after.time - before.time
    except TypeError:  # one time with a zone, one without: only a malformed export mixes them
        return timedelta(0)


def chat_items(chat: Chat, messages: Iterable[Message | ParseError], gap: timedelta = CONVERSATION_GAP,
               ) -> Iterator[Item | ParseError]:
    """A chat's items, conversation by conversation; bad messages come through as errors."""
    grouped = Conversations(chat, gap)
    for message in messages:
        if isinstance(message, ParseError):
            yield message
        else:
            yield from grouped.add(message)
    yield from grouped.close()


def clip(text: str) -> str:
    """A message's text, tidied: no trailing blanks, at most MAX_MESSAGE_CHARS."""
    text = text.strip()
    return text if len(text) <= MAX_MESSAGE_CHARS else text[:MAX_MESSAGE_CHARS] + " […]"
