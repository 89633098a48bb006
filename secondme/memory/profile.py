"""The owner's profile: short statements by section, updated by consolidation and ruled by the owner's edits."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from secondme.core.types import Record, Sensitivity
from secondme.errors import SecondMeError
from secondme.memory.retrieval import summarising
from secondme.memory.segments import highest
from secondme.places import Places

if TYPE_CHECKING:
    from secondme.memory.store import Batch, MemoryStore

SECTIONS = ("basics", "people", "places", "interests", "habits", "preferences", "personality", "projects")
SAME = 0.85  # a proposal this close in meaning to a statement says it again: it only adds a source
PER_SECTION = 5  # statements of the consolidation a section shows in the prompt
CORRECTS = 0.5  # a proposal this close to a statement of its section may correct it (the model is asked)
_COLUMNS = "id, section, payload, sensitivity, pinned, user_edited, deleted, sources, updated_at"


@dataclass(frozen=True)
class Statement:
    """One line of the profile; `sources` are the ids of the summaries it came from."""

    id: str
    section: str
    text: str
    sensitivity: Sensitivity
    pinned: bool
    user_edited: bool
    deleted: bool
    sources: tuple[str, ...]
    updated_at: datetime

    @property
    def no_sources_note(self) -> str:
        """What to say of it when none of its sources is left."""
        return "Written by you." if self.user_edited else "Its sources are gone (forgotten or re-ingested)."


@dataclass(frozen=True)
class Proposal:
    """A statement consolidation proposes, maybe replacing an earlier one (by id)."""

    section: str
    text: str
    replaces: str = ""


def _clean(text: str) -> str:
    return " ".join(text.split())


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Profile:
    """The statements table. The owner's edits, pins and deletions always win over consolidation."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    def _hash(self, text: str) -> str:
        return self._store.cipher.keyed_hash("profile:" + _clean(text).lower().rstrip("."))

    def _statement(self, row: tuple) -> Statement:
        sid, section, payload, sensitivity, pinned, edited, deleted, sources, updated = row
        return Statement(sid, section, self._store.cipher.decrypt(payload), Sensitivity(sensitivity), bool(pinned),
                         bool(edited), bool(deleted), tuple(json.loads(sources)), datetime.fromisoformat(updated))

    def statements(self, include_deleted: bool = False) -> list[Statement]:
        """The statements in section order, first written first within a section."""
        rows = self._store.query(f"SELECT {_COLUMNS} FROM profile_statements ORDER BY rowid")
        found = [self._statement(row) for row in rows if include_deleted or not row[6]]
        return sorted(found, key=lambda s: SECTIONS.index(s.section))

    def get(self, statement_id: str) -> Statement:
        rows = self._store.query(f"SELECT {_COLUMNS} FROM profile_statements WHERE id = ?", (statement_id,))
        if not rows:
            raise SecondMeError(f"no profile statement with id {statement_id}")
        return self._statement(rows[0])

    def sources_of(self, statement: Statement) -> list[Record]:
        """The summaries a statement came from, newest first (none for one the owner wrote)."""
        return sorted(self._store.records(list(statement.sources)), key=lambda r: r.time, reverse=True)

    def add(self, section: str, text: str, sensitivity: Sensitivity = Sensitivity.NORMAL) -> Statement:
        """A statement written by the owner (a deleted one with the same text comes back)."""
        if section not in SECTIONS:
            raise SecondMeError(f"unknown section {section!r}: one of {', '.join(SECTIONS)}")
        text = _clean(text)
        if not text:
            raise SecondMeError("the statement is empty")
        self._store.write(
            "INSERT INTO profile_statements (id, section, payload, text_hash, sensitivity, user_edited, updated_at) "
            "VALUES (?, ?, ?, ?, ?, 1, ?) ON CONFLICT (text_hash) DO UPDATE SET deleted = 0, user_edited = 1, "
            "section = excluded.section, updated_at = excluded.updated_at",
            (uuid.uuid4().hex[:12], section, self._store.cipher.encrypt(text), self._hash(text), str(sensitivity),
             _now()),
        )
        rows = self._store.query("SELECT id FROM profile_statements WHERE text_hash = ?", (self._hash(text),))
        return self.get(rows[0][0])

    def _set(self, statement_id: str, assignments: str, params: Sequence[object]) -> Statement:
        self.get(statement_id)
        self._store.write(f"UPDATE profile_statements SET {assignments}, updated_at = ? WHERE id = ?",
                          (*params, _now(), statement_id))
        return self.get(statement_id)

    def edit(self, statement_id: str, text: str) -> Statement:
        """Rewrite a statement; from now on consolidation leaves it alone."""
        text = _clean(text)
        if not text:
            raise SecondMeError("the statement is empty")
        try:
            return self._set(statement_id, "payload = ?, text_hash = ?, user_edited = 1, deleted = 0",
                             (self._store.cipher.encrypt(text), self._hash(text)))
        except sqlite3.IntegrityError:
            raise SecondMeError("another profile statement already says that") from None

    def pin(self, statement_id: str, pinned: bool = True) -> Statement:
        return self._set(statement_id, "pinned = ?", (int(pinned),))

    def delete(self, statement_id: str) -> Statement:
        """Hide a statement; consolidation will not add the same text again."""
        return self._set(statement_id, "deleted = 1, pinned = 0", ())

    def mark(self, statement_id: str, sensitivity: Sensitivity) -> Statement:
        return self._set(statement_id, "sensitivity = ?, user_edited = 1", (str(sensitivity),))

    def profile_text(self, include: Sequence[str] = ("normal",), exclude_sources: Sequence[str] = ()) -> str:
        """The always-in-prompt profile: a heading per section, then its statements of these sensitivities;
        a statement made only from summaries of records of the source families `exclude_sources` is left out.
        A statement the consolidation made from summaries that are all outdated now is left out (one the
        owner wrote or pinned stays). Of the consolidation's statements a section shows the PER_SECTION
        that most summaries support (newest first among equals), after every one the owner wrote or pinned.
        The places section adds the places location history shows (home, work, named and regular ones)
        where private items may be seen: they tell where the owner lives."""
        located = self.located() if "private" in include else []
        outdated = {i for (i,) in self._store.query("SELECT record_id FROM supersessions")}
        statements = [s for s in self.statements() if s.sensitivity in include]
        hidden = summarising(self._store, [i for s in statements for i in s.sources], exclude_sources)
        current = [s for s in statements if (s.user_edited or s.pinned or not s.sources or not (
            set(s.sources) <= outdated or set(s.sources) <= hidden))]
        lines: list[str] = []
        for section in SECTIONS:
            mine = [s for s in current if s.section == section]
            found = sorted((s for s in mine if not (s.user_edited or s.pinned)),
                           key=lambda s: (len(s.sources), s.updated_at), reverse=True)[:PER_SECTION]
            shown = {s.id for s in found}
            texts = [s.text for s in mine if s.user_edited or s.pinned or s.id in shown]
            texts += located if section == "places" else []
            if texts:
                lines += [f"{section.capitalize()}:", *(f"- {text}" for text in texts)]
        return "\n".join(lines)

    def located(self) -> list[str]:
        """The places section's lines from location history; `secondme places` names and lists them."""
        return Places(self._store).profile_lines()

    def match(self, proposals: Sequence[Proposal]) -> list[tuple[Proposal, Statement | None]]:
        """Each proposal with the statement of its section it may correct (None if none is near).

        A proposal that says a known statement, or one proposed before it, again in other words takes
        that exact text, so that it only adds a source: no near-copies in the profile, and no deleted
        statement back reworded."""
        known = self.statements(include_deleted=True)
        texts = [p.text for p in proposals]
        similar = self._store.similarity(texts, [*(s.text for s in known), *texts])
        matched: list[tuple[Proposal, Statement | None]] = []
        for n, (proposal, scores) in enumerate(zip(proposals, similar, strict=True)):
            before = scores[:len(known) + n]
            same = max(range(len(before)), key=before.__getitem__, default=None)
            if same is not None and before[same] >= SAME:
                said = known[same] if same < len(known) else matched[same - len(known)][0]
                matched.append((Proposal(said.section, said.text), None))
                continue
            near = [(scores[i], s) for i, s in enumerate(known)
                    if s.section == proposal.section and not s.deleted and scores[i] >= CORRECTS]
            matched.append((proposal, max(near, key=lambda pair: pair[0])[1] if near else None))
        return matched

    def apply(self, batch: Batch, proposals: Sequence[Proposal], sources: Sequence[str],
              sensitivity: Sensitivity) -> int:
        """Write proposals inside a consolidation batch; how many statements were added or changed.

        A known text only gains sources; a deleted text stays deleted; pinned and owner-edited
        statements are never replaced (the proposal is added beside them instead)."""
        changed = 0
        for proposal in proposals:
            digest = self._hash(proposal.text)
            known = batch.rows("SELECT id, sources FROM profile_statements WHERE text_hash = ?", (digest,))
            if known:
                merged = json.dumps(list(dict.fromkeys([*json.loads(known[0][1]), *sources])))
                batch.execute("UPDATE profile_statements SET sources = ? WHERE id = ? AND deleted = 0",
                              (merged, known[0][0]))
                continue
            payload = self._store.cipher.encrypt(proposal.text)
            replaced = batch.rows(
                "SELECT sources, sensitivity FROM profile_statements WHERE id = ? AND pinned = 0 AND user_edited = 0 "
                "AND deleted = 0", (proposal.replaces,))
            if replaced:
                merged = json.dumps(list(dict.fromkeys([*json.loads(replaced[0][0]), *sources])))
                level = highest([sensitivity, Sensitivity(replaced[0][1])])
                batch.execute(
                    "UPDATE profile_statements SET section = ?, payload = ?, text_hash = ?, sensitivity = ?, "
                    "sources = ?, updated_at = ? WHERE id = ?",
                    (proposal.section, payload, digest, str(level), merged, _now(), proposal.replaces))
            else:
                batch.execute(
                    "INSERT INTO profile_statements (id, section, payload, text_hash, sensitivity, sources, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (uuid.uuid4().hex[:12], proposal.section, payload, digest, str(sensitivity),
                     json.dumps(list(sources)), _now()))
            changed += 1
        return changed
