"""The retrieval pipeline on real SQLite, chromadb and MiniLM: time windows, replaced facts, summary levels."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from secondme.core.types import NewRecord, Sensitivity
from secondme.memory.crypto import Cipher
from secondme.memory.retrieval import RetrievalConfig, Retriever
from secondme.memory.store import MemoryStore
from secondme.models.embedder import MiniLMEmbedder

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 6, 17, 15, 30, tzinfo=BERLIN)  # a Wednesday: last weekend is 13-14 June


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=BERLIN)


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


@pytest.fixture
def store(tmp_path: Path, embedder: MiniLMEmbedder) -> Iterator[MemoryStore]:
    opened = MemoryStore(tmp_path / "data", Cipher(bytes(range(32))), embedder)
    yield opened
    opened.close()


def add(store: MemoryStore, items: list[tuple[str, datetime]], kind: str = "note", source: str = "diary") -> list[str]:
    records = [
        NewRecord(text=text, time=time, source=source, source_id=f"{kind}-{n}", kind=kind, origin=f"{source}.md")
        for n, (text, time) in enumerate(items)
    ]
    return store.add(records).added


def link(store: MemoryStore, summary_id: str, record_ids: list[str]) -> None:
    for record_id in record_ids:
        store.write("INSERT INTO summary_links (summary_id, record_id) VALUES (?, ?)", (summary_id, record_id))


def test_last_weekend_retrieves_only_that_weekend(store: MemoryStore) -> None:
    weekend = add(
        store,
        [("Hiked up the Brocken with Ana, windy at the top", at(6, 13, 10)), ("Brunch at Cafe Rosa", at(6, 14, 11))],
    )
    add(
        store,
        [
            ("Swam in the lake at Wannsee", at(6, 6, 15)),  # the weekend before
            ("Went to the cinema with Bob", at(5, 30, 20)),
            ("Dentist appointment, two fillings", at(6, 10, 9)),
            ("Cooked a risotto for the neighbours", at(6, 16, 19)),
            ("Hiked in the Harz mountains", at(5, 23, 10)),
        ],
        source="notes",
    )
    memories = Retriever(store).retrieve("What did I do last weekend?", now=NOW)
    assert sorted(m.record.id for m in memories) == sorted(weekend)
    assert all(m.level == "raw" and not m.outdated for m in memories)


def test_a_replaced_fact_is_outdated_and_its_replacement_ranks_first(store: MemoryStore) -> None:
    berlin, lisbon = add(store, [("I live in Berlin", at(3, 2)), ("We moved to Lisbon", at(6, 1))])
    add(store, [("Bought a new bicycle", at(4, 5)), ("Read a novel about whales", at(5, 9))], source="notes")
    store.write(
        "INSERT INTO supersessions (record_id, superseded_by, noted_at) VALUES (?, ?, ?)",
        (berlin, lisbon, NOW.isoformat()),
    )
    memories = Retriever(store).retrieve("Where do I live?", now=NOW)
    assert memories[0].record.id == lisbon and not memories[0].outdated
    old = next(m for m in memories if m.record.id == berlin)
    assert old.outdated and old.superseded_by == lisbon
    assert old.score < memories[0].score


def test_a_replacement_outside_the_candidates_is_pulled_in(store: MemoryStore) -> None:
    berlin, lisbon = add(store, [("My Berlin flat rent is 900 euros", at(3, 2)), ("We moved to Lisbon", at(6, 1))])
    rents = [(f"Paid the rent for the garage, {n} euros, flat rate", at(4, n + 1)) for n in range(8)]
    add(store, rents, source="bank")
    store.write(
        "INSERT INTO supersessions (record_id, superseded_by, noted_at) VALUES (?, ?, ?)",
        (berlin, lisbon, NOW.isoformat()),
    )
    assert lisbon not in {hit.record.id for hit in store.search("Berlin flat rent", 3)}  # not a candidate
    memories = Retriever(store, RetrievalConfig(candidates=1)).retrieve("Berlin flat rent", k=1, now=NOW)
    assert [m.record.id for m in memories] == [lisbon]


def test_a_replacement_the_question_may_not_see_stays_out(store: MemoryStore) -> None:
    (berlin,) = add(store, [("I live in Berlin", at(3, 2))])
    secret = NewRecord("We moved to Lisbon", at(6, 1), "diary", "s", origin="diary.md", sensitivity=Sensitivity.SECRET)
    (lisbon,) = store.add([secret]).added
    store.write(
        "INSERT INTO supersessions (record_id, superseded_by, noted_at) VALUES (?, ?, ?)",
        (berlin, lisbon, NOW.isoformat()),
    )
    memories = Retriever(store).retrieve("Where do I live?", now=NOW, exclude_sensitivity=["secret"])
    assert [(m.record.id, m.outdated, m.superseded_by) for m in memories] == [(berlin, True, lisbon)]


def test_a_topic_summary_ranks_above_its_records_and_expands_to_them(store: MemoryStore) -> None:
    raw = add(
        store,
        [
            ("Built two raised beds in the garden", at(4, 11)),
            ("Planted tomatoes and basil in the new garden beds", at(4, 12)),
            ("The garden irrigation hose leaked, fixed it", at(4, 19)),
        ],
    )
    add(store, [("Team meeting about the quarterly budget", at(4, 14)), ("Flu, stayed in bed", at(5, 2))])
    (segment,) = add(
        store, [("Garden weekend: built raised beds, planted tomatoes and basil", at(4, 12))], "segment", "secondme"
    )
    (topic,) = add(
        store,
        [("The garden project: raised beds, tomatoes, basil and fixing the irrigation", at(4, 19))],
        "topic",
        "secondme",
    )
    link(store, segment, raw[:2])
    link(store, topic, [segment, raw[2]])
    retriever = Retriever(store)
    memories = retriever.retrieve("How is my garden project going?", now=NOW)
    assert memories[0].record.id == topic and memories[0].level == "topic"
    ranks = {m.record.id: n for n, m in enumerate(memories)}
    assert all(ranks[topic] < ranks[record_id] for record_id in raw if record_id in ranks)
    assert [record.id for record in retriever.expand(memories[0])] == raw
    segment_memory = next(m for m in memories if m.record.id == segment)
    assert segment_memory.level == "segment"
    assert [record.id for record in retriever.expand(segment_memory)] == raw[:2]


def test_summaries_past_the_cap_go_behind_the_raw_records(store: MemoryStore) -> None:
    raw = add(store, [("Planted tomatoes in the garden", at(4, 11)), ("Watered the garden tomatoes", at(4, 12))])
    summaries = add(store, [(f"Garden summary {n}: tomatoes in the garden", at(4, 12)) for n in range(3)],
                    "segment", "secondme")
    question = "What did I do in the garden with the tomatoes?"
    uncapped = [m.record.id for m in Retriever(store).retrieve(question, k=5, now=NOW)]
    capped = [m.record.id for m in Retriever(store, RetrievalConfig(max_summaries=1)).retrieve(question, k=5, now=NOW)]
    assert set(uncapped) == set(capped) == set(raw + summaries)
    assert sum(i in summaries for i in capped[:3]) == 1 and capped[3:] == [i for i in uncapped if i in summaries][1:]


def test_a_named_month_boosts_that_time_but_keeps_plans_written_earlier(store: MemoryStore) -> None:
    """"in May" may be when a planned trip happens, not when the note about it was written."""
    [plan] = add(store, [("Booked it: flying to Lisbon with Ines from 12 to 16 May", at(3, 28))])
    [diary] = add(store, [("Lazy Saturday in the botanical garden", at(5, 3))], source="journal")
    ranked = [m.record.id for m in Retriever(store).retrieve("Where am I flying in May?", 2, now=NOW)]
    assert ranked == [plan, diary]
