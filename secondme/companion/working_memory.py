"""Working memory: SecondMe's current view of the owner and of itself, versioned in SQLite.

The owner's side (what they are doing, their mood, open loops, who they mentioned) is rewritten
by one schema-constrained model call from what is new since the last version; their plans with
dates come from the follow-ups. SecondMe's side (what it last said and when, whether the owner
answered, pending follow-ups) is kept by code, plus a line on its persona's state from the model.
Every change is a new version (author model, system or user); the owner can read and edit it.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from secondme.companion.followups import FollowUp, describe, from_record
from secondme.companion.inbox import CheckIn
from secondme.companion.steps import text, texts
from secondme.core.protocols import ChatMessage
from secondme.core.types import Record
from secondme.errors import SecondMeError
from secondme.memory.store import MemoryStore

RECORDS_SHOWN = 12
RECORD_CLIP = 220
EMPTY: dict[str, Any] = {
    "user": {"doing": "", "mood": "", "open_loops": [], "people": [], "plans": []},
    "self": {"persona_state": "", "last_said": "", "last_said_at": "", "user_answered": True,
             "unanswered_in_row": 0, "pending_followups": []},
}
MODEL_FIELDS = ("doing", "mood", "open_loops", "people", "persona_state")
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "doing": {"type": "string", "maxLength": 120},
        "mood": {"type": "string", "maxLength": 60},
        "open_loops": {"type": "array", "items": {"type": "string", "maxLength": 90}, "maxItems": 4},
        "people": {"type": "array", "items": {"type": "string", "maxLength": 40}, "maxItems": 5},
        "persona_state": {"type": "string", "maxLength": 100},
    },
    "required": list(MODEL_FIELDS),
}


@dataclass(frozen=True)
class Version:
    number: int  # 0: nothing written yet
    doc: dict[str, Any]
    author: str  # "model", "system" or "user"
    reason: str
    created_at: datetime | None


def validate(doc: Any) -> dict[str, Any]:
    """The document with every known field present and of the right type; SecondMeError otherwise."""
    if not isinstance(doc, dict) or not isinstance(doc.get("user"), dict) or not isinstance(doc.get("self"), dict):
        raise SecondMeError('working memory must be a JSON object with "user" and "self" objects')
    clean = copy.deepcopy(EMPTY)
    for side in ("user", "self"):
        for key, value in doc[side].items():
            default = EMPTY[side].get(key)
            if default is not None and type(value) is not type(default) and not (
                    isinstance(default, int) and isinstance(value, int)):
                raise SecondMeError(f"working memory {side}.{key} must be a {type(default).__name__}")
            clean[side][key] = value
    return clean


def compact(doc: dict[str, Any], tz: tzinfo, as_of: datetime | None = None, plans: bool = True) -> str:
    """The working memory as a few lines for a prompt; `as_of` dates what the user was doing (the
    model copies "tomorrow" from what it read), `plans` False leaves the plans out."""
    user, me = doc["user"], doc["self"]
    lines = []
    doing = f"Doing (as of {as_of.astimezone(tz):%A %d %B})" if as_of else "Doing"
    for label, value in ((doing, user["doing"]), ("Mood", user["mood"]),
                         ("Open loops", "; ".join(user["open_loops"])), ("People", ", ".join(user["people"])),
                         ("Plans", "; ".join(f"{p['what']} ({p['when']})" for p in user["plans"]) if plans else "")):
        if value:
            lines.append(f"{label}: {value}")
    if me["last_said"]:
        answered = "answered" if me["user_answered"] else f"not answered yet ({me['unanswered_in_row']} in a row)"
        lines.append(f"Your last check-in ({me['last_said_at']}): \"{me['last_said']}\" - {answered}")
    if me["persona_state"]:
        lines.append(f"Your state: {me['persona_state']}")
    return "\n".join(lines) or "(empty)"


class WorkingMemory:
    """The versions table, with the model step that updates the owner's side."""

    def __init__(self, store: MemoryStore, tz: tzinfo) -> None:
        self._store = store
        self.tz = tz

    def current(self) -> Version:
        rows = self._store.query("SELECT version, payload, author, reason, created_at FROM working_memory "
                                 "ORDER BY version DESC LIMIT 1")
        return self._version(rows[0]) if rows else Version(0, copy.deepcopy(EMPTY), "system", "empty", None)

    def _version(self, row: tuple) -> Version:
        number, payload, author, reason, created = row
        return Version(number, validate(json.loads(self._store.cipher.decrypt(payload))), author, reason,
                       datetime.fromisoformat(created))

    def read_at(self) -> datetime | None:
        """When the model (or the owner) last wrote the owner's side."""
        rows = self._store.query("SELECT created_at FROM working_memory WHERE author != 'system' "
                                 "ORDER BY version DESC LIMIT 1")
        return datetime.fromisoformat(rows[0][0]) if rows else None

    def history(self, limit: int = 20) -> list[Version]:
        rows = self._store.query("SELECT version, payload, author, reason, created_at FROM working_memory "
                                 "ORDER BY version DESC LIMIT ?", (limit,))
        return [self._version(row) for row in rows]

    def save(self, doc: dict[str, Any], author: str, reason: str, now: datetime) -> Version:
        """A new version, unless nothing changed."""
        doc = validate(doc)
        latest = self.current()
        if latest.number and latest.doc == doc:
            return latest
        payload = self._store.cipher.encrypt(json.dumps(doc, ensure_ascii=False))
        self._store.write("INSERT INTO working_memory (payload, author, reason, created_at) VALUES (?, ?, ?, ?)",
                          (payload, author, reason, now.isoformat()))
        return self.current()

    def set(self, path: str, raw: str, now: datetime) -> Version:
        """The owner's edit of one field, e.g. `user.mood "calm"` or `user.open_loops '["call Ana"]'`."""
        side, _, key = path.partition(".")
        doc = self.current().doc
        if side not in doc or not key:
            raise SecondMeError(f"unknown field {path!r}: user.<field> or self.<field>")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        if isinstance(EMPTY[side].get(key), str) and not isinstance(value, str):
            value = raw
        doc[side][key] = value
        return self.save(doc, "user", f"edited {path}", now)

    def with_facts(self, doc: dict[str, Any], pending: list[FollowUp], unanswered: list[CheckIn],
                   last: CheckIn | None) -> dict[str, Any]:
        """The parts code keeps: plans and pending follow-ups (secret ones left out), SecondMe's last words."""
        doc = copy.deepcopy(doc)
        shown = [f for f in pending if f.status == "pending"]
        doc["user"]["plans"] = [{"what": f.event, "when": f.describe_event(self.tz)} for f in shown[:6]]
        doc["self"]["pending_followups"] = [
            {"about": f.topic, "due": f.due_at.astimezone(self.tz).strftime("%a %d %b %H:%M")} for f in shown[:6]]
        if last is not None:
            doc["self"]["last_said"] = last.message
            doc["self"]["last_said_at"] = last.delivered_at.astimezone(self.tz).strftime("%a %d %b %H:%M")
            doc["self"]["user_answered"] = last.answered
        doc["self"]["unanswered_in_row"] = len(unanswered)
        return doc

    def messages(self, doc: dict[str, Any], records: list[Record], now: datetime, owner: str) -> list[ChatMessage]:
        who = owner or "the user"
        lines = []
        for record in records[-RECORDS_SHOWN:]:
            said = " ".join(record.text.split())[:RECORD_CLIP]
            kind = f"{who} said" if record.kind == "turn" else f"{record.kind} ({record.source})"
            dates = "; ".join(describe(d.when.start, d.when.precision) for d in from_record(record, self.tz, owner))
            lines.append(f"- [{record.time.astimezone(self.tz):%a %d %b %H:%M}] {kind}: {said}"
                         + (f" (that is {dates})" if dates else ""))
        current = {key: doc["user"][key] for key in MODEL_FIELDS if key in doc["user"]}
        current["persona_state"] = doc["self"]["persona_state"]
        system = (f"You keep SecondMe's working memory: its short, current view of {who} and of itself. "
                  "Update it from what is new. Keep what is still true, drop what is over, invent nothing; "
                  "name days by weekday, never 'today' or 'tomorrow'. "
                  f"doing: what {who} is busy with now; mood: a few words, or empty if unknown; open_loops: "
                  f"things {who} still has to do or hear back about; people: names {who} mentioned lately; "
                  "persona_state: how SecondMe, a caring second self, stands with them now.")
        user = (f"Now: {now.astimezone(self.tz):%A %d %B %Y %H:%M}.\n"
                f"Working memory: {json.dumps(current, ensure_ascii=False)}\n"
                "New since then:\n" + "\n".join(lines) + "\nAnswer with the updated working memory as JSON.")
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    @staticmethod
    def parse(value: Any) -> dict[str, Any]:
        return {"doing": text(value, "doing", 120), "mood": text(value, "mood", 60),
                "open_loops": texts(value, "open_loops", 90, 4), "people": texts(value, "people", 40, 5),
                "persona_state": text(value, "persona_state", 100)}

    @staticmethod
    def merged(doc: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
        doc = copy.deepcopy(doc)
        for key in ("doing", "mood", "open_loops", "people"):
            doc["user"][key] = update[key]
        doc["self"]["persona_state"] = update["persona_state"]
        return doc
