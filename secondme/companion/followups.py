"""Follow-ups: future events in what the owner says and writes, each to be asked about after it.

Finding them is deterministic: a sentence that names a coming day ("tomorrow morning", "next
Monday", "Thursday 3pm", "on the 12th", "May 12") is an event, its date resolved against the
record's own time (not "now"), in the owner's time zone. Dates words come from the query
module's vocabulary. The follow-up is due a sensible time after the event: two hours after a
given time, at noon after a morning, at six after an afternoon or a whole day, the next morning
after an evening. A follow-up keeps its record's sensitivity: a secret one is never sent.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from secondme.core.types import Record, Sensitivity
from secondme.memory.query import MONTHS, NUMBERS, WEEKDAYS
from secondme.memory.store import MemoryStore

EXPIRES_AFTER = timedelta(days=2)  # a follow-up not sent by then is stale ("how was the dentist?" a week on)
NOT_EVENTS = frozenset({"reply", "segment", "topic", "checkin", "digest"})  # kinds that never hold the owner's plans

_MONTH = "(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = "(" + "|".join(WEEKDAYS) + ")"
_COUNT = r"(\d+|" + "|".join(NUMBERS) + ")"
_ORDINAL = r"(\d{1,2})(?:st|nd|rd|th)?"
_I = re.IGNORECASE

# Parts of a day: (start hour, end hour, hours after the day's midnight when the follow-up is due).
PARTS = {"morning": (5, 12, 12), "lunch": (12, 14, 15), "afternoon": (13, 18, 18),
         "evening": (18, 23, 24 + 10), "night": (18, 23, 24 + 10), "tonight": (18, 23, 24 + 10)}
DAY_DUE_HOUR = 18  # a whole-day event is asked about at 18:00 that day
LATE_HOUR, MORNING_HOUR = 21, 10  # a due time after 21:00 moves to 10:00 the next day
_HABITUAL = re.compile(r"\b(every|each|usually|always|often|sometimes|never)\b", _I)
_PAST = re.compile(r"\b(last|ago|yesterday|went|was|were|had|did|met|saw|came|left|visited)\b", _I)
_STOP = frozenset("""
    i i'm im i've ive i'll ill i'd we we're we'll our us my me you your he she they their his her it its a an the
    to at on in for of with and or but so then also just really probably maybe will would shall can could may
    going go goes gonna have has had got get gets to be am is are was were do does doing need needs must should
    want wants plan plans planned planning off out up there some this that these those about around after before
    from into by again soon
    """.split())
_KEEP_ING = frozenset({"meeting", "wedding", "building", "evening", "morning", "painting", "reading"})


@dataclass(frozen=True)
class EventTime:
    """When an event is: its start (local), how precisely it was named, and when to ask about it."""

    start: datetime
    end: datetime
    precision: str  # "time", "part" (of the day), "day" or "week"
    due: datetime


@dataclass(frozen=True)
class Draft:
    """A follow-up found in a sentence, not stored yet."""

    text: str  # the sentence, as written
    event: str  # the sentence without its time words
    topic: str  # a few content words: what "one check-in per topic" counts by
    when: EventTime


@dataclass(frozen=True)
class FollowUp:
    """A stored follow-up; status is pending, sent, declined, expired, dropped or secret."""

    id: str
    record_id: str
    text: str
    event: str
    topic: str
    event_at: datetime
    due_at: datetime
    precision: str
    sensitivity: Sensitivity
    status: str
    created_at: datetime

    def describe_event(self, tz: tzinfo) -> str:
        return describe(self.event_at.astimezone(tz), self.precision)


def describe(moment: datetime, precision: str) -> str:
    """ "Tuesday 5 May at 15:00", "Tuesday 5 May, morning", "Tuesday 5 May", "the week of 11 May"."""
    day = f"{moment:%A} {moment.day} {moment:%B}"
    if precision == "time":
        return f"{day} at {moment:%H:%M}"
    if precision == "part":
        part = next((name for name, (start, _, _) in PARTS.items() if start == moment.hour), "day")
        return f"{day}, {part}"
    if precision == "week":
        return f"the week of {moment.day} {moment:%B}"
    return day


def _number(word: str) -> int:
    return int(word) if word.isdigit() else NUMBERS[word.lower()]


def _forward_date(today: date, month: int, day: int, year: str | None) -> date | None:
    try:
        found = date(int(year) if year else today.year, month, day)
        if not year and found < today:
            found = date(today.year + 1, month, day)
    except ValueError:
        return None
    return found


def _weekday_on_or_after(today: date, weekday: str) -> date:
    return today + timedelta(days=(WEEKDAYS.index(weekday.lower()) - today.weekday()) % 7)


def _next_week_weekday(today: date, weekday: str) -> date:
    """ "next Thursday": the Thursday of next (Monday-to-Sunday) week."""
    monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
    return monday + timedelta(days=WEEKDAYS.index(weekday.lower()))


def _nth(today: date, day: int) -> date | None:
    """ "on the 12th": the next 12th of a month, today included."""
    year, month = today.year, today.month
    for _ in range(3):
        try:
            found = date(year, month, day)
            if found >= today:
                return found
        except ValueError:
            pass
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


# (pattern, resolver(match, today) -> (date, precision, part) or None); the first match names the day.
_DayFound = tuple[date, str, str] | None
_DAYS: list[tuple[re.Pattern[str], Callable[[re.Match[str], date], _DayFound]]] = [
    (re.compile(r"\b(?:the\s+)?day\s+after\s+tomorrow\b", _I), lambda m, d: (d + timedelta(days=2), "day", "")),
    (re.compile(r"\b(?:tomorrow|tmrw)\b", _I), lambda m, d: (d + timedelta(days=1), "day", "")),
    (re.compile(r"\btonight\b", _I), lambda m, d: (d, "part", "tonight")),
    (re.compile(r"\bthis\s+(morning|afternoon|evening)\b", _I), lambda m, d: (d, "part", m[1].lower())),
    (re.compile(r"\b(?:later\s+)?today\b", _I), lambda m, d: (d, "day", "")),
    (re.compile(rf"\bin\s+{_COUNT}\s+(day|week)s?\b", _I),
     lambda m, d: (d + timedelta(days=_number(m[1]) * (7 if m[2].lower() == "week" else 1)), "day", "")),
    (re.compile(rf"\bnext\s+{_WEEKDAY}\b", _I), lambda m, d: (_next_week_weekday(d, m[1]), "day", "")),
    (re.compile(r"\bnext\s+week\b", _I), lambda m, d: (d - timedelta(days=d.weekday() - 7), "week", "")),
    (re.compile(r"\bnext\s+weekend\b", _I), lambda m, d: (d - timedelta(days=d.weekday() - 12), "day", "")),
    (re.compile(r"\bthis\s+weekend\b", _I), lambda m, d: (d - timedelta(days=d.weekday() - 5), "day", "")),
    (re.compile(rf"\b(?:on\s+)?(?:the\s+)?{_ORDINAL}\s+(?:of\s+)?{_MONTH}(?:,?\s+(\d{{4}}))?\b", _I),
     lambda m, d: _dated(_forward_date(d, MONTHS[m[2].lower()], int(m[1]), m[3]))),
    (re.compile(rf"\b(?:on\s+)?{_MONTH}\s+{_ORDINAL}(?:,?\s+(\d{{4}}))?\b", _I),
     lambda m, d: _dated(_forward_date(d, MONTHS[m[1].lower()], int(m[2]), m[3]))),
    (re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"), lambda m, d: _dated(_iso(m, d))),
    (re.compile(r"\b(?:on\s+)?the\s+(\d{1,2})(?:st|nd|rd|th)\b", _I), lambda m, d: _dated(_nth(d, int(m[1])))),
    (re.compile(rf"(?<!last )(?<!every )\b(?:on\s+|this\s+(?:coming\s+)?|coming\s+)?{_WEEKDAY}\b", _I),
     lambda m, d: (_weekday_on_or_after(d, m[1]), "day", "")),
]
_AMPM = re.compile(r"\b(?:at\s+)?(\d{1,2})(?:[:.](\d{2}))?\s*([ap])\.?m\b\.?", _I)
_HHMM = re.compile(r"\b(?:at\s+)?([01]?\d|2[0-3])[:h]([0-5]\d)\b", _I)
_NOON = re.compile(r"\b(?:at\s+)?(?:noon|midday)\b", _I)
_PART = re.compile(r"\b(?:in\s+the\s+|at\s+)?(morning|afternoon|evening|night|lunch(?:time)?)\b", _I)
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+|;\s*")


def _dated(found: date | None) -> _DayFound:
    return (found, "day", "") if found else None


def _iso(match: re.Match[str], today: date) -> date | None:
    try:
        found = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
    return found if found >= today else None


def _time_of_day(sentence: str) -> tuple[time, re.Match[str]] | None:
    if match := _AMPM.search(sentence):
        hour = int(match[1]) % 12 + (12 if match[3].lower() == "p" else 0)
        if hour < 24 and int(match[2] or 0) < 60:
            return time(hour, int(match[2] or 0)), match
    if match := _HHMM.search(sentence):
        return time(int(match[1]), int(match[2])), match
    if match := _NOON.search(sentence):
        return time(12), match
    return None


def _at(day: date, hours: float, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz) + timedelta(hours=hours)


def event_time(sentence: str, said_at: datetime) -> tuple[EventTime, list[re.Match[str]]] | None:
    """When the event a sentence names is, read at `said_at` (an aware local time), and the time
    phrases it was read from; None if it names no coming day or is not a one-off future plan."""
    if _HABITUAL.search(sentence):
        return None
    today, tz = said_at.date(), said_at.tzinfo
    assert tz is not None
    for pattern, resolve in _DAYS:
        match = pattern.search(sentence)
        found = resolve(match, today) if match else None
        if match and found:
            break
    else:
        return None
    day, precision, part = found
    weekday = precision == "day" and pattern is _DAYS[-1][0]
    if (weekday or day == today) and _PAST.search(sentence):
        return None  # "on Monday I went climbing", "we had dinner at Luigi's tonight": already happened
    phrases = [match]
    clock = _time_of_day(sentence)
    if clock and precision in ("day", "part"):
        moment, phrase = clock
        if part == "tonight" and moment.hour < 12:
            moment = time(moment.hour + 12, moment.minute)
        start = datetime.combine(day, moment, tzinfo=tz)
        end, precision, phrases = start + timedelta(hours=1), "time", [match, phrase]
        due = start + timedelta(hours=2)
        if due.hour >= LATE_HOUR or due.date() > day:
            due = _at(day + timedelta(days=1), MORNING_HOUR, tz)
    else:
        if not part and precision == "day" and (named := _PART.search(sentence)):
            part, precision = named[1].lower().removesuffix("time"), "part"
            if part != "lunch":  # "lunch with Ana" is the event itself
                phrases.append(named)
        if precision == "part":
            begin, finish, due_hours = PARTS[part]
            start, end, due = _at(day, begin, tz), _at(day, finish, tz), _at(day, due_hours, tz)
        elif precision == "week":
            start, end, due = _at(day, 0, tz), _at(day, 24 * 7, tz), _at(day, 24 * 4 + DAY_DUE_HOUR, tz)
        else:
            start, end, due = _at(day, 0, tz), _at(day, 24, tz), _at(day, DAY_DUE_HOUR, tz)
    if end <= said_at:
        return None  # "this morning", said in the evening: already over
    return EventTime(start, end, precision, due), phrases


def topic_of(event: str) -> str:
    """Two content words of an event ("going to the hospital" -> "hospital")."""
    words = re.findall(r"[a-zà-ÿ][\w'’-]*", event.lower())
    content = [w for w in words if w not in _STOP and not (w.endswith("ing") and w not in _KEEP_ING)]
    return " ".join(content[:2]) or " ".join(words[:2]) or "plans"


_OPENING = re.compile(r"^(?:i'm|i am|i'll|i will|we're|we are|we'll|we will|i've got|i have|we have|i|we)\s+"
                      r"(?:(?:going|off|have|need|got)\s+to\s+|gonna\s+)?", _I)


def gist(event: str) -> str:
    """An event without its speaker's opening ("I'm going to the hospital" -> "the hospital")."""
    return _OPENING.sub("", event).strip() or event


