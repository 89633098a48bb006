"""What the memory browser lists: records by query and filters, and the topic pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from secondme.core.types import Record, Sensitivity

if TYPE_CHECKING:
    from secondme.memory.store import MemoryStore

_OVERFETCH = 4  # rows read per result kept, as person and place are filtered after decryption


@dataclass(frozen=True)
class MemoryFilter:
    """What the browser shows: sources (empty: all), a time range, a person or place named in the
    record (case-insensitive part of a name), and the sensitivities shown (empty: all)."""

    sources: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    person: str = ""
    place: str = ""
    sensitivities: tuple[str, ...] = ()

    def hidden(self) -> tuple[str, ...]:
        return tuple(s for s in Sensitivity if self.sensitivities and s not in self.sensitivities)

    def keeps(self, record: Record) -> bool:
        person, place = self.person.lower(), self.place.lower()
        people = [*record.people, record.speaker]
        return (not person or any(person in name.lower() for name in people)) and (
            not place or place in record.place.lower())


def _recent(store: MemoryStore, wanted: MemoryFilter, limit: int) -> list[Record]:
    clauses, params = ["1"], []
    for column, op, value in (("time_ts", ">=", wanted.since), ("time_ts", "<=", wanted.until)):
        if value is not None:
            clauses.append(f"{column} {op} ?")
            params.append(value.timestamp())
    for column, values in (("source", wanted.sources), ("sensitivity", wanted.sensitivities)):
        if values:
            clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
            params.extend(values)
    rows = store.query(f"SELECT id FROM records WHERE {' AND '.join(clauses)} ORDER BY time_ts DESC LIMIT ?",
                       (*params, limit))
    return store.records([i for (i,) in rows])


def find(store: MemoryStore, query: str, wanted: MemoryFilter = MemoryFilter(), k: int = 50) -> list[Record]:
    """Up to `k` records: the best hybrid matches of `query`, or the newest when it is empty."""
    if query.strip():
        hits = store.search(query, k * _OVERFETCH, since=wanted.since, until=wanted.until,
                            sources=wanted.sources or None, exclude_sensitivity=wanted.hidden())
        found = [hit.record for hit in hits]
    else:
        found = _recent(store, wanted, k * _OVERFETCH)
    return [r for r in found if wanted.keeps(r)][:k]


def topic_pages(store: MemoryStore, limit: int = 200) -> list[Record]:
    """The topic summaries consolidation wrote, latest first."""
    rows = store.query("SELECT id FROM records WHERE kind = 'topic' ORDER BY time_ts DESC LIMIT ?", (limit,))
    return store.records([i for (i,) in rows])


def sources(store: MemoryStore) -> list[str]:
    """Every source with stored records, for a filter's choices."""
    return sorted(store.counts_by_source())
