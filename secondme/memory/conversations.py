"""The chat history: past conversations, read back from the turns the assistant keeps as records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from secondme.core.assistant import CONVERSATION_SOURCE, REPLY_KIND, TURN_KIND, Conversation
from secondme.core.protocols import ChatMessage

if TYPE_CHECKING:
    from secondme.memory.store import MemoryStore

PREFIX = "conversation:"
TITLE_LENGTH = 60


@dataclass(frozen=True)
class ConversationInfo:
    """One past conversation as a list shows it: its id, first question, last activity and turn count."""

    id: str
    title: str
    updated: datetime
    turns: int


def _turn_number(source_id: str) -> int:  # the clear source id, "conversation:<id>#<turn>", is in the payload
    tail = source_id.rpartition("#")[2]
    return int(tail) if tail.isdigit() else 0


class ConversationLog:
    """The owner's conversations with SecondMe, newest first; nothing is stored here that the
    assistant does not already keep (each exchange is two private records of one origin)."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    def _key(self, conversation_id: str) -> str:
        return self._store.origin_key(PREFIX + conversation_id)

    def recent(self, limit: int = 100) -> list[ConversationInfo]:
        # conversation origins are stored as they are (origins.CLEAR_SCHEMES): found by their prefix
        rows = self._store.query(
            "SELECT c.origin, (SELECT f.id FROM records f WHERE f.origin = c.origin ORDER BY f.kind != ?, f.rowid "
            "LIMIT 1), 0, MAX(c.time_ts), COUNT(*) FROM records c WHERE c.source = ? AND c.origin LIKE ? "
            "GROUP BY c.origin ORDER BY MAX(c.time_ts) DESC, MAX(c.rowid) DESC LIMIT ?",
            (TURN_KIND, CONVERSATION_SOURCE, PREFIX + "%", limit))
        firsts = {r.id: r for r in self._store.records([row[1] for row in rows])}
        found = []
        for origin, first_id, _, updated, count in rows:
            first = firsts.get(first_id)
            title = " ".join(first.text.split()) if first else "Conversation"
            if len(title) > TITLE_LENGTH:
                title = title[: TITLE_LENGTH - 1] + "…"
            found.append(ConversationInfo(origin[len(PREFIX):], title, datetime.fromtimestamp(updated, UTC), count))
        return found

    def load(self, conversation_id: str) -> Conversation:
        """The conversation with its turns in order (empty turns for an unknown id)."""
        rows = self._store.query("SELECT id FROM records WHERE origin = ? AND source = ? AND kind IN (?, ?)",
                                 (self._key(conversation_id), CONVERSATION_SOURCE, TURN_KIND, REPLY_KIND))
        records = sorted(self._store.records([i for (i,) in rows]), key=lambda r: _turn_number(r.source_id))
        turns: list[ChatMessage] = [
            {"role": "user" if r.kind == TURN_KIND else "assistant", "content": r.text} for r in records]
        return Conversation(conversation_id, turns)

    def delete(self, conversation_id: str) -> int:
        """Forget every record of a conversation; how many there were."""
        rows = self._store.query("SELECT id FROM records WHERE origin = ?", (self._key(conversation_id),))
        return sum(self._store.forget(record_id) for (record_id,) in rows)

    def drop_last_exchange(self, conversation: Conversation) -> str:
        """Take the last question and its answer out of the conversation and forget their records
        (before the question is asked again); the question, or "" when there is none."""
        turns = conversation.turns
        if len(turns) < 2 or turns[-2]["role"] != "user":
            return ""
        origin = PREFIX + conversation.id
        for index in (len(turns) - 1, len(turns)):
            for (record_id,) in self._store.query("SELECT id FROM records WHERE origin = ? AND source_id = ?",
                                                  (self._key(conversation.id), self._store.source_key(
                                                      f"{origin}#{index}"))):
                self._store.forget(record_id)
        question = turns[-2]["content"]
        del turns[-2:]
        return question
