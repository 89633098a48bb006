"""The wake-up: given the time, the working memory and the due follow-ups, reach out or not.

The model answers {followup, reach_out, message, reason} under a JSON schema, but only when a
follow-up is due and the rules allow a check-in now; the rules are code and have the last word:
quiet hours (the wake-up says when they end), at most one unanswered check-in per topic, at most
`max_unanswered` unanswered in a row (then nothing until the owner writes), a growing gap
between unanswered ones, mutes, and never a secret: secret follow-ups are never candidates, and
a message that would name a secret word is not sent.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from secondme.companion import digest
from secondme.companion.clock import Clock, parse_clock_time
from secondme.companion.followups import FollowUp, FollowUps, from_record, gist, relative, same_topic
from secondme.companion.inbox import CheckIn, Inbox
from secondme.companion.policy import Mutes, Rules
from secondme.companion.steps import StepFailed, ask_json, text
from secondme.companion.working_memory import SCHEMA as MEMORY_SCHEMA
from secondme.companion.working_memory import Version, WorkingMemory, compact
from secondme.config import CompanionConfig
from secondme.core.protocols import ChatMessage, ChatModel, GenerationOptions
from secondme.memory.standing import secret_guard
from secondme.memory.store import MemoryStore

CANDIDATES = 4  # due follow-ups shown to the model at once
MESSAGE_LIMIT, REASON_LIMIT = 160, 80  # characters: short answers are quick on a CPU
GIVE_UP_AFTER = 3  # wake-ups whose model step failed, then the follow-up is given up
EXAMPLE_EVENTS = ("dentist appointment", "job interview", "piano lesson")  # one unlike the follow-ups is shown
EVERYDAY = frozenset("""appointment visit meeting trip plan plans day today tomorrow yesterday tonight morning
    afternoon evening night week weekend hope well good great fine okay feel feeling check doing went going""".split())
RECENT = timedelta(days=14)  # records older than this do not change what the owner is doing now
_NOT_READ = "('reply', 'segment', 'topic')"


@dataclass
class Decision:
    """What one wake-up decided; `rule` names what settled it."""

    time: datetime
    reach_out: bool
    message: str = ""
    reason: str = ""
    # nothing_due, disabled, muted, quiet_hours, backoff, min_gap, topic, model, model_failed, secret or sent
    rule: str = ""
    followup: FollowUp | None = None
    checkin: CheckIn | None = None
    retry_at: datetime | None = None
    seconds: float = 0.0
    prompt: list[ChatMessage] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        followup = self.followup
        return {
            "time": self.time.isoformat(), "reach_out": self.reach_out, "message": self.message,
            "reason": self.reason, "rule": self.rule,
            "followup": {"id": followup.id, "topic": followup.topic, "text": followup.text,
                         "due_at": followup.due_at.astimezone(self.time.tzinfo).isoformat()} if followup else None,
            "checkin": self.checkin.id if self.checkin else None,
            "retry_at": self.retry_at.isoformat() if self.retry_at else None,
            "seconds": round(self.seconds, 2),
        }


@dataclass
class Observed:
    """What an observation found: new follow-ups and, if the model updated it, the new working memory."""

    followups: list[FollowUp] = field(default_factory=list)
    memory: Version | None = None
    error: str = ""


def names(text: str, topic: str) -> bool:
    """Whether a message names the follow-up's topic (one of its words)."""
    words = set(re.findall(r"\w+", text.lower()))
    words |= {word.removesuffix("s") for word in words}
    return any(word in words or word.removesuffix("s") in words for word in topic.split())


def example(candidates: list[FollowUp]) -> str:
    """An answer in the expected form, about an event none of the candidates is about."""
    event = next((e for e in EXAMPLE_EVENTS if not any(same_topic(e, f.topic) for f in candidates)), "piano lesson")
    return json.dumps({"followup": "F1", "reach_out": True, "message": f"Hi Sam, how did the {event} go?",
                       "reason": f"the {event} is over"})


