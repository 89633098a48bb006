"""Query understanding with a fixed clock: each relative date phrase, people and places."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from secondme.memory.query import understand

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 6, 17, 15, 30, tzinfo=BERLIN)  # a Wednesday afternoon, summer time (UTC+2)
SUNDAY = datetime(2026, 6, 14, 11, 0, tzinfo=BERLIN)


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN)  # type: ignore[misc]


def window(question: str, now: datetime = NOW) -> tuple[datetime, datetime]:
    """The plan's window in Berlin time, its end made exclusive again."""
    plan = understand(question, now)
    assert plan.since is not None and plan.until is not None, question
    assert plan.since.tzinfo == UTC and plan.until.tzinfo == UTC
    return plan.since.astimezone(BERLIN), (plan.until + timedelta(microseconds=1)).astimezone(BERLIN)


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("what did I do yesterday?", local(2026, 6, 16), local(2026, 6, 17)),
        ("what's on today", local(2026, 6, 17), local(2026, 6, 18)),
        ("what did I do last weekend?", local(2026, 6, 13), local(2026, 6, 15)),
        ("plans for this weekend", local(2026, 6, 20), local(2026, 6, 22)),
        ("who did I meet last week", local(2026, 6, 8), local(2026, 6, 15)),
        ("notes from this week", local(2026, 6, 15), local(2026, 6, 22)),
        ("what did I read last month", local(2026, 5, 1), local(2026, 6, 1)),
        ("where was I in May?", local(2026, 5, 1), local(2026, 6, 1)),
        ("trips in August", local(2025, 8, 1), local(2025, 9, 1)),  # the latest August begun by now
        ("what happened in May 2025", local(2025, 5, 1), local(2025, 6, 1)),
        ("dinner on 3 May", local(2026, 5, 3), local(2026, 5, 4)),
        ("the party on the 21st of December", local(2025, 12, 21), local(2025, 12, 22)),
        ("what happened on May 3, 2024", local(2024, 5, 3), local(2024, 5, 4)),
        ("what did I cook 3 days ago", local(2026, 6, 14), local(2026, 6, 15)),
        ("who called two weeks ago", local(2026, 6, 1), local(2026, 6, 8)),
        ("a month ago", local(2026, 5, 1), local(2026, 6, 1)),
        ("holidays in 2023", local(2023, 1, 1), local(2024, 1, 1)),
        ("books I read last year", local(2025, 1, 1), local(2026, 1, 1)),
        ("what did I do last Monday", local(2026, 6, 15), local(2026, 6, 16)),
        ("last Wednesday", local(2026, 6, 10), local(2026, 6, 11)),  # not today: the one before
        ("what happened on Wednesday", local(2026, 6, 17), local(2026, 6, 18)),
        ("what shall I cook tonight", local(2026, 6, 17, 18), local(2026, 6, 18)),
        ("what did I eat this morning", local(2026, 6, 17, 5), local(2026, 6, 17, 12)),
        ("how did I sleep last night", local(2026, 6, 16, 18), local(2026, 6, 17, 5)),
    ],
)
def test_relative_dates_resolve_against_the_clock(question: str, start: datetime, end: datetime) -> None:
    assert window(question) == (start, end)


def test_on_a_sunday_last_weekend_is_the_one_before() -> None:
    assert window("last weekend", SUNDAY) == (local(2026, 6, 6), local(2026, 6, 8))
    assert window("this weekend", SUNDAY) == (local(2026, 6, 13), local(2026, 6, 15))


def test_a_monday_morning_looks_back_at_the_weekend_just_ended() -> None:
    assert window("last weekend", local(2026, 6, 15, 8)) == (local(2026, 6, 13), local(2026, 6, 15))


def test_windows_follow_daylight_saving_time() -> None:
    since, until = window("yesterday", local(2026, 3, 30, 9))  # clocks went forward on 29 March
    assert (since, until) == (local(2026, 3, 29), local(2026, 3, 30))
    assert until.astimezone(UTC) - since.astimezone(UTC) == timedelta(hours=23)


def test_the_window_is_in_utc_and_the_time_phrase_leaves_the_search_text() -> None:
    plan = understand("What did I do last weekend?", NOW)
    assert plan.since == datetime(2026, 6, 12, 22, tzinfo=UTC)
    assert plan.until == datetime(2026, 6, 14, 21, 59, 59, 999999, tzinfo=UTC)
    assert plan.search_text == "What did I do ?"
    assert plan.text == "What did I do last weekend?"


def test_no_time_phrase_means_no_window() -> None:
    plan = understand("Where do I live?", NOW)
    assert (plan.since, plan.until, plan.search_text) == (None, None, "Where do I live?")
    assert understand("I may go to the 5 Mayfair dinner", NOW).since is None
    assert understand("dinner on 31 February", NOW).since is None


def test_a_naive_clock_is_taken_as_utc() -> None:
    plan = understand("yesterday", datetime(2026, 6, 17, 1, 0))
    assert (plan.since, plan.until) == (
        datetime(2026, 6, 16, tzinfo=UTC),
        datetime(2026, 6, 16, 23, 59, 59, 999999, tzinfo=UTC),
    )


def test_people_and_places_match_whole_names_case_insensitively() -> None:
    plan = understand(
        "when did ana and Bob's sister visit lisbon?", NOW, ["Ana", "Bob", "Anabel", "ana"], ["Lisbon", "Berlin"]
    )
    assert plan.people == ("Ana", "Bob", "ana")
    assert plan.places == ("Lisbon",)
