"""Consolidation: raw records -> segment summaries -> topics -> profile, in resumable steps.

One model call summarises a window of records (and names its topic and what it outdates); the
segment is committed at once. Later in the run each topic is rewritten once with all its new
segments, and the profile is updated from new segments a few at a time. What still waits for a
step is read from the database (segments no topic links, segments the profile has not seen), so
a run killed anywhere is finished by the next one, and a step the model fails stays queued.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from threading import Event
from typing import Any, TypeVar

from secondme.core.protocols import ChatMessage, ChatModel, GenerationOptions
from secondme.core.types import Record
from secondme.errors import ModelError
from secondme.memory import profile_reading, segments, topics
from secondme.memory.profile import Profile, Proposal
from secondme.memory.store import MemoryStore
from secondme.progress import Progress, ProgressCallback, no_progress

T = TypeVar("T")
TRIES = 3  # the first answer at temperature 0, then two retries with other seeds
TOPIC_BATCH = 4  # new segments merged into a topic by one call
PROFILE_BATCH = 6  # new segments read together for the profile (one call per section question)
TOPICS_SHOWN = 30
_RETRY_TEMPERATURE = 0.7
_KINDS = ", ".join(f"'{kind}'" for kind in segments.NOT_SUMMARISED)
_PENDING = (f"FROM records r WHERE kind NOT IN ({_KINDS}) "
            "AND NOT EXISTS (SELECT 1 FROM summary_links l WHERE l.record_id = r.id)")
_TOPIC_PENDING = ("FROM records r WHERE r.kind = 'segment' AND NOT EXISTS (SELECT 1 FROM summary_links l "
                  "JOIN records t ON t.id = l.summary_id AND t.kind = 'topic' WHERE l.record_id = r.id)")
_PROFILE_PENDING = ("FROM records r WHERE r.kind = 'segment' "
                    "AND NOT EXISTS (SELECT 1 FROM profile_done d WHERE d.segment_id = r.id)")
_DONE = {"segment": _PENDING, "topic": _TOPIC_PENDING, "profile": _PROFILE_PENDING}


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


class Consolidator:
    """Turns `owner`'s raw records into summaries with a ChatModel; safe to kill, or to stop between steps."""

    def __init__(self, store: MemoryStore, model: ChatModel, progress: ProgressCallback = no_progress,
                 options: GenerationOptions = GenerationOptions(max_tokens=400), owner: str = "") -> None:
        self._store = store
        self._owner = owner
        self._model = model
        self._progress = progress
        self._options = options
        self.profile = Profile(store)

    def pending(self) -> int:
        """How many raw records no segment summarises yet."""
        return pending(self._store)

    def failures(self) -> list[Failure]:
        rows = self._store.query(
            "SELECT step, record_ids, payload, attempts FROM consolidation_failures ORDER BY failed_at")
        decrypt = self._store.cipher.decrypt
        return [Failure(step, tuple(json.loads(ids)), decrypt(error), attempts) for step, ids, error, attempts in rows]

    def run(self, progress: ProgressCallback | None = None, limit: int | None = None, stop: Event | None = None,
            only_failed: bool = False) -> Report:
        """Summarise pending records (at most `limit` windows; with `only_failed`, only the windows that
        failed before), then bring topics and the profile up to date with every new segment."""
        progress = progress or self._progress
        started = time.monotonic()
        report = Report()
        only = {i for f in self.failures() if f.step == "segment" for i in f.record_ids} if only_failed else None
        plan = self._windows(only)[:limit]
        total, done = sum(len(w) for _, w in plan), 0
        previous: dict[str, Record | None] = {}
        progress(Progress("summarising", done, total, "records"))
        for key, window in plan:
            if stop is not None and stop.is_set():
                report.stopped = True
                break
            before = previous[key] if key in previous else self._last_segment(key)
            continues = before is not None and window[0].time - before.time <= segments.EPISODE_GAP
            text = self._window(key, window, before.text if continues and before else "", report)
            previous[key] = replace(window[-1], text=text)
            done += len(window)
            progress(Progress("summarising", done, total, "records", segments.label(key)))
        if not report.stopped:
            report.stopped = not self._topics(report, progress, stop) or not self._profile(report, progress, stop)
        for step, waiting in _DONE.items():  # queued failures whose work got done meanwhile
            self._store.write(f"DELETE FROM consolidation_failures WHERE step = ? AND NOT EXISTS (SELECT 1 {waiting} "
                              "AND r.id IN (SELECT value FROM json_each(record_ids)))", (step,))
        report.pending = pending(self._store)
        report.seconds = time.monotonic() - started
        return report

    def _windows(self, only: set[str] | None) -> list[tuple[str, list[Record]]]:
        ids = [i for (i,) in self._store.query(f"SELECT id {_PENDING} ORDER BY time_ts, rowid")]
        streams: dict[str, list[Record]] = {}
        for record in self._store.records([i for i in ids if only is None or i in only]):
            streams.setdefault(segments.group_key(record), []).append(record)
        return [(key, window) for key, records in streams.items() for window in segments.windows(records)]

    def _last_segment(self, key: str) -> Record | None:
        """The latest summary of a stream (its time is that of the last record it covers)."""
        rows = self._store.query("SELECT id FROM records WHERE origin = ? ORDER BY time_ts DESC, rowid DESC LIMIT 1",
                                 (self._store.origin_key(f"segment:{key}"),))
        found = self._store.records([rows[0][0]]) if rows else []
        return found[0] if found else None

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

    def _queue(self, step: str, ids: Sequence[str], failed: StepFailed, report: Report) -> None:
        self._store.write(
            "INSERT INTO consolidation_failures (step, record_ids, payload, failed_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (step, record_ids) DO UPDATE SET attempts = attempts + 1, payload = excluded.payload, "
            "failed_at = excluded.failed_at",
            (step, json.dumps(sorted(ids)), self._store.cipher.encrypt(str(failed)[:500]), _now()))
        report.failures += 1

    def _existing_topics(self) -> list[Record]:
        """The topic pages, latest first."""
        rows = self._store.query("SELECT id FROM records WHERE kind = 'topic' ORDER BY time_ts DESC")
        return self._store.records([i for (i,) in rows])

    def _topic_titles(self) -> list[str]:
        return [topic.title for topic in self._existing_topics()[:TOPICS_SHOWN]]

    def _window(self, key: str, window: list[Record], previous: str, report: Report) -> str:
        """Summarise one window and commit it with its links, its topic title and the earlier records
        it outdates; the new summary (or `previous` when the model failed)."""
        ids = [r.id for r in window]
        try:
            summary = self._summary(key, window, previous)
        except StepFailed as failed:
            self._queue("segment", ids, failed, report)
            return previous
        replaced = self._outdated(window)
        segment = segments.record(key, window, summary, segments.source_id(ids))
        with self._store.batch() as batch:
            segment_id = (batch.add([segment]) or [_id_of(batch, self._store.origin_key(segment.origin),
                                                          self._store.source_key(segment.source_id))])[0]
            batch.executemany("INSERT OR IGNORE INTO summary_links (summary_id, record_id) VALUES (?, ?)",
                              [(segment_id, record_id) for record_id in ids])
            batch.executemany("INSERT OR REPLACE INTO supersessions (record_id, superseded_by, noted_at) "
                              "VALUES (?, ?, ?)", [(old, new, _now()) for old, new in replaced])
            if replaced:
                _outdate_summaries(batch, [old for old, _ in replaced], segment_id)
            batch.execute("INSERT OR REPLACE INTO segment_topics (segment_id, payload) VALUES (?, ?)",
                          (segment_id, self._store.cipher.encrypt(summary.topic)))
        report.segments += 1
        report.covered += len(ids)
        return segment.text

    def _summary(self, key: str, window: list[Record], previous: str) -> segments.Summary:
        """The window's summary, with what came before it as context; when the model only repeats
        that, once more without it."""
        prompt = partial(segments.messages, key, window, topics=self._topic_titles(), owner=self._owner)
        try:
            return self._ask(prompt(previous), segments.SCHEMA, partial(segments.parse, previous=previous))
        except StepFailed:
            if not previous:
                raise
        return self._ask(prompt(""), segments.SCHEMA, segments.parse)

    def _outdated(self, window: list[Record]) -> list[tuple[str, str]]:
        """(old id, new id) for the earlier records that a record of the window makes out of date: the
        records that speak of a change, and the earlier records most like them, are put to the model
        pair by pair as a yes/no question."""
        changing = [r for r in window if segments.CHANGE_WORDS.search(r.text)]
        related = self._related(changing) if changing else []
        if not related:
            return []
        similar = self._store.similarity([r.text for r in changing], [e.text for e in related])
        pairs = sorted(((similar[i][j], i, j) for i in range(len(changing)) for j in range(len(related))
                        if similar[i][j] >= segments.SIMILAR), reverse=True)[:segments.RELATED_SHOWN]
        replaced = []
        for _, i, j in pairs:
            earlier, later = related[j], changing[i]
            try:
                if self._ask(segments.outdated_messages((earlier.time, earlier.text), (later.time, later.text)),
                             segments.OUTDATED_SCHEMA,
                             segments.parse_outdated):
                    replaced.append((earlier.id, later.id))
            except StepFailed:  # an unanswered check leaves both records as they are
                continue
        return replaced

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

    def _waiting(self, sql: str) -> list[Record]:
        return self._store.records([i for (i,) in self._store.query(f"SELECT r.id {sql} ORDER BY r.time_ts, r.rowid")])

    def _topics(self, report: Report, progress: ProgressCallback, stop: Event | None) -> bool:
        """Merge every segment no topic holds yet into its topic, a few segments per call; False if stopped."""
        waiting = self._waiting(_TOPIC_PENDING)
        titles = {segment_id: self._store.cipher.decrypt(payload)
                  for segment_id, payload in self._store.query("SELECT segment_id, payload FROM segment_topics")}
        existing = self._existing_topics()
        named = [titles.get(segment.id) or self._unnamed(segment, existing) for segment in waiting]
        groups: dict[str, tuple[str, list[Record]]] = {}
        for segment, title in zip(waiting, topics.assign(named, [t.title for t in existing], self._store.similarity),
                                  strict=True):
            groups.setdefault(topics.slug(title), (title, []))[1].append(segment)
        done = 0
        for title, members in groups.values():
            for start in range(0, len(members), TOPIC_BATCH):
                if stop is not None and stop.is_set():
                    return False
                self._topic(title, members[start:start + TOPIC_BATCH], report)
                done += len(members[start:start + TOPIC_BATCH])
                progress(Progress("topics", done, len(waiting), "summaries", title))
        return True

    @staticmethod
    def _unnamed(segment: Record, existing: Sequence[Record]) -> str:
        """The topic of a segment the model gave no title: the topic sharing its words, else its stream."""
        topic = topics.lexical_topic(segment.text, existing)
        return topic.title if topic else segments.label(segment.origin.removeprefix("segment:"))

    def _topic(self, title: str, new: list[Record], report: Report) -> None:
        old = topics.match(title, self._existing_topics())
        linked = self._store.query("SELECT record_id FROM summary_links WHERE summary_id = ?", (old.id,)) if old else []
        earlier = sorted(self._store.records([i for (i,) in linked]), key=lambda r: r.time)[-topics.EARLIER_SHOWN:]
        try:
            rewrite = self._ask(topics.rewrite_messages(title, old, earlier, new), topics.rewrite_schema(earlier),
                                lambda value: topics.parse_rewrite(value, earlier))
        except StepFailed as failed:
            self._queue("topic", [r.id for r in new], failed, report)
            return
        newest = max(new, key=lambda r: r.time).id
        page = topics.record(title, old, new, rewrite)
        with self._store.batch() as batch:
            topic_id = batch.replace_origin(page.origin, [page])[0]
            if old is not None and old.id != topic_id:
                batch.execute("UPDATE summary_links SET summary_id = ? WHERE summary_id = ?", (topic_id, old.id))
                batch.execute("DELETE FROM supersessions WHERE record_id = ?", (old.id,))  # rewritten: current
            batch.executemany("INSERT OR IGNORE INTO summary_links (summary_id, record_id) VALUES (?, ?)",
                              [(topic_id, r.id) for r in new])
            batch.executemany("INSERT OR REPLACE INTO supersessions (record_id, superseded_by, noted_at) "
                              "VALUES (?, ?, ?)", [(old_id, newest, _now()) for old_id in rewrite.superseded])
            _outdate_if_all_outdated(batch, topic_id)
        report.topics += 1

    def _profile(self, report: Report, progress: ProgressCallback, stop: Event | None) -> bool:
        """Read every segment the profile has not seen, a few per read; False if stopped (a read stopped
        halfway is dropped whole and made again by the next run)."""
        waiting = self._waiting(_PROFILE_PENDING)
        questions = len(profile_reading.QUESTIONS) * -(-len(waiting) // PROFILE_BATCH)
        asked = 0

        def tick() -> bool:
            nonlocal asked
            asked += 1
            progress(Progress("profile", asked, questions, "questions"))
            return stop is not None and stop.is_set()

        for start in range(0, len(waiting), PROFILE_BATCH):
            if stop is not None and stop.is_set():
                return False
            chunk = waiting[start:start + PROFILE_BATCH]
            try:
                found = self._read_profile(chunk, tick)
            except StepFailed as failed:
                self._queue("profile", [r.id for r in chunk], failed, report)
                asked = len(profile_reading.QUESTIONS) * (start // PROFILE_BATCH + 1)
                continue
            if found is None:
                return False
            with self._store.batch() as batch:
                for proposal, source in found:
                    report.statements += self.profile.apply(batch, [proposal], [source.id], source.sensitivity)
                batch.executemany("INSERT OR IGNORE INTO profile_done (segment_id) VALUES (?)",
                                  [(r.id,) for r in chunk])
        return True

    def _read_profile(self, chunk: list[Record], tick: Callable[[], bool]) -> list[tuple[Proposal, Record]] | None:
        """The statements one read of these summaries proposes, each with its source summary: the answers
        to the section questions that profile_reading keeps, each replacing the statement of its section
        that the model, asked as for records, says it outdates. `tick` is called after each question and
        says whether to stop (then None)."""
        answers = []
        for section, question in profile_reading.QUESTIONS.items():
            facts = self._ask(profile_reading.messages(chunk, self._owner, question),
                              profile_reading.schema(len(chunk)), profile_reading.parse)
            answers += [(Proposal(section, text), chunk[n]) for text, n in facts
                        if 0 <= n < len(chunk) and profile_reading.keep(text, section, chunk[n].text, self._owner)]
            if tick():
                return None
        found = []
        for (proposal, near), (_, source) in zip(self.profile.match([p for p, _ in answers]), answers, strict=True):
            if near is not None and not near.user_edited and not near.pinned:
                try:
                    if self._ask(segments.outdated_messages((near.updated_at, near.text), (source.time, proposal.text)),
                                 segments.OUTDATED_SCHEMA, segments.parse_outdated):
                        proposal = replace(proposal, replaces=near.id)
                except StepFailed:  # unanswered, the statement stays and the proposal goes in beside it
                    pass
            found.append((proposal, source))
        return found


def pending(store: MemoryStore) -> int:
    """How many raw records of this store no segment summarises yet (no model needed)."""
    return store.query(f"SELECT count(*) {_PENDING}")[0][0]


def backlog(store: MemoryStore) -> dict[str, int]:
    """What consolidation still has to do: raw records to summarise, segments waiting for their
    topic and for the profile, and failed steps queued for a retry."""
    counts = {step: store.query(f"SELECT count(*) {sql}")[0][0] for step, sql in _DONE.items()}
    counts["queued_failures"] = store.query("SELECT count(*) FROM consolidation_failures")[0][0]
    return {"records": counts["segment"], "topics": counts["topic"], "profile": counts["profile"],
            "queued_failures": counts["queued_failures"]}


def _outdate_summaries(batch: Any, outdated: Sequence[str], by: str) -> None:
    """Summaries (segments, then the topics above them) at least half of whose linked records are now
    outdated become outdated too, replaced by the summary `by`: "lives in Berlin" must not survive
    in a summary once the record it came from is replaced."""
    for _ in range(2):  # records -> segments -> topics
        marks = ", ".join("?" * len(outdated))
        summaries = [i for (i,) in batch.rows(
            f"SELECT DISTINCT summary_id FROM summary_links WHERE record_id IN ({marks}) AND summary_id != ?",
            (*outdated, by))]
        outdated = []
        for summary in summaries:
            total, gone = batch.rows(
                "SELECT count(*), count(s.record_id) FROM summary_links l LEFT JOIN supersessions s "
                "ON s.record_id = l.record_id WHERE l.summary_id = ?", (summary,))[0]
            if total and gone * 2 >= total:
                batch.execute("INSERT OR IGNORE INTO supersessions (record_id, superseded_by, noted_at) "
                              "VALUES (?, ?, ?)", (summary, by, _now()))
                outdated.append(summary)
        if not outdated:
            return


def _outdate_if_all_outdated(batch: Any, topic_id: str) -> None:
    """A topic made only of outdated summaries (written after they were outdated) is outdated too."""
    links = batch.rows("SELECT s.superseded_by FROM summary_links l LEFT JOIN supersessions s "
                       "ON s.record_id = l.record_id WHERE l.summary_id = ?", (topic_id,))
    if links and all(by for (by,) in links):
        batch.execute("INSERT OR IGNORE INTO supersessions (record_id, superseded_by, noted_at) VALUES (?, ?, ?)",
                      (topic_id, links[-1][0], _now()))


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _id_of(batch: Any, origin: str, source_id: str) -> str:
    """The id of a segment stored by an earlier run (same origin and covered records; both keyed)."""
    return batch.rows("SELECT id FROM records WHERE origin = ? AND source_id = ?", (origin, source_id))[0][0]
