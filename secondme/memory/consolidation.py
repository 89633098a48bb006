"""Consolidation: raw records -> segment summaries -> topics -> profile, one atomic window at a time."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from threading import Event
from typing import Any, TypeVar

from secondme.core.protocols import ChatMessage, ChatModel, GenerationOptions
from secondme.core.types import NewRecord, Record
from secondme.errors import ModelError
from secondme.memory import segments, topics
from secondme.memory.profile import Profile, Proposal
from secondme.memory.profile import parse as parse_proposals
from secondme.memory.store import Batch, MemoryStore
from secondme.progress import Progress, ProgressCallback, no_progress

T = TypeVar("T")
TRIES = 3  # the first answer at temperature 0, then two retries with other seeds
_RETRY_TEMPERATURE = 0.7
_KINDS = ", ".join(f"'{kind}'" for kind in segments.NOT_SUMMARISED)
_PENDING = (f"FROM records r WHERE kind NOT IN ({_KINDS}) "
            "AND NOT EXISTS (SELECT 1 FROM summary_links l WHERE l.record_id = r.id)")


class StepFailed(Exception):
    """A model step gave no valid answer in TRIES tries."""


@dataclass
class Report:
    """What a run did."""

    segments: int = 0
    covered: int = 0  # raw records now summarised
    topics: int = 0  # topic rewrites
    statements: int = 0  # profile statements added or changed
    failures: int = 0  # steps queued for a later retry in this run
    retried: int = 0  # queued steps that succeeded this time
    pending: int = 0  # raw records still not summarised
    stopped: bool = False
    seconds: float = 0.0


@dataclass(frozen=True)
class Failure:
    """A queued step: its kind (segment, topic, profile), its input record ids, the last error."""

    step: str
    record_ids: tuple[str, ...]
    error: str
    attempts: int


@dataclass(frozen=True)
class _TopicPlan:
    title: str
    old: Record | None
    record: NewRecord
    superseded: tuple[str, ...]


class Consolidator:
    """Turns raw records into summaries with a ChatModel; safe to kill or stop between windows."""

    def __init__(self, store: MemoryStore, model: ChatModel, progress: ProgressCallback = no_progress,
                 options: GenerationOptions = GenerationOptions(max_tokens=400)) -> None:
        self._store = store
        self._model = model
        self._progress = progress
        self._options = options
        self.profile = Profile(store)

    def pending(self) -> int:
        """How many raw records no segment summarises yet."""
        return pending(self._store)

    def failures(self) -> list[Failure]:
        rows = self._store.query(
            "SELECT step, record_ids, error, attempts FROM consolidation_failures ORDER BY failed_at")
        return [Failure(step, tuple(json.loads(ids)), error, attempts) for step, ids, error, attempts in rows]

    def run(self, progress: ProgressCallback | None = None, limit: int | None = None, stop: Event | None = None,
            only_failed: bool = False) -> Report:
        """Retry queued steps, then summarise pending records (at most `limit` windows) unless `only_failed`."""
        progress = progress or self._progress
        started = time.monotonic()
        report = Report()
        queued = self.failures()
        for failure in queued:
            if stop is not None and stop.is_set():
                break
            if failure.step != "segment":
                self._retry(failure, report)
        only = {i for f in queued if f.step == "segment" for i in f.record_ids} if only_failed else None
        plan = self._windows(only)[:limit]
        total, done = sum(len(w) for _, w in plan), 0
        previous: dict[str, str] = {}
        progress(Progress("consolidating", done, total, "records"))
        for key, window in plan:
            if stop is not None and stop.is_set():
                report.stopped = True
                break
            previous[key] = self._window(key, window, previous.get(key) or self._last_summary(key), report)
            done += len(window)
            progress(Progress("consolidating", done, total, "records", segments.label(key)))
        self._store.write(f"DELETE FROM consolidation_failures WHERE step = 'segment' AND NOT EXISTS "
                          f"(SELECT 1 {_PENDING} AND r.id IN (SELECT value FROM json_each(record_ids)))")
        report.pending = pending(self._store)
        report.seconds = time.monotonic() - started
        return report

    def _windows(self, only: set[str] | None) -> list[tuple[str, list[Record]]]:
        ids = [i for (i,) in self._store.query(f"SELECT id {_PENDING} ORDER BY time_ts, rowid")]
        streams: dict[str, list[Record]] = {}
        for record in self._store.records([i for i in ids if only is None or i in only]):
            streams.setdefault(segments.group_key(record), []).append(record)
        return [(key, window) for key, records in streams.items() for window in segments.windows(records)]

    def _last_summary(self, key: str) -> str:
        rows = self._store.query("SELECT id FROM records WHERE origin = ? ORDER BY time_ts DESC, rowid DESC LIMIT 1",
                                 (f"segment:{key}",))
        found = self._store.records([rows[0][0]]) if rows else []
        return found[0].text if found else ""

    def _ask(self, messages: list[ChatMessage], schema: dict[str, Any], parse: Callable[[Any], T]) -> T:
        error: Exception | None = None
        for attempt in range(TRIES):
            options = self._options if attempt == 0 else replace(
                self._options, temperature=_RETRY_TEMPERATURE, seed=self._options.seed + attempt)
            try:
                return parse(self._model.complete_json(messages, schema, options))
            except (ModelError, ValueError, TypeError, KeyError, AttributeError) as caught:
                error = caught
        raise StepFailed(f"{type(error).__name__}: {error}")

    def _window(self, key: str, window: list[Record], previous: str, report: Report) -> str:
        """Summarise one window and commit it with its links, topic and profile updates; the new summary."""
        ids = [r.id for r in window]
        related = self._related(window)
        by_label = segments.labels(window, related)
        try:
            summary = self._ask(segments.messages(key, window, previous, related), segments.schema(list(by_label)),
                                segments.parse)
        except StepFailed as failed:
            self._store.write(*_queue_sql("segment", ids, str(failed)))
            report.failures += 1
            return previous
        segment = segments.record(key, window, summary, segments.source_id(ids))
        topic = self._plan_topic(segment)
        proposals = self._plan_profile(segment)
        with self._store.batch() as batch:
            segment_id = (batch.add([segment]) or [_id_of(batch, segment)])[0]
            for record_id in ids:
                batch.execute("INSERT OR IGNORE INTO summary_links (summary_id, record_id) VALUES (?, ?)",
                              (segment_id, record_id))
            batch.execute("DELETE FROM consolidation_failures WHERE step = 'segment' AND record_ids = ?",
                          (_key(ids),))
            times = {r.id: r.time for r in [*window, *related]}
            for old, new in segments.replacements(summary, by_label, times):
                batch.execute("INSERT OR REPLACE INTO supersessions (record_id, superseded_by, noted_at) "
                              "VALUES (?, ?, ?)", (old, new, _now()))
            self._commit_topic(batch, segment_id, topic, report)
            self._commit_profile(batch, segment_id, segment, proposals, report)
        report.segments += 1
        report.covered += len(ids)
        return segment.text

    def _related(self, window: list[Record]) -> list[Record]:
        """Earlier raw records most like the window's records (what a newer record may outdate)."""
        start = min(r.time for r in window)
        inside = {r.id for r in window}
        best: dict[str, tuple[float, Record]] = {}
        for record in window:
            for hit in self._store.search(record.text[:segments.RECORD_CLIP], k=3, until=start):
                found = hit.record
                if found.id not in inside and found.kind not in segments.NOT_SUMMARISED and found.time < start:
                    best[found.id] = max(best.get(found.id, (0.0, found)), (hit.score, found), key=lambda p: p[0])
        ranked = sorted(best.values(), key=lambda pair: -pair[0])
        return sorted((record for _, record in ranked[:segments.RELATED_SHOWN]), key=lambda r: r.time)

    def _plan_topic(self, segment: NewRecord) -> _TopicPlan | StepFailed:
        existing = self._store.records([i for (i,) in self._store.query("SELECT id FROM records WHERE kind = 'topic'")])
        try:
            title = self._ask(topics.assign_messages(existing, segment), topics.ASSIGN_SCHEMA, topics.parse_assignment)
        except StepFailed:  # fall back to words: the closest topic, else one named after the stream
            closest = topics.lexical_topic(segment, existing)
            title = closest.title if closest else segments.label(segment.origin.removeprefix("segment:"))
        old = topics.match(title, existing)
        title = old.title if old else title
        linked = self._store.query("SELECT record_id FROM summary_links WHERE summary_id = ?", (old.id,)) if old else []
        earlier = sorted(self._store.records([i for (i,) in linked]), key=lambda r: r.time)[-topics.EARLIER_SHOWN:]
        try:
            rewrite = self._ask(topics.rewrite_messages(title, old, earlier, segment), topics.rewrite_schema(earlier),
                                lambda value: topics.parse_rewrite(value, earlier))
        except StepFailed as failed:
            return failed
        return _TopicPlan(title, old, topics.record(title, old, segment, rewrite), rewrite.superseded)

    def _plan_profile(self, segment: NewRecord) -> list[Proposal] | StepFailed:
        messages, schema = self.profile.messages(segment.text, segment.time)
        try:
            return self._ask(messages, schema, parse_proposals)
        except StepFailed as failed:
            return failed

    def _commit_topic(self, batch: Batch, segment_id: str, plan: _TopicPlan | StepFailed, report: Report) -> None:
        if isinstance(plan, StepFailed):
            batch.execute(*_queue_sql("topic", [segment_id], str(plan)))
            report.failures += 1
            return
        topic_id = batch.replace_origin(plan.record.origin, [plan.record])[0]
        if plan.old is not None and plan.old.id != topic_id:
            batch.execute("UPDATE summary_links SET summary_id = ? WHERE summary_id = ?", (topic_id, plan.old.id))
        batch.execute("INSERT OR IGNORE INTO summary_links (summary_id, record_id) VALUES (?, ?)",
                      (topic_id, segment_id))
        for record_id in plan.superseded:
            batch.execute("INSERT OR REPLACE INTO supersessions (record_id, superseded_by, noted_at) "
                          "SELECT id, ?, ? FROM records WHERE id = ?", (segment_id, _now(), record_id))
        batch.execute("DELETE FROM consolidation_failures WHERE step = 'topic' AND record_ids = ?",
                      (_key([segment_id]),))
        report.topics += 1

    def _commit_profile(self, batch: Batch, segment_id: str, segment: NewRecord,
                        proposals: list[Proposal] | StepFailed, report: Report) -> None:
        if isinstance(proposals, StepFailed):
            batch.execute(*_queue_sql("profile", [segment_id], str(proposals)))
            report.failures += 1
            return
        report.statements += self.profile.apply(batch, proposals, [segment_id], segment.sensitivity)
        batch.execute("DELETE FROM consolidation_failures WHERE step = 'profile' AND record_ids = ?",
                      (_key([segment_id]),))

    def _retry(self, failure: Failure, report: Report) -> None:
        """Run a queued topic or profile step again on its segment."""
        found = self._store.records(failure.record_ids[:1])
        if not found:  # the segment was forgotten meanwhile: nothing left to do
            self._store.write("DELETE FROM consolidation_failures WHERE step = ? AND record_ids = ?",
                              (failure.step, _key(failure.record_ids)))
            return
        segment = found[0]
        before = report.failures
        if failure.step == "topic":
            topic = self._plan_topic(segment)
            with self._store.batch() as batch:
                self._commit_topic(batch, segment.id, topic, report)
        else:
            proposals = self._plan_profile(segment)
            with self._store.batch() as batch:
                self._commit_profile(batch, segment.id, segment, proposals, report)
        if report.failures == before:
            report.retried += 1


def pending(store: MemoryStore) -> int:
    """How many raw records of this store no segment summarises yet (no model needed)."""
    return store.query(f"SELECT count(*) {_PENDING}")[0][0]


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _key(ids: Sequence[str]) -> str:
    return json.dumps(sorted(ids))


def _queue_sql(step: str, ids: Sequence[str], error: str) -> tuple[str, tuple[object, ...]]:
    """The statement that queues a failed step, or counts one more attempt of it."""
    return (
        "INSERT INTO consolidation_failures (step, record_ids, error, failed_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (step, record_ids) DO UPDATE SET attempts = attempts + 1, error = excluded.error, "
        "failed_at = excluded.failed_at",
        (step, _key(ids), error[:500], _now()),
    )


def _id_of(batch: Batch, record: NewRecord) -> str:
    """The id of a segment stored by an earlier run (same origin and covered records)."""
    rows = batch.rows("SELECT id FROM records WHERE origin = ? AND source_id = ?", (record.origin, record.source_id))
    return rows[0][0]
