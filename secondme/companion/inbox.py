"""The inbox: check-ins and digests SecondMe has sent, and who gets told when one arrives.

A delivered message is also the first turn of a new conversation (a `reply` record with origin
`conversation:<id>`), so the owner's answer continues it like any chat. A check-in counts as
answered once the owner writes to SecondMe again (any chat turn stored after it).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from secondme.core.assistant import CONVERSATION_SOURCE, REPLY_KIND, TURN_KIND
from secondme.core.types import NewRecord, Sensitivity
from secondme.memory.store import MemoryStore

log = logging.getLogger(__name__)
CHECKIN_TITLE = "Check-in from SecondMe"
_LAST_TURN = (f"(SELECT coalesce(max(rowid), 0) FROM records WHERE source = '{CONVERSATION_SOURCE}' "
              f"AND kind = '{TURN_KIND}')")


@dataclass(frozen=True)
class CheckIn:
    """A message SecondMe sent on its own: a check-in (about a follow-up) or the daily digest."""

    id: str
    kind: str  # "checkin" or "digest"
    message: str
    reason: str
    topic: str
    followup_id: str
    conversation_id: str
    delivered_at: datetime
    answered: bool
    read: bool

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "kind": self.kind, "message": self.message, "reason": self.reason,
                "topic": self.topic, "followup": self.followup_id or None, "conversation": self.conversation_id,
                "delivered_at": self.delivered_at.isoformat(), "answered": self.answered, "read": self.read}


Subscriber = Callable[[CheckIn], None]


class Inbox:
    """Delivered check-ins in SQLite; subscribers (the tray, the daemon's printer) hear of new ones.

    Subscribers are called on the thread that delivers (the scheduler's): a UI must hand the
    message to its own thread (a queued Qt signal does)."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call `callback(checkin)` on each delivery; returns the function that unsubscribes."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def deliver(self, kind: str, message: str, reason: str, now: datetime, topic: str = "",
                followup_id: str = "") -> CheckIn:
        """Keep the message as the opening turn of a new conversation, list it, tell the subscribers."""
        conversation = uuid.uuid4().hex[:12]
        origin = f"{CONVERSATION_SOURCE}:{conversation}"
        title = CHECKIN_TITLE if kind == "checkin" else "Morning digest from SecondMe"
        self._store.add([NewRecord(message, now, CONVERSATION_SOURCE, f"{origin}#0", REPLY_KIND, origin, title,
                                   sensitivity=Sensitivity.PRIVATE)])
        seq = self._store.query("SELECT coalesce(max(rowid), 0) FROM records")[0][0]
        checkin_id = uuid.uuid4().hex[:12]
        cipher = self._store.cipher
        payload = cipher.encrypt(json.dumps({"message": message, "reason": reason, "topic": topic}))
        self._store.write(
            "INSERT INTO checkins (id, kind, followup_id, topic_key, payload, conversation_id, delivered_at, "
            "delivered_ts, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (checkin_id, kind, followup_id, cipher.keyed_hash(topic) if topic else "", payload, conversation,
             now.isoformat(), now.timestamp(), seq))
        delivered = self.get(checkin_id)
        assert delivered is not None
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(delivered)
            except Exception:  # noqa: BLE001 - a broken notifier must not lose the check-in
                log.exception("a check-in subscriber failed")
        return delivered

    def _rows(self, where: str = "", params: tuple = (), limit: int = 1000) -> list[CheckIn]:
        rows = self._store.query(
            f"SELECT id, kind, followup_id, payload, conversation_id, delivered_at, seq > {_LAST_TURN} AS open, "
            f"read FROM checkins {where} ORDER BY delivered_ts DESC, rowid DESC LIMIT ?", (*params, limit))
        found = []
        for checkin_id, kind, followup_id, payload, conversation, delivered_at, unanswered, read in rows:
            fields = json.loads(self._store.cipher.decrypt(payload))
            found.append(CheckIn(checkin_id, kind, fields["message"], fields["reason"], fields["topic"],
                                 followup_id or "", conversation, datetime.fromisoformat(delivered_at),
                                 not unanswered, bool(read)))
        return found

    def get(self, checkin_id: str) -> CheckIn | None:
        found = self._rows("WHERE id = ?", (checkin_id,))
        return found[0] if found else None

    def all(self, limit: int = 50) -> list[CheckIn]:
        """Delivered messages, newest first."""
        return self._rows(limit=limit)

    def unanswered(self) -> list[CheckIn]:
        """Check-ins (not digests) sent since the owner last wrote, newest first."""
        return self._rows(f"WHERE kind = 'checkin' AND seq > {_LAST_TURN}")

    def last_checkin(self) -> CheckIn | None:
        found = self._rows("WHERE kind = 'checkin'", limit=1)
        return found[0] if found else None

    def mark_read(self, ids: list[str]) -> None:
        for checkin_id in ids:
            self._store.write("UPDATE checkins SET read = 1 WHERE id = ?", (checkin_id,))
