"""Query understanding: the time window, people and places a question names, resolved against a clock."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

_MONTH_NAMES = (
    ("january", "jan"),
    ("february", "feb"),
    ("march", "mar"),
    ("april", "apr"),
    ("may",),
    ("june", "jun"),
    ("july", "jul"),
    ("august", "aug"),
    ("september", "sept", "sep"),
    ("october", "oct"),
    ("november", "nov"),
    ("december", "dec"),
)
MONTHS = {name: number for number, names in enumerate(_MONTH_NAMES, start=1) for name in names}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
NUMBERS |= {"eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
PARTS_OF_DAY = {"morning": (5, 12), "afternoon": (12, 18), "evening": (18, 24), "tonight": (18, 24)}

_MONTH = "(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = "(" + "|".join(WEEKDAYS) + ")"
_COUNT = r"(\d+|" + "|".join(NUMBERS) + ")"
_ORDINAL = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(\d{4}))?"

Window = tuple[datetime, datetime]  # local start, local end (exclusive)


@dataclass(frozen=True)
class QueryPlan:
    """What a question asks about. `search_text` is the question without its time phrase (the
    words "last weekend" would only mislead keyword search); `since`/`until` are UTC and both
    inclusive, as the store's filters are, or None when the question names no time."""

    text: str
    search_text: str
    since: datetime | None = None
    until: datetime | None = None
    people: tuple[str, ...] = ()
    places: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Clock:
    """The day a question is asked on, and the time zone its dates are read in."""

    today: date
    tz: tzinfo

    def at(self, day: date, hour: int = 0) -> datetime:
        return datetime.combine(day, time(), tzinfo=self.tz) + timedelta(hours=hour)

    def days(self, first: date, count: int = 1) -> Window:
        return self.at(first), self.at(first + timedelta(days=count))

    def month(self, year: int, month: int) -> Window:
        return self.at(date(year, month, 1)), self.at(date(year + month // 12, month % 12 + 1, 1))

    def months_back(self, count: int) -> Window:
        index = self.today.year * 12 + self.today.month - 1 - count
        return self.month(index // 12, index % 12 + 1)

    def year(self, year: int) -> Window:
        return self.at(date(year, 1, 1)), self.at(date(year + 1, 1, 1))

    def week_of(self, day: date) -> Window:
        """The Monday-to-Monday week holding `day`."""
        return self.days(day - timedelta(days=day.weekday()), 7)

    def last_weekend(self) -> Window:
        """The latest whole weekend (Saturday 00:00 to Monday 00:00) that has ended by now: on a
        Sunday it is the weekend before, as the current one is still going on."""
        monday = self.today - timedelta(days=self.today.weekday())
        return self.days(monday - timedelta(days=2), 2)

    def this_weekend(self) -> Window:
        """The weekend of this Monday-to-Monday week: the coming one from Monday to Friday."""
        return self.days(self.today - timedelta(days=self.today.weekday() - 5), 2)


def _number(word: str) -> int:
    return int(word) if word.isdigit() else NUMBERS[word.lower()]


def _day_of_month(match: re.Match[str], clock: _Clock, day_group: int, month_group: int) -> Window | None:
    """A date like "3 May" or "May 3": in the year given, else the latest one not after today."""
    day, month, year = int(match[day_group]), MONTHS[match[month_group].lower()], match[3]
    try:
        moment = date(int(year or clock.today.year), month, day)
        if not year and moment > clock.today:
            moment = date(clock.today.year - 1, month, day)
    except ValueError:  # 31 February and the like: not a date
        return None
    return clock.days(moment)


def _month_named(match: re.Match[str], clock: _Clock) -> Window:
    """A month like "May" or "May 2025": in the year given, else the latest one begun by now."""
    month, year = MONTHS[match[1].lower()], match[2]
    if year:
        return clock.month(int(year), month)
    return clock.month(clock.today.year - (month > clock.today.month), month)


def _ago(match: re.Match[str], clock: _Clock) -> Window:
    """ "3 days ago" is that day; "two weeks ago" the week, "a month ago" the month, "2 years ago" the year."""
    count, unit = _number(match[1]), match[2].lower()
    if unit == "day":
        return clock.days(clock.today - timedelta(days=count))
    if unit == "week":
        return clock.week_of(clock.today - timedelta(weeks=count))
    if unit == "month":
        return clock.months_back(count)
    return clock.year(clock.today.year - count)


def _weekday(match: re.Match[str], clock: _Clock, strictly_before: bool) -> Window:
    """ "last Monday" is the latest Monday before today; "on Monday" may be today."""
    back = (clock.today.weekday() - WEEKDAYS.index(match[1].lower())) % 7
    return clock.days(clock.today - timedelta(days=7 if back == 0 and strictly_before else back))


def _part_of_day(match: re.Match[str], clock: _Clock) -> Window:
    """ "this morning" is 5:00 to 12:00 today, "this afternoon" 12 to 18, "this evening" and "tonight" 18 to 24."""
    start, end = PARTS_OF_DAY[match[1].lower()]
    return clock.at(clock.today, start), clock.at(clock.today, end)


Resolver = Callable[[re.Match[str], _Clock], Window | None]
# Tried in order; the first pattern that matches (and makes a real date) sets the window.
_PHRASES: list[tuple[str, Resolver]] = [
    (rf"\b(?:on\s+)?(?:the\s+)?{_ORDINAL}\s+(?:of\s+)?{_MONTH}{_YEAR}\b", lambda m, c: _day_of_month(m, c, 1, 2)),
    (rf"\b(?:on\s+)?{_MONTH}\s+{_ORDINAL}{_YEAR}\b", lambda m, c: _day_of_month(m, c, 2, 1)),
    (rf"\b(?:(?:in|during)\s+)?{_MONTH}\s+(\d{{4}})\b", _month_named),
    (rf"\b(?:in|during)\s+{_MONTH}()\b", _month_named),
    (r"\b(?:in|during)\s+(\d{4})\b", lambda m, c: c.year(int(m[1]))),
    (rf"\b{_COUNT}\s+(day|week|month|year)s?\s+ago\b", _ago),
    (r"\blast\s+weekend\b", lambda m, c: c.last_weekend()),
    (r"\bthis\s+weekend\b", lambda m, c: c.this_weekend()),
    (r"\blast\s+week\b", lambda m, c: c.week_of(c.today - timedelta(weeks=1))),
    (r"\bthis\s+week\b", lambda m, c: c.week_of(c.today)),
    (r"\blast\s+month\b", lambda m, c: c.months_back(1)),
    (r"\bthis\s+month\b", lambda m, c: c.months_back(0)),
    (r"\blast\s+year\b", lambda m, c: c.year(c.today.year - 1)),
    (r"\bthis\s+year\b", lambda m, c: c.year(c.today.year)),
    (rf"\blast\s+{_WEEKDAY}\b", lambda m, c: _weekday(m, c, strictly_before=True)),
    (rf"\bon\s+{_WEEKDAY}\b", lambda m, c: _weekday(m, c, strictly_before=False)),
    (r"\blast\s+night\b", lambda m, c: (c.at(c.today, -6), c.at(c.today, 5))),  # 18:00 to 5:00
    (r"\b(tonight)\b", _part_of_day),
    (r"\bthis\s+(morning|afternoon|evening)\b", _part_of_day),
    (r"\byesterday\b", lambda m, c: c.days(c.today - timedelta(days=1))),
    (r"\btoday\b", lambda m, c: c.days(c.today)),
]
_COMPILED = [(re.compile(pattern, re.IGNORECASE), resolve) for pattern, resolve in _PHRASES]


def _named(text: str, names: Iterable[str]) -> tuple[str, ...]:
    """The names, in the order given and without repeats, that stand in `text` as whole words."""
    found = [name for name in dict.fromkeys(names) if name and re.search(rf"\b{re.escape(name)}\b", text, re.I)]
    return tuple(found)


def understand(
    text: str, now: datetime, known_people: Iterable[str] = (), known_places: Iterable[str] = ()
) -> QueryPlan:
    """The plan of a question asked at `now`: relative dates resolve in `now`'s time zone (UTC when
    `now` is naive); people and places are the known names it mentions, matched case-insensitively."""
    people, places = _named(text, known_people), _named(text, known_places)
    clock = _Clock(now.date(), now.tzinfo or UTC)
    for pattern, resolve in _COMPILED:
        match = pattern.search(text)
        window = resolve(match, clock) if match else None
        if match and window:
            rest = " ".join((text[: match.start()] + " " + text[match.end() :]).split())
            since, until = (moment.astimezone(UTC) for moment in window)
            return QueryPlan(text, rest or text, since, until - timedelta(microseconds=1), people, places)
    return QueryPlan(text, text, people=people, places=places)
