"""The owner's standing instructions ("don't do X again") and the guests allowed to talk to SecondMe."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from secondme.core.guard import SecretGuard
from secondme.memory.profile import Profile
from secondme.memory.store import MemoryStore


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
    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    def allow(self, name: str, allow_private: bool) -> Guest:
        self._store.write(
            "INSERT INTO guests (name, allow_private, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET allow_private = excluded.allow_private",
            (name, int(allow_private), datetime.now(UTC).isoformat()),
        )
        return Guest(name, allow_private)

    def get(self, name: str) -> Guest:
        """A listed guest, or one with default rights (normal memories only)."""
        rows = self._store.query("SELECT name, allow_private FROM guests WHERE lower(name) = lower(?)", (name,))
        return Guest(rows[0][0], bool(rows[0][1])) if rows else Guest(name)

    def all(self) -> list[Guest]:
        return [Guest(n, bool(p)) for n, p in self._store.query("SELECT name, allow_private FROM guests ORDER BY name")]

    def remove(self, name: str) -> bool:
        return bool(self._store.write("DELETE FROM guests WHERE lower(name) = lower(?)", (name,)))


def secret_guard(store: MemoryStore, hidden: tuple[str, ...]) -> SecretGuard:
    """A guard over every secret record and profile statement, where a word is public if a memory
    the guest may see has it."""
    ids = [i for (i,) in store.query("SELECT id FROM records WHERE sensitivity = 'secret'")]
    secrets = [text for record in store.records(ids) for text in (record.text, record.title)]
    secrets += [s.text for s in Profile(store).statements() if s.sensitivity == "secret"]

    def is_public(word: str) -> bool:
        return bool(store.search(word, k=1, mode="bm25", exclude_sensitivity=hidden))

    return SecretGuard(secrets, is_public)