def relative(moment: datetime, precision: str, now: datetime) -> str:
    """When an event was, said from `now`: "this morning", "yesterday at 15:00", "Monday 4 May"."""
    local = moment.astimezone(now.tzinfo)
    days = (now.date() - local.date()).days
    said = describe(local, precision)
    if days not in (0, 1):
        return said
    part = said.split(", ")[1] if precision == "part" else ""
    if days == 0:
        return f"this {part}" if part in ("morning", "afternoon", "evening") else (
            f"today at {local:%H:%M}" if precision == "time" else f"today{', ' + part if part else ''}")
    return f"yesterday {part}".strip() if precision != "time" else f"yesterday at {local:%H:%M}"


def same_topic(one: str, other: str) -> bool:
    """Topics share a content word ("dentist" and "dentist filling")."""
    return bool(set(one.split()) & set(other.split()))


def sentences(text: str) -> Iterator[str]:
    for part in _SENTENCES.split(text):
        part = part.strip(" \t-*•>#")
        if part:
            yield part


def extract(text: str, said_at: datetime) -> list[Draft]:
    """The follow-ups in a text written or said at `said_at` (aware; its zone is the owner's)."""
    drafts = []
    for sentence in sentences(text):
        if sentence.rstrip().endswith("?") or len(sentence) > 400:
            continue  # a question asks; a huge line is not a plan
        found = event_time(sentence, said_at)
        if found is None:
            continue
        when, phrases = found
        event = sentence
        for phrase in sorted(phrases, key=lambda m: m.start(), reverse=True):
            event = event[: phrase.start()] + " " + event[phrase.end():]
        event = re.sub(r"\s+([,.;:!?])", r"\1", " ".join(event.split())).strip(" ,.;:!-")
        if event:
            drafts.append(Draft(sentence[:300], event[:200], topic_of(event), when))
    return drafts


