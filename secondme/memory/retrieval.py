"""The retrieval pipeline: understand the question, search records and summaries, rank them as one list."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from secondme.core.types import Record, SearchHit
from secondme.memory.query import QueryPlan, understand
from secondme.memory.search import families_sql, in_families
from secondme.memory.store import MemoryStore

Level = Literal["raw", "segment", "topic"]
SUMMARY_KINDS: dict[str, Level] = {"segment": "segment", "topic": "topic"}
_CHAIN_MAX = 8  # links of a chain of replacements followed, a bound on the reads of one question


@dataclass(frozen=True)
class RetrievalConfig:
    """The ranking's knobs: a score is the search's fused score times the level's weight, a recency
    factor (1 + recency_weight at age 0, halving every half-life) and a name factor (1 + name_bonus
    times the share of the question's people and places found in the memory's people and place
    fields: a mention in its text already counts in keyword search); a replaced fact's score
    is multiplied by superseded_factor. While the question names a time, summaries weigh
    filtered_summary_weight at the most, so that the raw records of that time come first."""

    raw_weight: float = 1.0
    segment_weight: float = 1.15
    topic_weight: float = 1.3
    filtered_summary_weight: float = 0.9
    window_boost: float = 1.5  # for records inside a named date that does not look back from now
    window_only_factor: float = 0.5  # for records found only by the search limited to that date
    recency_weight: float = 0.1
    recency_half_life_days: float = 30.0
    name_bonus: float = 0.2
    superseded_factor: float = 0.5
    candidates: int = 40
    max_summaries: int | None = None  # summaries kept in the top k at most (None: no limit)


@dataclass(frozen=True)
class Memory:
    """A retrieved memory: the search hit, its level, whether a newer record replaced it (and which)."""

    hit: SearchHit
    level: Level
    outdated: bool = False
    superseded_by: str | None = None
    score: float = 0.0

    @property
    def record(self) -> Record:
        return self.hit.record


def level_of(record: Record) -> Level:
    """ "segment" or "topic" for a summary, "raw" for anything else."""
    return SUMMARY_KINDS.get(record.kind, "raw")


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values))


def summarising(store: MemoryStore, ids: Sequence[str], families: Sequence[str]) -> set[str]:
    """The summaries among `ids` that stand for a record of these source families (through
    other summaries too: topic -> segment -> record)."""
    if not families or not ids:
        return set()
    condition, params = families_sql(families)
    rows = store.query(
        "WITH RECURSIVE covered(summary_id, record_id) AS ("
        f"SELECT summary_id, record_id FROM summary_links WHERE summary_id IN ({_marks(ids)}) "
        "UNION SELECT c.summary_id, l.record_id FROM covered c JOIN summary_links l ON l.summary_id = c.record_id) "
        f"SELECT DISTINCT c.summary_id FROM covered c JOIN records r ON r.id = c.record_id WHERE {condition}",
        [*ids, *params],
    )
    return {summary_id for (summary_id,) in rows}


class Retriever:
    """Memories for a question, ranked over raw records, segment summaries and topic summaries at once."""

    def __init__(
        self,
        store: MemoryStore,
        config: RetrievalConfig = RetrievalConfig(),
        *,
        known_people: Iterable[str] = (),
        known_places: Iterable[str] = (),
    ) -> None:
        self._store = store
        self.config = config
        self._people = tuple(known_people)
        self._places = tuple(known_places)

    def retrieve(
        self, query: str, k: int = 8, *, now: datetime, exclude_sensitivity: Sequence[str] = (),
        exclude_sources: Sequence[str] = (),
    ) -> list[Memory]:
        """The `k` best memories for `query` asked at `now` (which resolves "last weekend" and the like).
        Records of the source families `exclude_sources` are left out, and so are the summaries of any."""
        plan = understand(query, now, self._people, self._places)
        limit = max(self.config.candidates, 3 * k)
        hide = {"exclude_sensitivity": exclude_sensitivity, "exclude_sources": exclude_sources}
        windowed = self._store.search(plan.search_text, limit, since=plan.since, until=plan.until, **hide)
        found = {hit.record.id: hit for hit in windowed}
        scores = {hit.record.id: self._score(hit.record, hit.score, plan, now) for hit in windowed}
        if (plan.since or plan.until) and not _looks_back(plan):
            # "in May", "on 3 May" may name when a planned thing happens, not when it was written
            # down: the whole memory is ranked, records of that time get a boost.
            boost = self.config.window_boost
            scores = {i: s * self.config.window_only_factor for i, s in scores.items()}
            for hit in self._store.search(plan.search_text, limit, **hide):
                found[hit.record.id] = hit
                score = self._score(hit.record, hit.score, plan, now) * (boost if _in_window(hit.record, plan) else 1)
                scores[hit.record.id] = max(scores.get(hit.record.id, 0.0), score)
        for summary_id in summarising(self._store, [i for i, h in found.items() if level_of(h.record) != "raw"],
                                      exclude_sources):
            del found[summary_id], scores[summary_id]
        replaced = self._replacements(found, plan, exclude_sensitivity, exclude_sources)
        for old, new in replaced.items():  # in the order found, so a chain passes its score along
            if new in found:  # (a replacement the question may not see is left out)
                scores[new] = max(scores.get(new, 0.0), scores[old])
        for old in replaced:
            scores[old] *= self.config.superseded_factor
        ranked = sorted(scores, key=lambda record_id: (-scores[record_id], -found[record_id].record.time.timestamp()))
        ranked = self._capped(ranked, found)
        return [
            Memory(found[i], level_of(found[i].record), i in replaced, replaced.get(i), scores[i]) for i in ranked[:k]
        ]

    def _capped(self, ranked: list[str], found: dict[str, SearchHit]) -> list[str]:
        """The ranking with summaries past `max_summaries` moved behind the raw records."""
        cap = self.config.max_summaries
        if cap is None:
            return ranked
        summaries = [i for i in ranked if level_of(found[i].record) != "raw"]
        kept = set(summaries[:cap])
        return [i for i in ranked if i in kept or i not in summaries] + summaries[cap:]

    def _score(self, record: Record, fused: float, plan: QueryPlan, now: datetime) -> float:
        config = self.config
        level = level_of(record)
        weight = {"raw": config.raw_weight, "segment": config.segment_weight, "topic": config.topic_weight}[level]
        if level != "raw" and (plan.since or plan.until):
            weight = min(weight, config.filtered_summary_weight)
        age_days = max((now - record.time).total_seconds(), 0.0) / 86400
        factor = weight * (1 + config.recency_weight * 0.5 ** (age_days / config.recency_half_life_days))
        names = plan.people + plan.places
        if names:
            tagged = {name.lower() for name in (*record.people, record.place)}
            factor *= 1 + config.name_bonus * sum(name.lower() in tagged for name in names) / len(names)
        return fused * factor

    def _allowed(
        self, records: list[Record], exclude_sensitivity: Sequence[str], exclude_sources: Sequence[str]
    ) -> list[Record]:
        """The records these sensitivities and source families allow; a summary of any record of
        those families is left out too."""
        covering = summarising(self._store, [r.id for r in records if level_of(r) != "raw"], exclude_sources)
        return [r for r in records if str(r.sensitivity) not in exclude_sensitivity
                and not in_families(r.source, exclude_sources) and r.id not in covering]

    def _replacements(
        self, found: dict[str, SearchHit], plan: QueryPlan, exclude_sensitivity: Sequence[str],
        exclude_sources: Sequence[str],
    ) -> dict[str, str]:
        """{replaced id: replacing id} for the candidates and their replacements, in chain order.
        Replacements not among the candidates are added to `found` when the question's time
        window, sensitivity and sources allow them; the others still mark what they replace as outdated."""
        replaced: dict[str, str] = {}
        pending = list(found)
        for _ in range(_CHAIN_MAX):
            if not pending:
                break
            rows = self._store.query(
                f"SELECT record_id, superseded_by FROM supersessions WHERE record_id IN ({_marks(pending)})", pending
            )
            fresh = [new for old, new in rows if new not in found]
            pending = []
            for record in self._allowed(self._store.records(list(dict.fromkeys(fresh))), exclude_sensitivity,
                                        exclude_sources):
                if _in_window(record, plan):
                    found[record.id] = SearchHit(record, 0.0)
                    pending.append(record.id)
            replaced |= {old: new for old, new in rows if old not in replaced}
        return replaced

    def expand(
        self, memory: Memory, exclude_sensitivity: Sequence[str] = (), exclude_sources: Sequence[str] = ()
    ) -> list[Record]:
        """The raw records a summary stands for (following topic -> segment -> record links) that
        these sensitivities and source families allow, oldest first; a raw memory expands to its own record."""
        if memory.level == "raw":
            return [memory.record]
        seen = {memory.record.id}
        frontier = [memory.record.id]
        linked: list[str] = []
        while frontier:
            rows = self._store.query(
                f"SELECT record_id FROM summary_links WHERE summary_id IN ({_marks(frontier)})", frontier
            )
            frontier = [record_id for (record_id,) in rows if record_id not in seen]
            seen.update(frontier)
            linked += frontier
        allowed = self._allowed(self._store.records(linked), exclude_sensitivity, exclude_sources)
        records = [record for record in allowed if level_of(record) == "raw"]
        return sorted(records, key=lambda record: record.time)


_LOOKING_BACK = ("yesterday", "last", "ago", "this", "today", "tonight", "earlier")


def _looks_back(plan: QueryPlan) -> bool:
    """Whether the time phrase names a stretch of the past relative to now ("last weekend",
    "yesterday", "3 days ago"): then only records of that time answer it."""
    phrase = plan.text.lower()
    for word in plan.search_text.lower().split():
        phrase = phrase.replace(word, " ", 1)
    return any(word in phrase.split() for word in _LOOKING_BACK)


def _in_window(record: Record, plan: QueryPlan) -> bool:
    return (plan.since is None or record.time >= plan.since) and (plan.until is None or record.time <= plan.until)