def tidy_message(message: str, topic: str) -> str:
    """The message up to the question about the event (one question, no rambling after it); a
    sentence cut by the length limit is dropped when an earlier one ended."""
    sentences = re.split(r"(?<=[.!?])\s+", message)
    named = any(names(sentence, topic) for sentence in sentences)
    kept = []
    for sentence in sentences:
        kept.append(sentence)
        if sentence.endswith("?") and (names(sentence, topic) or not named):
            break
    if len(message) >= MESSAGE_LIMIT - 1 and len(kept) > 1 and not kept[-1].endswith((".", "!", "?")):
        kept.pop()
    return " ".join(kept)


def decision_schema(count: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "followup": {"enum": [f"F{n}" for n in range(1, count + 1)]},
            "reach_out": {"type": "boolean"},
            "message": {"type": "string", "maxLength": MESSAGE_LIMIT},
            "reason": {"type": "string", "maxLength": REASON_LIMIT},
        },
        "required": ["followup", "reach_out", "message", "reason"],
    }


class Companion:
    """Observes new memories, keeps the working memory, and decides on check-ins. Thread-safe."""

    def __init__(self, store: MemoryStore, model: Callable[[], ChatModel], config: CompanionConfig = CompanionConfig(),
                 clock: Clock | None = None, owner: str = "",
                 options: GenerationOptions = GenerationOptions(max_tokens=200)) -> None:
        self.store = store
        self._model = model
        self.config = config
        self.clock = clock or Clock()
        self.owner = owner
        self.options = options
        self.rules = Rules.from_config(config)
        self.followups = FollowUps(store)
        self.inbox = Inbox(store)
        self.memory = WorkingMemory(store, self.clock.tz)
        self.mutes = Mutes(store)
        self._lock = threading.RLock()
        self.on_followup: list[Callable[[FollowUp], None]] = []  # the scheduler puts a job at each new one

    @property
    def who(self) -> str:
        return self.owner or "the user"

    def state(self, name: str, default: str = "") -> str:
        """A value of the companion's state (encrypted: the last decision quotes its message)."""
        rows = self.store.query("SELECT payload FROM companion_state WHERE name = ?", (name,))
        return self.store.cipher.decrypt(rows[0][0]) if rows else default

    def set_state(self, name: str, value: str) -> None:
        self.store.write("INSERT OR REPLACE INTO companion_state (name, payload) VALUES (?, ?)",
                         (name, self.store.cipher.encrypt(value)))

    # -- observing -------------------------------------------------------------------------------

    def observe(self, now: datetime | None = None, refresh: bool = True) -> Observed:
        """Find follow-ups in records stored since the last look; with `refresh`, let the model
        update the working memory from them (a failure leaves them queued for the next time)."""
        with self._lock:
            now = now or self.clock.now()
            found = Observed(self._extract(now))
            for followup in found.followups:
                for callback in self.on_followup:
                    callback(followup)
            if refresh:
                try:
                    found.memory = self._refresh(now)
                except StepFailed as failed:
                    found.error = str(failed)
                    self.set_state("last_error", f"{now.isoformat()} working memory: {failed}")
            self.sync_memory(now, "follow-ups and check-ins")
            return found

    def _extract(self, now: datetime) -> list[FollowUp]:
        seq = int(self.state("followups_seq", "0"))
        new: list[FollowUp] = []
        while rows := self.store.query("SELECT rowid, id FROM records WHERE rowid > ? ORDER BY rowid LIMIT 500",
                                       (seq,)):
            for record in self.store.records([i for _, i in rows]):
                for draft in from_record(record, self.clock.tz, self.owner):
                    added = self.followups.add(record, draft, now)
                    if added is not None:
                        new.append(added)
            seq = rows[-1][0]
            self.set_state("followups_seq", str(seq))
        return new

    def unread(self, now: datetime | None = None) -> tuple[list[str], int]:
        """The ids of the stored records the working memory has not read yet (recent, not secret,
        not SecondMe's own), oldest first, and the rowid up to which they were looked for."""
        now = now or self.clock.now()
        seq = int(self.state("memory_seq", "0"))
        top = self.store.query("SELECT coalesce(max(rowid), 0) FROM records")[0][0]
        rows = self.store.query(
            f"SELECT id FROM records WHERE rowid > ? AND rowid <= ? AND kind NOT IN {_NOT_READ} "
            "AND sensitivity != 'secret' AND origin NOT LIKE 'guest:%' AND time_ts >= ? AND time_ts <= ? "
            "ORDER BY time_ts, rowid", (seq, top, (now - RECENT).timestamp(), (now + timedelta(days=1)).timestamp()))
        return [i for (i,) in rows], top

    def _refresh(self, now: datetime) -> Version | None:
        ids, top = self.unread(now)
        version = None
        if ids:
            records = self.store.records(ids)
            current = self.memory.current().doc
            update = ask_json(self._model(), self.memory.messages(current, records, now, self.owner), MEMORY_SCHEMA,
                              self.memory.parse, self.options)
            doc = self._with_facts(self.memory.merged(current, update))
            version = self.memory.save(doc, "model", f"read {len(records)} new record(s)", now)
        self.set_state("memory_seq", str(top))
        return version

    def _with_facts(self, doc: dict[str, Any]) -> dict[str, Any]:
        return self.memory.with_facts(doc, self.followups.pending(), self.inbox.unanswered(), self.inbox.last_checkin())

    def sync_memory(self, now: datetime, reason: str) -> Version:
        """A new version when the parts kept by code changed (a check-in sent, an answer, a follow-up)."""
        current = self.memory.current()
        return self.memory.save(self._with_facts(current.doc), "system", reason, now)

    # -- waking up -------------------------------------------------------------------------------

    def wake(self, now: datetime | None = None) -> Decision:
        """One wake-up: observe, apply the rules, ask the model if a check-in may go out, deliver it."""
        with self._lock:
            started = time.monotonic()
            now = (now or self.clock.now()).astimezone(self.clock.tz)
            self.observe(now)
            decision = self._decide(now)
            decision.seconds = time.monotonic() - started
            self.set_state("last_decision", json.dumps(decision.as_json()))
            return decision

    def _decide(self, now: datetime) -> Decision:
        self.followups.tidy(now)
        due = self.followups.due(now)
        if not due:
            upcoming = self.followups.pending()
            return Decision(now, False, reason="nothing is due", rule="nothing_due",
                            retry_at=upcoming[0].due_at.astimezone(now.tzinfo) if upcoming else None)
        if not self.rules.enabled:
            return Decision(now, False, reason="check-ins are turned off (companion.enabled)", rule="disabled")
        if self.mutes.all_muted(now):
            return Decision(now, False, reason="all check-ins are muted", rule="muted")
        quiet = self.rules.quiet_until(now)
        if quiet is not None:
            return Decision(now, False, reason=f"quiet hours until {quiet:%H:%M}", rule="quiet_hours", retry_at=quiet)
        unanswered = self.inbox.unanswered()
        if len(unanswered) >= self.rules.max_unanswered:
            return Decision(now, False, rule="backoff",
                            reason=f"{len(unanswered)} check-ins in a row unanswered: waiting until {self.who} writes")
        last = self.inbox.last_checkin()
        if last is not None and now < last.delivered_at + self.rules.gap_after(len(unanswered)):
            wait_until = (last.delivered_at + self.rules.gap_after(len(unanswered))).astimezone(now.tzinfo)
            return Decision(now, False, reason=f"too soon after the last check-in; not before {wait_until:%H:%M}",
                            rule="min_gap", retry_at=wait_until)
        open_topics = [c.topic for c in unanswered]
        candidates = [f for f in due if not any(same_topic(f.topic, topic) for topic in open_topics)
                      and not self.mutes.muted(f.topic, f.text, now)][:CANDIDATES]
        if not candidates:
            return Decision(now, False, rule="topic",
                            reason="what is due is muted or already has an unanswered check-in")
        return self._ask(now, candidates)

    def decision_messages(self, now: datetime, candidates: list[FollowUp]) -> list[ChatMessage]:
        who, tz = self.who, self.clock.tz
        said = {r.id: r.time for r in self.store.records([f.record_id for f in candidates])}
        lines = []
        for n, followup in enumerate(candidates, 1):
            when = said.get(followup.record_id)
            on = f" on {when.astimezone(tz):%A at %H:%M}" if when else ""
            event = relative(followup.event_at, followup.precision, now)
            lines.append(f'F{n}: "{gist(followup.event)}", {event} ({who} told you about it{on})')
        system = (f"You are SecondMe, {who}'s caring second self. You may message {who} on your own to ask how "
                  "an event went. Care without pestering. The message is one short, warm question to "
                  f"{who} that names the event.\nExample answer: {example(candidates)}")
        user = (f"Now: {now:%A %d %B %Y, %H:%M}.\nWhat you know of {who}:\n"
                f"{compact(self.memory.current().doc, tz, self.memory.read_at(), plans=False)}\n"
                "Due follow-ups (events that are over):\n" +
                "\n".join(lines) + f"\nReach out to {who} now about one of them? Answer as JSON.")
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def _ask(self, now: datetime, candidates: list[FollowUp]) -> Decision:
        messages = self.decision_messages(now, candidates)

        def parse(value: Any) -> tuple[int, bool, str, str]:
            index = int(str(value["followup"]).removeprefix("F")) - 1
            if not 0 <= index < len(candidates) or not isinstance(value["reach_out"], bool):
                raise ValueError(f"bad decision {value!r}")
            topic = candidates[index].topic
            message = tidy_message(text(value, "message", MESSAGE_LIMIT), topic)
            if value["reach_out"] and not names(message, topic):
                raise ValueError(f"the message does not name the event ({topic}): {message!r}")
            return index, value["reach_out"], message, text(value, "reason", REASON_LIMIT)

        try:
            index, reach_out, message, reason = ask_json(self._model(), messages, decision_schema(len(candidates)),
                                                         parse, self.options)
        except StepFailed as failed:
            self.set_state("last_error", f"{now.isoformat()} wake-up: {failed}")
            for followup in candidates:  # tried again at the next wake-ups, but not for ever
                tries = int(self.state(f"failed:{followup.id}", "0")) + 1
                self.set_state(f"failed:{followup.id}", str(tries))
                if tries >= GIVE_UP_AFTER:
                    self.followups.resolve(followup.id, "failed", now)
            return Decision(now, False, reason=f"the model gave no valid answer ({failed})", rule="model_failed",
                            prompt=messages)
        chosen = candidates[index]
        if not reach_out or not message:
            for followup in candidates:
                self.followups.resolve(followup.id, "declined", now)
            return Decision(now, False, message, reason or "the model chose not to reach out", "model", chosen,
                            prompt=messages)
        if self._leaks(message, messages):
            self.followups.resolve(chosen.id, "blocked", now)
            return Decision(now, False, reason="the message would have named something secret", rule="secret",
                            followup=chosen, prompt=messages)
        checkin = self.inbox.deliver("checkin", message, reason, now, chosen.topic, chosen.id)
        self.followups.resolve(chosen.id, "sent", now)
        self.sync_memory(now, "sent a check-in")
        return Decision(now, True, message, reason, "sent", chosen, checkin, prompt=messages)

    def _leaks(self, message: str, messages: list[ChatMessage]) -> list[str]:
        """The secret words a message names. Words of its prompt (which holds no secret) and everyday
        words of a check-in ("appointment", "tomorrow") do not count: a secret note that says
        "appointment" must not silence every check-in that does."""
        shown = {w.lower() for m in messages for w in re.findall(r"\w+", m["content"])} | EVERYDAY
        return [w for w in secret_guard(self.store).leaks(message) if w not in shown]

    # -- the digest ------------------------------------------------------------------------------

    def digest_due(self, now: datetime) -> bool:
        """Whether today's digest is still to be sent (opt-in, once a day, from digest_time on)."""
        at = parse_clock_time(self.config.digest_time, "companion.digest_time")
        return (self.config.digest and now.time() >= at
                and self.state("digest_date") != now.date().isoformat())

    def send_digest(self, now: datetime | None = None, force: bool = False) -> CheckIn | None:
        """Summarise yesterday and deliver it; None when there is nothing to say or it was sent today."""
        with self._lock:
            now = (now or self.clock.now()).astimezone(self.clock.tz)
            if not force and not self.digest_due(now):
                return None
            records = digest.yesterday(self.store, now)
            if not records:
                return None
            prompt = digest.messages(records, now, self.owner)
            summary = ask_json(self._model(), prompt, digest.SCHEMA, digest.parse, self.options)
            loops = self.memory.current().doc["user"]["open_loops"]
            message = digest.compose(summary, records, loops)
            if self._leaks(message, prompt):
                return None
            delivered = self.inbox.deliver("digest", message, "the morning digest", now)
            self.set_state("digest_date", now.date().isoformat())
            return delivered