def from_record(record: Record, tz: tzinfo, owner: str = "") -> list[Draft]:
    """The follow-ups a stored record holds: none from SecondMe's own words, a guest's, or someone
    else's messages."""
    if record.kind in NOT_EVENTS or record.origin.startswith("guest:"):
        return []
    if record.kind == "forwarded_message":
        return []
    if record.speaker and record.kind != "own_message" and record.speaker.lower() != owner.lower():
        return []  # someone else's message in a chat export
    if record.source == "conversation" and record.kind != "turn":
        return []
    return extract(record.text, record.time.astimezone(tz))


class FollowUps:
    """The follow-ups table (event text encrypted like records)."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    def add(self, record: Record, draft: Draft, now: datetime) -> FollowUp | None:
        """Store a follow-up found in `record`; None when it is stale or already known (same topic and time)."""
        if draft.when.due < now - EXPIRES_AFTER:
            return None
        cipher = self._store.cipher
        secret = record.sensitivity == Sensitivity.SECRET
        payload = cipher.encrypt(json.dumps({"text": draft.text, "event": draft.event, "topic": draft.topic}))
        follow_id = uuid.uuid4().hex[:12]
        due = draft.when.due.astimezone(UTC)
        changed = self._store.write(
            "INSERT OR IGNORE INTO followups (id, record_id, topic_key, payload, event_at, due_at, due_ts, precision, "
            "sensitivity, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (follow_id, record.id, cipher.keyed_hash(draft.topic), payload, draft.when.start.isoformat(),
             due.isoformat(), due.timestamp(), draft.when.precision, str(record.sensitivity),
             "secret" if secret else "pending", now.isoformat()))
        return self.get(follow_id) if changed else None

    def _rows(self, where: str, params: tuple = ()) -> list[FollowUp]:
        rows = self._store.query(
            "SELECT id, record_id, payload, event_at, due_at, precision, sensitivity, status, created_at "
            f"FROM followups {where}", params)
        found = []
        for follow_id, record_id, payload, event_at, due_at, precision, sensitivity, status, created in rows:
            fields = json.loads(self._store.cipher.decrypt(payload))
            found.append(FollowUp(follow_id, record_id, fields["text"], fields["event"], fields["topic"],
                                  datetime.fromisoformat(event_at), datetime.fromisoformat(due_at), precision,
                                  Sensitivity(sensitivity), status, datetime.fromisoformat(created)))
        return found

    def get(self, follow_id: str) -> FollowUp | None:
        found = self._rows("WHERE id = ?", (follow_id,))
        return found[0] if found else None

    def all(self, statuses: tuple[str, ...] = ()) -> list[FollowUp]:
        """Follow-ups by due time, of these statuses (all when empty)."""
        if not statuses:
            return self._rows("ORDER BY due_ts")
        marks = ", ".join("?" * len(statuses))
        return self._rows(f"WHERE status IN ({marks}) ORDER BY due_ts", statuses)

    def pending(self) -> list[FollowUp]:
        return self.all(("pending",))

    def due(self, now: datetime) -> list[FollowUp]:
        """Pending follow-ups whose time has come."""
        return self._rows("WHERE status = 'pending' AND due_ts <= ? ORDER BY due_ts", (now.timestamp(),))

    def resolve(self, follow_id: str, status: str, now: datetime) -> bool:
        return bool(self._store.write("UPDATE followups SET status = ?, resolved_at = ? WHERE id = ?",
                                      (status, now.isoformat(), follow_id)))

    def tidy(self, now: datetime) -> int:
        """Expire pending follow-ups past EXPIRES_AFTER and drop those whose record was forgotten."""
        dropped = self._store.write("UPDATE followups SET status = 'dropped', resolved_at = ? WHERE status = "
                                    "'pending' AND record_id NOT IN (SELECT id FROM records)", (now.isoformat(),))
        expired = self._store.write("UPDATE followups SET status = 'expired', resolved_at = ? "
                                    "WHERE status = 'pending' AND due_ts < ?",
                                    (now.isoformat(), (now - EXPIRES_AFTER).timestamp()))
        return expired + dropped
