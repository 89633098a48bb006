"""The daily digest (opt-in): a morning message summarising yesterday from memory.

What happened yesterday (notes, meetings, messages, places; never secret ones, never SecondMe's
own replies) is summarised by one schema-bounded model call; the places and the open loops of the
working memory are listed by code, so they are exact.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from secondme.companion.followups import NOT_EVENTS
from secondme.companion.steps import text
from secondme.core.protocols import ChatMessage
from secondme.core.types import Record
from secondme.memory.store import MemoryStore

RECORDS_SHOWN = 20
RECORD_CLIP = 180
SCHEMA: dict[str, Any] = {"type": "object", "properties": {"summary": {"type": "string", "maxLength": 420}},
                          "required": ["summary"]}


def yesterday(store: MemoryStore, now: datetime) -> list[Record]:
    """The owner's records of the local day before `now`, oldest first (secret ones and summaries left out)."""
    start = datetime.combine(now.date() - timedelta(days=1), time(), tzinfo=now.tzinfo)
    kinds = ", ".join(f"'{kind}'" for kind in NOT_EVENTS)
    rows = store.query(f"SELECT id FROM records WHERE time_ts >= ? AND time_ts < ? AND sensitivity != 'secret' "
                       f"AND kind NOT IN ({kinds}) AND origin NOT LIKE 'guest:%' ORDER BY time_ts, rowid",
                       (start.timestamp(), (start + timedelta(days=1)).timestamp()))
    return store.records([i for (i,) in rows])


def messages(records: list[Record], now: datetime, owner: str) -> list[ChatMessage]:
    who = owner or "the user"
    shown = records[-RECORDS_SHOWN:]
    lines = [f"- {r.time.astimezone(now.tzinfo):%H:%M} {r.title + ': ' if r.title else ''}"
             f"{' '.join(r.text.split())[:RECORD_CLIP]}{' @ ' + r.place if r.place else ''}" for r in shown]
    system = (f"You are SecondMe, {who}'s second self. Write {who} a short good-morning digest of yesterday: "
              "where they were, who they met, what they noted or decided, in two to four plain sentences "
              f"addressed to {who} as 'you'. Only what the notes say.")
    user = (f"Yesterday was {(now - timedelta(days=1)):%A %d %B %Y}. What memory holds of it:\n" + "\n".join(lines)
            + "\nAnswer as JSON.")
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def parse(value: Any) -> str:
    summary = text(value, "summary", 420)
    if not summary:
        raise ValueError("empty summary")
    return summary


def compose(summary: str, records: list[Record], open_loops: list[str]) -> str:
    places = list(dict.fromkeys(r.place for r in records if r.place))
    parts = [f"Good morning! Yesterday: {summary}"]
    if places:
        parts.append("Places: " + ", ".join(places[:6]) + ".")
    if open_loops:
        parts.append("Still open: " + "; ".join(open_loops[:4]) + ".")
    return "\n".join(parts)
