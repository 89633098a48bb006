"""The owner's standing instructions ("don't do X again") and the guests allowed to talk to SecondMe."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from secondme.core.assistant import CHAT_SOURCES
from secondme.core.guard import SecretGuard
from secondme.core.types import Sensitivity
from secondme.memory.profile import Profile
from secondme.memory.store import MemoryStore

EVERYDAY_ORIGINS = 3  # a secret's word found in this many other files is not a giveaway
SUMMARY_SOURCE = "secondme"  # the source of segment and topic summaries


@dataclass(frozen=True)
class Instruction:
    id: str
    text: str
    created_at: datetime


class InstructionBook:
    """Standing instructions, encrypted like records, always in the owner's prompt."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    def add(self, text: str) -> Instruction:
        text = " ".join(text.split())
        for existing in self.active():
            if existing.text.lower() == text.lower():
                return existing
        instruction = Instruction(uuid.uuid4().hex[:12], text, datetime.now(UTC))
        self._store.write(
            "INSERT INTO instructions (id, payload, created_at) VALUES (?, ?, ?)",
            (instruction.id, self._store.cipher.encrypt(text), instruction.created_at.isoformat()),
        )
        return instruction

    def active(self) -> list[Instruction]:
        rows = self._store.query(
            "SELECT id, payload, created_at FROM instructions WHERE active = 1 ORDER BY created_at"
        )
        cipher = self._store.cipher
        return [Instruction(i, cipher.decrypt(p), datetime.fromisoformat(t)) for i, p, t in rows]

    def texts(self) -> list[str]:
        return [i.text for i in self.active()]

    def drop(self, instruction_id: str) -> bool:
        return bool(self._store.write("UPDATE instructions SET active = 0 WHERE id = ? AND active = 1",
                                      (instruction_id,)))


@dataclass(frozen=True)
class Guest:
    """Someone who talks to the owner's SecondMe; private memories only if the owner allowed it."""

    name: str
    allow_private: bool = False


class GuestList:
    """Guests by the keyed hash of their casefolded name; the name itself is encrypted."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    def _key(self, name: str) -> str:
        return self._store.cipher.identifier(name.casefold())  # as the seal_names migration keys them

    def allow(self, name: str, allow_private: bool) -> Guest:
        self._store.write(
            "INSERT INTO guests (key, payload, allow_private, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET allow_private = excluded.allow_private",
            (self._key(name), self._store.cipher.encrypt(name), int(allow_private), datetime.now(UTC).isoformat()),
        )
        return Guest(name, allow_private)

    def get(self, name: str) -> Guest:
        """A listed guest, or one with default rights (normal memories only)."""
        rows = self._store.query("SELECT payload, allow_private FROM guests WHERE key = ?", (self._key(name),))
        return Guest(self._store.cipher.decrypt(rows[0][0]), bool(rows[0][1])) if rows else Guest(name)

    def all(self) -> list[Guest]:
        rows = self._store.query("SELECT payload, allow_private FROM guests")
        return sorted((Guest(self._store.cipher.decrypt(n), bool(p)) for n, p in rows), key=lambda g: g.name)

    def remove(self, name: str) -> bool:
        return bool(self._store.write("DELETE FROM guests WHERE key = ?", (self._key(name),)))


def secret_guard(store: MemoryStore) -> SecretGuard:
    """A guard over every secret record and profile statement, the same whoever asks: a secret's
    word is let through only when it is an everyday word of the owner's memory (see `everyday`)."""
    ids = [i for (i,) in store.query("SELECT id FROM records WHERE sensitivity = 'secret'")]
    secrets = [text for record in store.records(ids) for text in (record.text, record.title)]
    secrets += [s.text for s in Profile(store).statements() if s.sensitivity == "secret"]
    return SecretGuard(secrets, partial(everyday, store))


def everyday(store: MemoryStore, word: str) -> bool:
    """Whether `word` is found in EVERYDAY_ORIGINS or more files and chats of the owner's own that
    are not secret. Chats with SecondMe do not count (the owner may have told it a secret, a guest may
    have typed anything), nor do summaries (they repeat their records)."""
    hits = store.search(word, k=EVERYDAY_ORIGINS * 4, mode="bm25", exclude_sensitivity=(Sensitivity.SECRET,),
                        exclude_sources=(*CHAT_SOURCES, SUMMARY_SOURCE))
    return len({hit.record.origin for hit in hits}) >= EVERYDAY_ORIGINS
