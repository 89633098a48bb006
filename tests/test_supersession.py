"""Newer facts win, end to end: ingest, consolidate with the real answer model, ask."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from secondme.app import build
from secondme.cli import main
from secondme.core.types import SearchHit
from secondme.memory.retrieval import Memory, Retriever, level_of

LIFE = [  # written for this test
    ("I live in Berlin, in a small flat in Kreuzberg near the canal.", "2026-03-02T19:00:00"),
    ("Bought a new road bike, a blue Canyon.", "2026-04-05T10:00:00"),
    ("Read a novel about whales; loved the ending.", "2026-05-09T21:00:00"),
    ("We moved to Lisbon! The new flat is in Alfama, ten minutes from the river.", "2026-06-01T18:00:00"),
    ("Started Portuguese lessons on Tuesdays.", "2026-06-09T18:00:00"),
]


@pytest.fixture
def moved(answer_gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """A consolidated diary of a move from Berlin to Lisbon: (services, berlin id, lisbon id)."""
    diary = tmp_path / "diary.jsonl"
    diary.write_text("".join(json.dumps({"text": text, "time": time, "source": "diary"}) + "\n"
                             for text, time in LIFE), encoding="utf-8")
    monkeypatch.setenv("SECONDME_MODEL", str(answer_gguf))
    assert main(["ingest", str(diary)]) == 0
    assert main(["consolidate"]) == 0
    services = build()
    store = services.store
    ids = {store.get(i).text[:12]: i for (i,) in store.query("SELECT id FROM records WHERE source = 'diary'")}
    yield services, ids["I live in Be"], ids["We moved to "]
    services.close()


@pytest.mark.model
def test_consolidation_marks_the_old_home_outdated(moved) -> None:  # noqa: ANN001
    services, berlin, lisbon = moved
    assert (berlin, lisbon) in services.store.query("SELECT record_id, superseded_by FROM supersessions")
    memories = Retriever(services.store).retrieve("Where do I live?", now=datetime(2026, 7, 1, tzinfo=UTC))
    old = [m for m in memories if m.record.id == berlin]
    assert all(m.outdated and m.superseded_by == lisbon for m in old)  # shown to the model as OUTDATED


@pytest.mark.model
def test_the_answer_follows_the_move(moved) -> None:  # noqa: ANN001
    services, berlin, lisbon = moved
    retriever = Retriever(services.store)
    answer = services.assistant().ask("Where do I live?")
    print(answer.text)
    assert "Berlin" not in answer.text and ("Lisbon" in answer.text or "Alfama" in answer.text)  # Alfama: in Lisbon
    cited = {record.id for c in answer.citations
             for record in retriever.expand(Memory(SearchHit(c.record, 1.0), level_of(c.record)))}
    assert lisbon in cited  # the June record, or a summary of it
