"""The memory store on real SQLite and real chromadb: idempotence, deletion, filters, encryption."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from secondme.core.types import NewRecord, Sensitivity
from secondme.errors import StoreError
from secondme.memory.crypto import Cipher
from secondme.memory.db import MIGRATIONS, migrate, open_db
from secondme.memory.store import MemoryStore
from secondme.memory.terms import tokens
from secondme.memory.vectors import VectorIndex
from tests.fakes import HashEmbedder

KEY = bytes(range(32))


def note(n: int, text: str = "", **fields: object) -> NewRecord:
    defaults: dict[str, object] = {
        "time": datetime(2024, 3, n % 28 + 1, 9, tzinfo=UTC),
        "source": "notes",
        "source_id": f"note-{n}",
        "origin": "notes.md",
    }
    return NewRecord(text=text or f"note number {n} about gardening", **{**defaults, **fields})  # type: ignore[arg-type]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def vectors(data_dir: Path) -> VectorIndex:
    return VectorIndex.persistent(data_dir / "chroma")


@pytest.fixture
def store(data_dir: Path, vectors: VectorIndex) -> Iterator[MemoryStore]:
    opened = MemoryStore(data_dir, Cipher(KEY), HashEmbedder(), vectors)
    yield opened
    opened.close()


def fts_rows(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "memory.db") as db:
        return db.execute("SELECT count(*) FROM records_fts").fetchone()[0]


def texts(hits: Sequence[object]) -> list[str]:
    return [hit.record.text for hit in hits]  # type: ignore[attr-defined]


def test_terms_are_normalised_and_lightly_stemmed() -> None:
    assert tokens("Hiking, hikes, HIKED and hike!") == ["hik"] * 4
    assert tokens("The running dogs stopped") == ["run", "dog", "stop"]
    assert tokens("Ｃａｆé 2024") == ["café", "2024"]


def test_cipher_round_trips_and_refuses_a_tampered_blob() -> None:
    cipher = Cipher(KEY)
    blob = cipher.encrypt("hello")
    assert cipher.decrypt(blob) == "hello" and b"hello" not in blob
    with pytest.raises(StoreError, match="encryption key"):
        cipher.decrypt(blob[:-1] + bytes([blob[-1] ^ 1]))
    assert cipher.keyed_hash("x") != Cipher(bytes(32)).keyed_hash("x")
    assert len(cipher.term("hik")) == 16


def test_add_is_idempotent(store: MemoryStore, vectors: VectorIndex) -> None:
    records = [note(n) for n in range(10)]
    first = store.add(records, batch_size=4)
    assert len(first.added) == 10 and first.skipped == 0
    again = store.add(records + [note(3)])
    assert again.added == [] and again.skipped == 11
    assert store.count() == 10 and vectors.count() == 10
    changed = store.add([note(3, "note three, edited")])
    assert len(changed.added) == 1 and store.count() == 11


class CrashingEmbedder(HashEmbedder):
    """Fails on its first call, as a crash in the middle of an add would."""

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if self.calls == 0:
            self.calls += 1
            raise RuntimeError("crash")
        return super().embed(texts)


def test_an_interrupted_add_is_finished_by_the_next_without_duplicates(data_dir: Path, vectors: VectorIndex) -> None:
    store = MemoryStore(data_dir, Cipher(KEY), CrashingEmbedder(), vectors)
    records = [note(n) for n in range(6)]
    with pytest.raises(RuntimeError):
        store.add(records, batch_size=3)
    assert store.count() == 3 and vectors.count() == 0
    result = store.add(records, batch_size=3)
    assert len(result.added) == 3 and result.skipped == 3
    assert store.count() == 6 and vectors.count() == 6
    store.close()


def test_replace_origin_keeps_unchanged_and_swaps_changed(store: MemoryStore, vectors: VectorIndex) -> None:
    store.add([note(1), note(2), note(3)])
    kept = store.search("note number 1", k=1, mode="bm25")[0].record.id
    other = store.add([note(9, origin="other.md")]).added
    result = store.replace_origin("notes.md", [note(1), note(2, "note two, rewritten"), note(4)])
    assert len(result.added) == 2 and result.skipped == 1
    assert store.count() == 4 and vectors.count() == 4
    assert store.get(kept) is not None and store.get(other[0]) is not None
    assert sorted(texts(store.search("note", k=10, mode="bm25", sources=["notes"]))) == sorted(
        ["note two, rewritten", note(1).text, note(4).text, note(9).text]
    )
    with pytest.raises(StoreError):
        store.replace_origin("notes.md", [note(5, origin="elsewhere.md")])


def test_forget_removes_from_sqlite_fts_and_chroma(store: MemoryStore, vectors: VectorIndex, data_dir: Path) -> None:
    ids = store.add([note(1), note(2)]).added
    assert fts_rows(data_dir) == 2
    assert store.forget(ids[0]) is True
    assert store.get(ids[0]) is None and store.forget(ids[0]) is False
    assert fts_rows(data_dir) == 1
    assert vectors.ids() == {ids[1]}
    assert [h.record.id for h in store.search("note number gardening", k=5)] == [ids[1]]


def test_reindex_rebuilds_the_vector_index_from_sqlite(store: MemoryStore, vectors: VectorIndex) -> None:
    ids = store.add([note(n) for n in range(5)]).added
    vectors.reset()
    assert store.search("note number 2", mode="vector") == []
    assert store.reindex() == 5
    assert vectors.ids() == set(ids)
    assert store.search("note number 2", k=1, mode="vector")[0].record.text == note(2).text


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "vector"])
def test_time_source_and_sensitivity_filters(store: MemoryStore, mode: str) -> None:
    store.add(
        [
            note(1, "lunch with Mira", time=datetime(2024, 1, 5, tzinfo=UTC)),
            note(2, "lunch with Mira again", time=datetime(2024, 2, 5, tzinfo=UTC)),
            note(3, "lunch chat with Mira", source="chat", time=datetime(2024, 2, 6, tzinfo=UTC)),
            note(4, "secret lunch with Mira", sensitivity=Sensitivity.SECRET),
        ]
    )
    feb = {"since": datetime(2024, 2, 1, tzinfo=UTC), "until": datetime(2024, 2, 29, tzinfo=UTC)}
    assert sorted(texts(store.search("lunch Mira", mode=mode, **feb))) == [
        "lunch chat with Mira",
        "lunch with Mira again",
    ]
    assert texts(store.search("lunch Mira", mode=mode, sources=["chat"])) == ["lunch chat with Mira"]
    hidden = texts(store.search("lunch Mira", mode=mode, exclude_sensitivity=["secret"]))
    assert len(hidden) == 3 and "secret lunch with Mira" not in hidden


def test_a_selective_filter_still_finds_its_record_among_many(store: MemoryStore) -> None:
    store.add([note(n) for n in range(401)] + [note(999, "gardening call", source="chat")], batch_size=200)
    # 400 unfiltered neighbours hold under 50 chat records: the search compares the chat records exhaustively
    assert texts(store.search("note about gardening", k=1, mode="vector", sources=["chat"])) == ["gardening call"]


def test_hits_carry_per_retriever_ranks(store: MemoryStore) -> None:
    store.add([note(1, "kayak trip on the fjord"), note(2, "dentist appointment")])
    [best, *_] = store.search("kayak fjord", k=2)
    assert best.record.text == "kayak trip on the fjord" and best.ranks == {"bm25": 1, "vector": 1}
    assert set(store.search("kayak", k=1, mode="bm25")[0].ranks) == {"bm25"}
    with pytest.raises(StoreError, match="mode"):
        store.search("kayak", mode="fuzzy")


def test_bm25_wants_half_the_query_words(store: MemoryStore) -> None:
    store.add([note(1, "kayak trip on the fjord"), note(2, "the kayak shop was closed")])
    assert texts(store.search("kayak fjord trip", mode="bm25")) == ["kayak trip on the fjord"]
    assert sorted(texts(store.search("kayaks", mode="bm25"))) == [
        "kayak trip on the fjord",
        "the kayak shop was closed",
    ]


def test_an_unreachable_chroma_server_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="chroma server at http://127.0.0.1:9"):
        VectorIndex.remote("http://127.0.0.1:9")


def test_counts_and_origins(store: MemoryStore) -> None:
    store.add([note(1), note(2), note(3, source="chat", origin="chat-1")])
    assert store.count() == 3
    assert store.counts_by_source() == {"chat": 1, "notes": 2}
    assert store.origins() == {"notes.md", "chat-1"}


def test_migrations_are_recorded_and_reopening_is_a_no_op(data_dir: Path) -> None:
    db = open_db(data_dir / "memory.db", Cipher(KEY))
    names = [name for (name,) in db.execute("SELECT name FROM migrations ORDER BY rowid")]
    assert names == [name for name, _ in MIGRATIONS]
    assert migrate(db) == []
    db.close()
    again = open_db(data_dir / "memory.db", Cipher(KEY))
    assert again.execute("SELECT count(*) FROM migrations").fetchone()[0] == len(MIGRATIONS)
    again.close()


def test_a_wrong_key_fails_clearly(data_dir: Path, vectors: VectorIndex) -> None:
    MemoryStore(data_dir, Cipher(KEY), HashEmbedder(), vectors).close()
    with pytest.raises(StoreError, match="encryption key does not open"):
        MemoryStore(data_dir, Cipher(bytes(32)), HashEmbedder(), vectors)


def test_no_plaintext_reaches_the_data_dir(data_dir: Path, vectors: VectorIndex) -> None:
    sentence = "Quetzalcoatl whispered the Zanzibar password to the marmalade sommelier"
    store = MemoryStore(data_dir, Cipher(KEY), HashEmbedder(), vectors)
    store.add(
        [
            note(
                1,
                sentence,
                title="Ottoline dossier",
                people=("Bartholomew Quibble",),
                place="Kirkcudbright",
                sensitivity=Sensitivity.SECRET,
            )
        ]
    )
    assert store.search("zanzibar marmalade", k=1)[0].record.text == sentence
    store.close()
    words = [sentence, *sentence.split(), "Ottoline", "Quibble", "Kirkcudbright"]
    needles = {w.lower().encode() for w in words if len(w) > 5}
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.name == "memory.db" for p in files) and any("chroma" in p.parts for p in files)
    for path in files:
        content = path.read_bytes().lower()
        leaked = [n for n in needles if n in content]
        assert not leaked, f"{path} holds {leaked}"
