"""The rules around the model's wish to reach out, enforced in code: quiet hours, back-off, mutes."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from secondme.companion.clock import parse_clock_time
from secondme.config import CompanionConfig
from secondme.memory.store import MemoryStore

ALL = "*"


@dataclass(frozen=True)
class Rules:
    """When a check-in may go out."""

    enabled: bool = True
    quiet_start: time = time(22)
    quiet_end: time = time(8)
    max_unanswered: int = 3
    min_gap: timedelta = timedelta(hours=3)

    @classmethod
    def from_config(cls, config: CompanionConfig) -> Rules:
        return cls(config.enabled, parse_clock_time(config.quiet_start, "companion.quiet_start"),
                   parse_clock_time(config.quiet_end, "companion.quiet_end"), max(1, config.max_unanswered),
                   timedelta(minutes=max(0, config.min_gap_minutes)))

    def quiet_until(self, local: datetime) -> datetime | None:
        """The end of the quiet hours `local` (the owner's local time) falls in, or None."""
        start, end, now = self.quiet_start, self.quiet_end, local.time()
        if start == end:
            return None
        inside = start <= now < end if start < end else (now >= start or now < end)
        if not inside:
            return None
        day = local.date() + timedelta(days=1) if start > end and now >= start else local.date()
        return datetime.combine(day, end, tzinfo=local.tzinfo)

    def gap_after(self, unanswered: int) -> timedelta:
        """How long to wait after the last check-in: the minimum gap, doubled for each one unanswered past the first."""
        return self.min_gap * (2 ** max(0, unanswered - 1))


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


@dataclass(frozen=True)
class Mute:
    topic: str  # ALL for every check-in
    until: datetime | None


class Mutes:
    """Topics (or everything) the owner silenced, for good or until a time."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    def mute(self, topic: str, now: datetime, until: datetime | None = None) -> Mute:
        topic = " ".join(topic.lower().split()) or ALL
        key = ALL if topic == ALL else self._store.cipher.keyed_hash(topic)
        payload = self._store.cipher.encrypt(json.dumps({"topic": topic}))
        self._store.write("INSERT OR REPLACE INTO companion_mutes (topic_key, payload, until_ts, created_at) "
                          "VALUES (?, ?, ?, ?)", (key, payload, until.timestamp() if until else None, now.isoformat()))
        return Mute(topic, until)

    def unmute(self, topic: str) -> bool:
        topic = " ".join(topic.lower().split()) or ALL
        key = ALL if topic == ALL else self._store.cipher.keyed_hash(topic)
        return bool(self._store.write("DELETE FROM companion_mutes WHERE topic_key = ?", (key,)))

    def active(self, now: datetime) -> list[Mute]:
        rows = self._store.query("SELECT payload, until_ts FROM companion_mutes WHERE until_ts IS NULL OR until_ts > ?",
                                 (now.timestamp(),))
        return [Mute(json.loads(self._store.cipher.decrypt(payload))["topic"],
                     datetime.fromtimestamp(until, now.tzinfo) if until else None) for payload, until in rows]

    def all_muted(self, now: datetime) -> bool:
        return any(m.topic == ALL for m in self.active(now))

    def muted(self, topic: str, text: str, now: datetime) -> bool:
        """Whether a follow-up (its topic and sentence) falls under a mute: all the mute's words are in it."""
        words = _words(topic) | _words(text)
        return any(m.topic == ALL or _words(m.topic) <= words for m in self.active(now))
