"""Consolidation on real SQLite and chromadb: segments, topics, links, supersession, failures, resumption."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from threading import Event
from typing import Any

import pytest

from secondme.core.protocols import ChatMessage, GenerationOptions
from secondme.core.types import NewRecord, Sensitivity
from secondme.memory import segments, topics
from secondme.memory.consolidation import TRIES, Consolidator
from secondme.memory.crypto import Cipher
from secondme.memory.profile import Profile
from secondme.memory.profile_reading import QUESTIONS
from secondme.memory.store import MemoryStore
from secondme.models.embedder import MiniLMEmbedder
from secondme.progress import Progress
from tests.conftest import REPO
from tests.consolidation_fake import KEY, RuleModel, _after, step_of
from tests.fakes import HashEmbedder

START = datetime(2024, 3, 1, 9, tzinfo=UTC)


def messages(origin: str, texts: Sequence[str], start: int = 0, **fields: Any) -> list[NewRecord]:
    return [NewRecord(text, START + timedelta(hours=start + n), "chat", f"{origin}-{start + n}", "message", origin,
                      **fields) for n, text in enumerate(texts)]


def open_store(data_dir: Path) -> MemoryStore:
    return MemoryStore(data_dir, Cipher(KEY), HashEmbedder())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MemoryStore]:
    opened = open_store(tmp_path / "data")
    yield opened
    opened.close()


def ids_of(store: MemoryStore, kind: str) -> list[str]:
    return [i for (i,) in store.query("SELECT id FROM records WHERE kind = ? ORDER BY rowid", (kind,))]


def raw_coverage(store: MemoryStore) -> dict[str, int]:
    """How many segments link each raw record."""
    rows = store.query(
        "SELECT r.id, count(l.summary_id) FROM records r LEFT JOIN summary_links l ON l.record_id = r.id "
        "AND l.summary_id IN (SELECT id FROM records WHERE kind = 'segment') "
        "WHERE r.kind NOT IN ('segment', 'topic', 'reply') GROUP BY r.id")
    return dict(rows)


class FailingSteps(RuleModel):
    """Answers nonsense for the steps named, like a small model that cannot follow a schema."""

    def __init__(self, *steps: str) -> None:
        super().__init__()
        self.steps_failing = steps

    def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any],
                      options: GenerationOptions = GenerationOptions()) -> Any:
        if step_of(schema) in self.steps_failing:
            self.calls += 1
            return "not json at all"
        return super().complete_json(messages, schema, options)


def test_windows_are_cut_by_count_by_size_and_by_silence() -> None:
    assert segments.windows([]) == []
    records = [NewRecord("x" * 10, START, "s", str(n)) for n in range(40)]
    assert [len(w) for w in segments.windows(records)] == [24, 16]  # type: ignore[arg-type]
    assert [len(w) for w in segments.windows(records[:19])] == [19]  # type: ignore[arg-type]
    long = [NewRecord("y" * 1000, START, "s", str(n)) for n in range(5)]
    assert [len(w) for w in segments.windows(long)] == [3, 2]  # type: ignore[arg-type]
    days = [NewRecord("z", START + timedelta(days=n // 3, minutes=n), "s", str(n)) for n in range(9)]
    assert [len(w) for w in segments.windows(days)] == [3, 3, 3]  # type: ignore[arg-type]


def test_streams_become_segments_topics_and_profile_with_valid_links(store: MemoryStore) -> None:
    store.add(messages("chat:ana", [f"#climbing day {n}: I love bouldering" for n in range(40)]))
    store.add(messages("chat:bo", ["#work the Heron launch moved", "I love espresso #work"], start=100,
                       sensitivity=Sensitivity.PRIVATE))
    store.add(messages("chat:bo", ["a secret #work code 1234"], start=102, sensitivity=Sensitivity.SECRET))
    store.add([NewRecord("my own reply", START, "secondme", "r1", "reply", "conversation:x")])
    consolidator = Consolidator(store, RuleModel())
    assert consolidator.pending() == 43

    report = consolidator.run()

    assert (report.segments, report.covered, report.pending, report.failures) == (3, 43, 0, 0)
    assert set(raw_coverage(store).values()) == {1}
    segment_ids = ids_of(store, "segment")
    found = {r.origin: r for r in store.records(segment_ids)}
    assert set(found) == {"segment:chat:ana", "segment:chat:bo"}
    assert found["segment:chat:bo"].sensitivity == Sensitivity.SECRET  # the highest of the covered records
    ana = sorted((r for r in store.records(segment_ids) if r.origin == "segment:chat:ana"), key=lambda r: r.time)
    assert ana[-1].time == START + timedelta(hours=39) and ana[0].source == "secondme"
    topics = {r.title: r for r in store.records(ids_of(store, "topic"))}
    assert set(topics) == {"Climbing", "Work"} and topics["Work"].origin == "topic:work"
    links = store.query("SELECT summary_id, record_id FROM summary_links WHERE summary_id IN (?, ?)",
                        (topics["Climbing"].id, topics["Work"].id))
    assert sorted(r for _, r in links) == sorted(segment_ids)
    statements = {s.text: s for s in consolidator.profile.statements()}
    assert set(statements) == {"Loves bouldering", "Loves espresso"}
    assert set(statements["Loves bouldering"].sources) == {r.id for r in ana}
    assert statements["Loves espresso"].sensitivity == Sensitivity.SECRET
    assert consolidator.profile.profile_text() == "Interests:\n- Loves bouldering"


def test_a_run_again_adds_nothing_and_new_records_continue_their_stream(store: MemoryStore) -> None:
    store.add(messages("chat:ana", ["#climbing first climb at the gym"]))
    model = RuleModel()
    Consolidator(store, model).run()
    again = Consolidator(store, model).run()
    assert (again.segments, again.topics, model.calls) == (0, 0, 2 + len(QUESTIONS))  # summary, topic, profile
    store.add(messages("chat:ana", ["#climbing second climb outdoors"], start=1))
    prompts: list[str] = []
    model.complete_json = _spy(model.complete_json, prompts)  # type: ignore[method-assign]
    assert Consolidator(store, model).run().segments == 1
    assert "first climb at the gym" in prompts[0].split("what came just before:")[1]  # context
    assert len(ids_of(store, "topic")) == 1 and len(ids_of(store, "segment")) == 2
    [topic] = store.records(ids_of(store, "topic"))
    assert "first climb" in topic.text and "second climb" in topic.text


def _spy(complete: Any, prompts: list[str]) -> Any:
    def spied(messages: Sequence[ChatMessage], schema: dict[str, Any], options: GenerationOptions = GenerationOptions()
              ) -> Any:
        prompts.append(messages[-1]["content"])
        return complete(messages, schema, options)

    return spied


def test_newer_facts_supersede_older_summaries_of_the_topic(store: MemoryStore) -> None:
    store.add(messages("notes", ["#home I live in Porto"]))
    Consolidator(store, RuleModel()).run()
    store.add(messages("notes", ["#home I moved, I now live in Lisbon"], start=5))
    Consolidator(store, RuleModel()).run()
    old, new = store.records(ids_of(store, "segment"))
    porto, lisbon = ids_of(store, "message")
    assert sorted(store.query("SELECT record_id, superseded_by FROM supersessions")) == sorted(
        [(old.id, new.id), (porto, lisbon)])  # the topic outdates the summary, the segment step the record
    [topic] = store.records(ids_of(store, "topic"))
    assert "History:\n- earlier: #home I live in Porto" in topic.text
    links = store.query("SELECT record_id FROM summary_links WHERE summary_id = ?", (topic.id,))
    assert sorted(r for (r,) in links) == sorted([old.id, new.id])


def test_a_topic_written_from_outdated_summaries_only_is_outdated_too(store: MemoryStore) -> None:
    store.add(messages("notes", ["#home I live in Porto"]))
    store.add(messages("notes", ["#moving I moved: I now live in Lisbon, not in Porto"], start=9))
    Consolidator(store, RuleModel()).run()  # both segments first, then the two topics
    home, moving = store.records(ids_of(store, "topic"))
    assert (home.title, moving.title) == ("Home", "Moving")
    outdated = dict(store.query("SELECT record_id, superseded_by FROM supersessions"))
    assert home.id in outdated and moving.id not in outdated


def test_garbage_output_loses_nothing_and_a_later_run_consolidates_it(store: MemoryStore) -> None:
    store.add(messages("chat:ana", [f"#climbing note {n}" for n in range(40)]))
    garbage = RuleModel(garbage=True)
    report = Consolidator(store, garbage).run()
    assert (report.segments, report.failures, report.pending) == (0, 2, 40)
    assert garbage.calls == 2 * TRIES
    consolidator = Consolidator(store, RuleModel())
    failures = consolidator.failures()
    assert [f.step for f in failures] == ["segment", "segment"]
    assert sorted(i for f in failures for i in f.record_ids) == sorted(raw_coverage(store))
    Consolidator(store, garbage).run()
    assert [f.attempts for f in consolidator.failures()] == [2, 2]

    report = consolidator.run(only_failed=True)

    assert (report.segments, report.pending, consolidator.failures()) == (2, 0, [])
    assert set(raw_coverage(store).values()) == {1}


def test_failed_topic_and_profile_steps_are_queued_and_retried(store: MemoryStore) -> None:
    store.add(messages("chat:ana", ["#climbing I love bouldering"]))
    report = Consolidator(store, FailingSteps("topic", "profile")).run()
    assert (report.segments, report.pending, report.failures, report.topics) == (1, 0, 2, 0)
    [segment_id] = ids_of(store, "segment")
    consolidator = Consolidator(store, RuleModel())
    assert sorted((f.step, f.record_ids) for f in consolidator.failures()) == [
        ("profile", (segment_id,)), ("topic", (segment_id,))]

    report = consolidator.run()

    assert (report.topics, report.statements, report.segments, report.failures) == (1, 1, 0, 0)
    assert consolidator.failures() == []
    [topic] = store.records(ids_of(store, "topic"))
    assert store.query("SELECT record_id FROM summary_links WHERE summary_id = ?", (topic.id,)) == [(segment_id,)]


class Untitled(RuleModel):
    """Names no topic, like a small model that leaves a field empty."""

    def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any],
                      options: GenerationOptions = GenerationOptions()) -> Any:
        answer = super().complete_json(messages, schema, options)
        return {**answer, "topic": ""} if "topic" in answer else answer


def test_a_topic_is_still_found_when_the_model_cannot_name_it(store: MemoryStore) -> None:
    store.add(messages("chat:ana", ["#climbing bouldering at the gym with Ana"]))
    Consolidator(store, RuleModel()).run()
    store.add(messages("chat:ana", ["more bouldering at the gym"], start=30))
    Consolidator(store, Untitled()).run()
    assert len(ids_of(store, "topic")) == 1  # lexical fallback: the words match the Climbing topic
    [topic] = store.records(ids_of(store, "topic"))
    assert topic.title == "Climbing" and "more bouldering" in topic.text


def test_new_segments_of_a_topic_are_merged_in_one_call(store: MemoryStore) -> None:
    store.add(messages("chat:ana", [f"#climbing session {n}" for n in range(3)], start=0))
    store.add(messages("chat:ana", [f"#climbing session {n}" for n in range(3, 6)], start=40))
    store.add(messages("chat:ana", [f"#climbing session {n}" for n in range(6, 9)], start=80))
    model = RuleModel()
    report = Consolidator(store, model).run()
    assert (report.segments, report.topics) == (3, 1)
    assert (model.steps["segment"], model.steps["topic"], model.steps["profile"]) == (3, 1, len(QUESTIONS))
    assert model.steps["outdated"] == 0  # no record speaks of a change: nothing to check
    [topic] = store.records(ids_of(store, "topic"))
    assert all(f"session {n}" in topic.text for n in range(9))


def test_prompts_name_the_owner_and_mark_the_owners_own_messages(store: MemoryStore) -> None:
    store.add([*messages("chat:ana", ["Ana: #climbing at the gym on Friday?"]),
               *(replace(r, kind="own_message") for r in messages("chat:ana", ["Sam: #climbing yes, 7pm"], start=1))])
    model = RuleModel()
    Consolidator(store, model, owner="Sam").run()
    segment, profile = (next(p for p in model.prompts if key in json.dumps(p)) for key in ("Records to", "Memories:"))
    assert "memories of Sam (the user); call Sam by name" in segment[0]["content"]
    assert "] (the user) Sam: #climbing yes" in segment[1]["content"]
    assert "] Ana: #climbing at the gym" in segment[1]["content"]
    assert "You read Sam's memories and answer one question about Sam" in profile[0]["content"]


def test_titles_worded_differently_join_one_topic(tmp_path: Path) -> None:
    """Titles the 1.5B wrote for LoCoMo conversation 26: one subject, many wordings (real MiniLM)."""
    store = MemoryStore(tmp_path, Cipher(KEY), MiniLMEmbedder())
    written = ["LGBTQ activism", "art", "LGBT advocacy", "art creation", "pottery workshop", "adoption", "volunteering",
               "Volunteering and family time", "Connected LGBTQ Activists"]
    assert topics.assign(written, ["Adoption journey"], store.similarity) == [
        "LGBTQ activism", "art", "LGBTQ activism", "art", "pottery workshop", "Adoption journey", "volunteering",
        "volunteering", "LGBTQ activism"]
    assert topics.assign(["where I live", "knee injury"], ["work"], store.similarity) == ["where I live", "knee injury"]
    store.close()


def test_run_stops_between_windows_and_respects_limit(store: MemoryStore) -> None:
    store.add(messages("chat:ana", [f"#climbing note {n}" for n in range(60)]))
    stop = Event()

    def progress(event: Progress) -> None:
        if event.done:
            stop.set()

    report = Consolidator(store, RuleModel()).run(progress, stop=stop)
    assert (report.segments, report.stopped, report.pending) == (1, True, 36)
    assert Consolidator(store, RuleModel()).run(limit=1).segments == 1
    assert Consolidator(store, RuleModel()).run().pending == 0
    assert set(raw_coverage(store).values()) == {1}


def _count(db_path: Path, sql: str) -> int:
    with sqlite3.connect(db_path) as db:
        try:
            return db.execute(sql).fetchone()[0]
        except sqlite3.OperationalError:  # not created yet
            return 0


def test_a_run_killed_at_any_point_finishes_later_without_duplicates_or_loss(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    store = open_store(data_dir)
    for origin in ("chat:ana", "chat:bo", "notes"):
        store.add(messages(origin, [f"#{origin.split(':')[-1]} item {n}: I love thing{n % 3}" for n in range(60)]))
    store.close()
    script = [sys.executable, "-m", "tests.consolidation_fake", str(data_dir), "0.02"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for wanted in (2, 6):  # kill twice, at different points of the run
        child = subprocess.Popen(script, cwd=REPO, env=env, stdout=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while _count(data_dir / "memory.db", "SELECT count(*) FROM records WHERE kind = 'segment'") < wanted:
            assert time.monotonic() < deadline and child.poll() is None
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        child.wait()
    finished = subprocess.run(script, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.split()[-1] == "0"  # nothing pending

    store = open_store(data_dir)
    try:
        coverage = raw_coverage(store)
        assert len(coverage) == 180 and set(coverage.values()) == {1}
        assert len(ids_of(store, "segment")) == 3 * 3  # 60 records a stream, 24 a window
        assert sorted(r.title for r in store.records(ids_of(store, "topic"))) == ["Ana", "Bo", "Notes"]
        texts = [s.text for s in Consolidator(store, RuleModel()).profile.statements()]
        assert sorted(texts) == ["Loves thing0", "Loves thing1", "Loves thing2"]
        assert store.query("SELECT count(*) FROM records WHERE embedded = 0") == [(0,)]
    finally:
        store.close()


@pytest.mark.model
def test_the_small_model_consolidates_the_sample_notes(small_gguf: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from secondme.app import build
    from secondme.assets import sample_notes_dir
    from secondme.cli import main

    monkeypatch.setenv("SECONDME_MODEL", str(small_gguf))
    assert main(["ingest", str(sample_notes_dir())]) == 0
    assert main(["consolidate", "--limit", "2"]) == 0
    out, err = capsys.readouterr()
    assert "secondme config set owner.name" in err  # no name given yet
    print(out)
    services = build()
    store = services.store
    try:
        segment_ids = set(ids_of(store, "segment"))
        topic_ids = set(ids_of(store, "topic"))
        assert segment_ids and topic_ids
        links = store.query("SELECT summary_id, record_id FROM summary_links")
        assert {s for s, _ in links} == segment_ids | topic_ids
        assert all(store.get(r) is not None for _, r in links)
        assert {r for s, r in links if s in topic_ids} <= segment_ids
        statements = Profile(store).statements()
        assert statements and all(s.sources and set(s.sources) <= segment_ids for s in statements)
        print(json.dumps([s.text for s in statements]))
        capsys.readouterr()
        assert main(["profile", "show", statements[0].id, "--json"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown["text"] == statements[0].text and {r["id"] for r in shown["sources"]} == set(
            statements[0].sources) and all(r["kind"] == "segment" and r["text"] for r in shown["sources"])
    finally:
        services.close()


def test_a_summary_that_loops_on_a_sentence_keeps_it_once() -> None:
    looping = {"summary": "They read a novel.  They read a novel. They loved it! They read a novel.", "people": [],
               "places": [], "facts": [], "topic": "Reading"}
    assert segments.parse(looping).summary == "They read a novel. They loved it!"
    with pytest.raises(ValueError, match="copies the prompt"):
        segments.parse({**looping, "summary": "Records to summarise, from notes: R1 [2026-01-02 10:00] hi"})


def test_a_summary_cut_off_at_its_length_cap_ends_with_an_ellipsis() -> None:
    """Real 1.5B answers on LoCoMo conv-41 that the grammar cut off at the caps."""
    first = "Maria and John had a conversation about their recent experiences and goals."
    cut = "Maria and John were planning to get involved in local politics and gather"
    summary = first + " " * (segments.SUMMARY_MAX - len(first) - len(cut)) + cut  # the model's spacing
    fact = "John and Maria spent a pleasant afternoon together at the playground and playing games with their,"
    fact += " " * (segments.FACT_MAX - len(fact))
    parsed = segments.parse({"summary": summary, "people": [], "places": [],
                             "facts": [fact, "Maria donated her old car"], "topic": "Community"})
    assert parsed.summary == f"{first} {cut}…"
    assert parsed.facts == (fact.strip()[:-1] + "…", "Maria donated her old car")


def test_a_profile_read_stops_between_its_questions_and_is_made_again_whole(store: MemoryStore) -> None:
    """A chat that starts during a read must not wait for its remaining questions."""
    store.add(messages("chat:ana", ["#climbing I love bouldering"]))
    stop, model, events = Event(), RuleModel(), []

    class StopsTheRead(RuleModel):
        def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any],
                          options: GenerationOptions = GenerationOptions()) -> Any:
            if step_of(schema) == "profile" and self.steps["profile"] == 1:
                stop.set()  # the user starts chatting while the second question is being answered
            return super().complete_json(messages, schema, options)

    stopping = StopsTheRead()
    report = Consolidator(store, stopping).run(progress=events.append, stop=stop)
    assert report.stopped and stopping.steps["profile"] == 2 and Profile(store).statements() == []
    assert [(e.done, e.total, e.unit) for e in events if e.stage == "profile"] == [
        (1, len(QUESTIONS), "questions"), (2, len(QUESTIONS), "questions")]
    report = Consolidator(store, model).run()
    assert model.steps["profile"] == len(QUESTIONS) and [s.text for s in Profile(store).statements()] == [
        "Loves bouldering"]


def test_background_consolidation_works_while_idle_and_yields_to_the_user(store: MemoryStore) -> None:
    from secondme.memory.background import BackgroundConsolidation
    from secondme.memory.consolidation import pending

    store.add(messages("chat:ana", [f"#climbing note {n}" for n in range(60)]))
    model = RuleModel(delay=0.01)
    reports = []
    job = BackgroundConsolidation(store, lambda: Consolidator(store, model), idle_s=0, poll_s=0.02,
                                  on_done=reports.append)
    job.pause()  # the user is chatting: nothing runs
    job.start()
    time.sleep(0.3)
    assert model.calls == 0 and pending(store) == 60
    job.resume()
    deadline = time.monotonic() + 20
    while pending(store) or not reports:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    job.close(timeout=5)
    assert set(raw_coverage(store).values()) == {1} and len(ids_of(store, "topic")) == 1


class Repeating(RuleModel):
    """Copies the summary of the part before when it is given one, like the 1.5B on LoCoMo."""

    def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any],
                      options: GenerationOptions = GenerationOptions()) -> Any:
        answer = super().complete_json(messages, schema, options)
        before = _after(messages[-1]["content"], "- what came just before:").split("\n- existing")[0].strip()
        if "facts" in schema["properties"] and before not in ("", "(nothing)"):
            return {**answer, "summary": before}
        return answer


def test_a_summary_that_repeats_the_one_before_is_made_again_without_it(store: MemoryStore) -> None:
    store.add(messages("chat:ana", [f"#climbing we climbed route {n} at the gym today" for n in range(40)]))
    report = Consolidator(store, Repeating()).run()
    first, second = store.records(ids_of(store, "segment"))
    assert (report.segments, report.failures) == (2, 0)
    assert "route 39" in second.text and "route 39" not in first.text
