"""What the data dir shows to someone who has it but not the key (issue 16, point 4), and unambiguous
ingest identities (point 7).

Real notes (a secret one with headings, in English and Chinese), a JSON Lines file with speakers and
conversations, a real WhatsApp export, a secret memory, a secret profile statement, a guest, a
consolidation and, with the real model, a chat turn that writes the prefix cache. Then every column of
every table of every SQLite file is decoded (text, UTF-8 of blobs, JSON inside), every file's bytes
are searched, and every prefix cache file is read as the old clear format and its int32s detokenized
with the model's own tokenizer: none of it may give back a secret word, a name, a heading or a file name.
(Real input: ../shared/data/chat/whatsapp/whatstk_pokemon.txt, ../shared/data/notes/evernote/,
../shared/data/gps/gpxpy/around-visnjan-with-car.gpx.)
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import struct
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from ingest.formats import detect_format
from ingest.items import Item
from secondme.app import Services, build
from secondme.companion.clock import Clock
from secondme.config import CompanionConfig, Config
from secondme.core.protocols import ChatMessage, GenerationOptions
from secondme.core.types import NewRecord, Sensitivity
from secondme.errors import ModelError
from secondme.ingestion import Ingestor, IngestReport
from secondme.memory import db as db_module
from secondme.memory.consolidation import Consolidator
from secondme.memory.crypto import Cipher
from secondme.memory.profile import Profile
from secondme.memory.standing import GuestList
from secondme.memory.store import MemoryStore
from secondme.watching import forget_paths
from tests.companion_fake import CompanionModel
from tests.conftest import SHARED_DATA
from tests.consolidation_fake import RuleModel
from tests.fakes import HashEmbedder

SECRET_NOTE = """---
sensitivity: secret
---
# Quennellite follow-up

## Zorblaxitol dosage
Take Zorblaxitol 40 mg every morning. #quennellite
Dr. Ingeborg Vantongeren said the markers improved.

## Second opinion at Hallowmere Clinic
Booked for May; bring the Zorblaxitol box.
"""
SECRET_NOTE_ZH = """---
sensitivity: secret
---
# 甲状腺结节复查

## 欧阳娜娜医生的意见
欧阳娜娜医生说甲状腺结节没有变化,半年后再复查。
"""
JSONL = [
    {"text": "The Halcyon Moreau budget is frozen until June.", "time": "2024-03-02T10:00:00Z", "source": "journal",
     "speaker": "Oriane Tremblay-Vasquez", "conversation": "Halcyon Moreau steering"},
    {"text": "长江项目的预算冻结到六月。", "time": "2024-03-02T10:05:00Z", "source": "journal",
     "speaker": "司马光辉", "conversation": "长江项目会议"},
]
WHATSAPP = ("12/03/2024, 09:15 - Thaddeus Okonkwo-Lindqvist: The Pelican vault code changed again\n"
            "12/03/2024, 09:17 - 诸葛明月: 我明天去银行\n")
REMEMBERED = "The Pelican vault PIN is 7395-2846"
PROFILE_SECRET = "Takes Zorblaxitol for Quennellite"
GUEST = "Gwendolyn Marchetti"
# Words only a leak could show (8+ bytes each: random bytes of a cache or an index never match them by chance)
NEEDLES = ["Quennellite", "quennellite", "Zorblaxitol", "Vantongeren", "Hallowmere", "Second opinion",
           "甲状腺结节", "欧阳娜娜", "病历记录", "Halcyon Moreau", "Tremblay-Vasquez", "司马光辉", "长江项目会议",
           "Okonkwo-Lindqvist", "诸葛明月", "Pelican vault", "7395-2846", "Marchetti", "Pokemon-Trainers",
           "Visnjan-holiday"]


def folder_of_life(root: Path) -> Path:
    """The owner's files: real notes and a real chat, and the secret ones written here."""
    folder = root / "life"
    folder.mkdir()
    (folder / "Quennellite-clinic.md").write_text(SECRET_NOTE, encoding="utf-8")
    (folder / "病历记录.md").write_text(SECRET_NOTE_ZH, encoding="utf-8")
    (folder / "meetings.jsonl").write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in JSONL),
                                           encoding="utf-8")
    (folder / "WhatsApp Chat with Okonkwo-Lindqvist.txt").write_text(WHATSAPP, encoding="utf-8")
    shutil.copy(SHARED_DATA / "chat/whatsapp/whatstk_pokemon.txt", folder / "WhatsApp Chat with Pokemon-Trainers.txt")
    shutil.copy(SHARED_DATA / "notes/evernote/yarle_test-note-attributes.enex", folder / "evernote.enex")
    shutil.copy(SHARED_DATA / "gps/gpxpy/around-visnjan-with-car.gpx", folder / "Visnjan-holiday.gpx")
    return folder


def names_in(folder: Path) -> list[str]:
    """Speakers and people of the real files (8+ bytes), which must not be clear either."""
    items = [item for path in sorted(folder.iterdir()) for item in detect_format(path).parse(path)
             if isinstance(item, Item)]
    return sorted({name for item in items for name in (item.speaker, *item.people) if len(name.encode()) >= 8})


def populate(services: Services, root: Path) -> list[str]:
    """Everything a user keeps; the words that must not be readable at rest."""
    folder = folder_of_life(root)
    report = Ingestor(services.store).ingest([folder])
    assert report.errors == [] and report.files == 7
    assert services.store.query("SELECT count(*) FROM place_days") != [(0,)]  # a day of visits, by its file
    now = datetime(2024, 3, 5, 9, tzinfo=UTC)
    services.store.add([NewRecord(REMEMBERED, now, "remember", f"remember:{now.isoformat()}", "note", "remember",
                                  "Remembered", sensitivity=Sensitivity.SECRET)])
    Profile(services.store).add("basics", PROFILE_SECRET, Sensitivity.SECRET)
    GuestList(services.store).allow(GUEST, allow_private=True)
    assert GuestList(services.store).get(GUEST.upper()).allow_private  # found by its keyed name
    return [*NEEDLES, *names_in(folder)]


class EchoingModel:
    """A model whose answer is not JSON: the error quotes it, as llama's parse_answer does."""

    name = "echo"

    def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions = GenerationOptions()
               ) -> Iterator[str]:
        yield "unused"

    def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any],
                      options: GenerationOptions = GenerationOptions()) -> Any:
        raise ModelError(f"echo returned invalid JSON: {messages[-1]['content'][:300]!r}")


def consolidate(services: Services) -> None:
    """Segments, topics (a title from the secret note's tag) and the profile; then a failure that quotes records."""
    Consolidator(services.store, RuleModel()).run()
    hits = services.store.search("Quennellite", k=20, mode="bm25")
    assert any(hit.record.kind == "topic" for hit in hits), "the secret note's tag became a topic"
    services.store.add([NewRecord("Zorblaxitol refill at Hallowmere on Friday", datetime(2024, 3, 9, tzinfo=UTC),
                                  "remember", "remember:refill", sensitivity=Sensitivity.SECRET)])
    consolidator = Consolidator(services.store, EchoingModel())
    consolidator.run()
    assert any("Zorblaxitol" in failure.error for failure in consolidator.failures())


def companion_checks_in(services: Services) -> None:
    """A follow-up from a note, the working memory, and a check-in quoting the note, with the real scheduler."""
    tz = ZoneInfo("Europe/Stockholm")
    monday = datetime(2026, 5, 4, 18, tzinfo=tz)
    services.clock = Clock(tz, monday)
    services.store.add([NewRecord("I'm going to the Hallowmere hospital tomorrow morning", monday, "markdown",
                                  "n-hospital", "note", "/notes/plans.md")])
    companion = services.companion()
    scheduler = services.companion_scheduler(companion)
    scheduler.start(paused=True)
    try:
        companion.observe(monday)
        decision = companion.wake(datetime(2026, 5, 5, 12, tzinfo=tz))
    finally:
        scheduler.shutdown()
    assert decision.reach_out and "Hallowmere" in decision.message
    assert "Hallowmere" in companion.state("last_decision")


# -- reading the data dir as an attacker ---------------------------------------------------------

def _texts(value: Any) -> Iterator[str]:
    """A column's value as text, and whatever JSON inside it holds (escaped non-ASCII included)."""
    text = value.decode("utf-8", "ignore") if isinstance(value, bytes) else str(value)
    yield text
    try:
        inner = json.loads(text)
    except ValueError:
        return
    yield json.dumps(inner, ensure_ascii=False)


def sqlite_texts(path: Path, scratch: Path) -> Iterator[tuple[str, str]]:
    """(where, text) for every column of every table of a SQLite file (read from a copy, with its WAL)."""
    scratch.mkdir(parents=True)
    copy = scratch / path.name
    shutil.copy(path, copy)
    if path.with_name(path.name + "-wal").exists():
        shutil.copy(path.with_name(path.name + "-wal"), copy.with_name(copy.name + "-wal"))
    with sqlite3.connect(copy) as connection:
        tables = [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            try:
                rows = connection.execute(f'SELECT * FROM "{table}"').fetchall()
            except sqlite3.OperationalError:  # a virtual table whose module plain sqlite3 lacks
                continue
            for row in rows:
                for value in row:
                    for text in _texts(value):
                        yield f"{path.name}:{table}", text


def file_bytes(home: Path) -> Iterator[tuple[Path, bytes]]:
    for path in sorted(home.rglob("*")):
        if path.is_file():
            yield path, path.read_bytes()


def found(home: Path, needles: Sequence[str], scratch: Path, extra: Callable[[Path, bytes], str] | None = None,
          ) -> list[str]:
    """Where each needle shows up at rest: raw bytes of any file, decoded SQLite columns, `extra` decodings."""
    hits = []
    for n, (path, data) in enumerate(file_bytes(home)):
        texts = [(str(path), data.decode("utf-8", "ignore")), (str(path), data.decode("utf-16-le", "ignore"))]
        if data.startswith(b"SQLite format 3\x00"):
            texts += list(sqlite_texts(path, scratch / str(n)))
        if extra is not None:
            texts.append((f"{path} (decoded)", extra(path, data)))
        hits += [f"{needle!r} in {where}" for where, text in texts for needle in needles if needle in text]
    return hits


def test_the_data_dir_holds_no_secret_name_or_heading_in_the_clear(secondme_home: Path, tmp_path: Path):
    config = Config(companion=CompanionConfig(timezone="Europe/Stockholm"))
    services = build(config, secondme_home, model=CompanionModel())
    try:
        needles = populate(services, tmp_path)
        consolidate(services)
        companion_checks_in(services)
        assert len(needles) > len(NEEDLES)  # the real chat's speakers are checked too
        record = services.store.search("Zorblaxitol dosage", k=1, mode="bm25")[0].record
        assert "Zorblaxitol dosage" in record.source_id and record.origin.endswith("Quennellite-clinic.md")
    finally:
        services.close()
    hits = found(secondme_home, needles, tmp_path / "scratch")
    assert hits == []


def test_the_scan_finds_what_it_looks_for(tmp_path: Path):
    """The checks above are only worth something if they see a clear word where there is one."""
    home = tmp_path / "data"
    home.mkdir()
    with sqlite3.connect(home / "plain.db") as connection:
        connection.execute("CREATE TABLE t (a TEXT, b BLOB)")
        connection.execute("INSERT INTO t VALUES (?, ?)", (json.dumps({"who": "欧阳娜娜"}), b"Zorblaxitol"))
    assert set(found(home, ["欧阳娜娜", "Zorblaxitol"], tmp_path / "scratch")) == {
        f"'Zorblaxitol' in {home / 'plain.db'}", "'Zorblaxitol' in plain.db:t", "'欧阳娜娜' in plain.db:t"}


# -- the prefix cache, read with the model's own tokenizer ---------------------------------------

OLD_HEADER = struct.Struct("<8sQQ")  # the clear format: magic, token count, state size, then tokens and state


def detokenizer(vocab: Any) -> Callable[[Path, bytes], str]:
    """Read a cache file as the old clear format, and every 4-byte-aligned int32 (at each of the 4
    offsets) that is a token id, detokenized in order: a prompt stored in any int32 layout shows."""
    n_vocab = vocab.n_vocab()

    def decode(path: Path, data: bytes) -> str:
        texts = []
        if len(data) >= OLD_HEADER.size:
            magic, n_tokens, _ = OLD_HEADER.unpack_from(data)
            if magic == b"SMPFX01\n" and OLD_HEADER.size + 4 * n_tokens <= len(data):
                ids = np.frombuffer(data, "<i4", n_tokens, OLD_HEADER.size)
                texts.append(vocab.detokenize(ids.tolist()).decode("utf-8", "ignore"))
        for offset in range(4):
            ids = np.frombuffer(data[offset : offset + (len(data) - offset) // 4 * 4], "<i4")
            ids = ids[(ids >= 0) & (ids < n_vocab)]
            texts.append(vocab.detokenize(ids.tolist()).decode("utf-8", "ignore"))
        return "\n".join(texts)

    return decode


@pytest.mark.model
def test_a_real_chat_leaves_no_secret_in_the_prefix_cache_or_anywhere(
    secondme_home: Path, tmp_path: Path, small_gguf: Path, monkeypatch: pytest.MonkeyPatch
):
    import llama_cpp

    monkeypatch.setenv("SECONDME_MODEL", str(small_gguf))
    services = build(data_dir=secondme_home)
    try:
        needles = populate(services, tmp_path)
        assistant = services.assistant()
        assert PROFILE_SECRET in assistant.profile.profile_text(assistant.audience.visible)  # in the cached prefix
        assistant.ask("What medicine do I take in the morning?")
    finally:
        services.close()
    cache_files = list((secondme_home / "prefix-cache").glob("*.prefix"))
    assert cache_files and all(f.stat().st_size > 100_000 for f in cache_files)
    vocab = llama_cpp.Llama(model_path=str(small_gguf), vocab_only=True, verbose=False)
    decode = detokenizer(vocab)
    # The same reading of a cache in the old clear format gives the secret back: the check can see one.
    tokens = vocab.tokenize(f"Profile: {PROFILE_SECRET}.".encode(), add_bos=False)
    old = OLD_HEADER.pack(b"SMPFX01\n", len(tokens), 4) + np.asarray(tokens, "<i4").tobytes() + b"\x00" * 4
    assert PROFILE_SECRET in decode(tmp_path / "old.prefix", old)
    hits = found(secondme_home, needles, tmp_path / "scratch", extra=decode)
    assert hits == []


# -- origins: a file named like a part of another, and a database from before --------------------

def _texts_of(store: MemoryStore) -> set[str]:
    return {r.text for r in store.records([i for (i,) in store.query("SELECT id FROM records")])}


@pytest.mark.parametrize(("name", "other"), [("a.md", "a.md#b.md"), ("笔记.md", "笔记.md#附录.md"),
                                             ("chat.jsonl", "chat.jsonl#lines-1")])
def test_a_file_named_like_a_part_of_another_keeps_its_records(hash_store: MemoryStore, tmp_path: Path,
                                                               name: str, other: str):
    folder = tmp_path / "notes"
    folder.mkdir()
    first, second = folder / name, folder / other

    def write(path: Path, text: str) -> None:
        line = json.dumps({"text": text, "time": "2024-01-01T00:00:00Z", "source": "journal"}, ensure_ascii=False)
        path.write_text(f"{line}\n" if path.suffix == ".jsonl" else f"# Note\n\n{text}\n", encoding="utf-8")

    write(first, "the first file, version one")
    write(second, "the second file, named like a part of the first")
    assert Ingestor(hash_store).ingest([folder]).errors == []
    assert len(hash_store.origins()) == 2
    write(first, "the first file, version two")
    report = Ingestor(hash_store).ingest([first])  # its stale parts go; the other file is no part of it
    assert report.removed == 1 and _texts_of(hash_store) == {
        "the first file, version two", "the second file, named like a part of the first"}
    first.unlink()
    forget_paths(hash_store, [first], IngestReport())
    assert _texts_of(hash_store) == {"the second file, named like a part of the first"}


def test_a_folder_removed_while_watched_takes_its_files_and_no_other(hash_store: MemoryStore, tmp_path: Path):
    for folder in ("trips", "trips-2024", "旅行"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "day.md").write_text(f"# Day\n\nA day of {folder}.\n", encoding="utf-8")
    Ingestor(hash_store).ingest([tmp_path / f for f in ("trips", "trips-2024", "旅行")])
    report = IngestReport()
    forget_paths(hash_store, [tmp_path / "trips", tmp_path / "旅行"], report)
    assert report.removed == 2 and _texts_of(hash_store) == {"A day of trips-2024."}


LEGACY_NEEDLES = ["Quennellite", "Halcyon Moreau", "Marchetti", "Zorblaxitol", "Vantongeren", "Hallowmere"]


def test_a_database_from_before_is_keyed_and_its_clear_text_erased(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A store written before identities were keyed: its source ids, origins, topic titles, failure
    texts and guests' names become keyed or encrypted, nothing clear stays in the file, and a file
    whose name has "#" is told from a part of another file (it exists on disk)."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.md").write_text("# A\n\nThe first file.\n", encoding="utf-8")
    (notes / "a.md#Quennellite.md").write_text("# B\n\nA file with a hash in its name.\n", encoding="utf-8")
    data, cipher = tmp_path / "data", Cipher(bytes(range(32)))
    data.mkdir()
    monkeypatch.setattr(db_module, "MIGRATIONS", db_module.MIGRATIONS[:8])  # the schema of the last release
    legacy = db_module.open_db(data / "memory.db", cipher)
    monkeypatch.undo()

    def payload(text: str, **extra: str) -> bytes:
        return cipher.encrypt(json.dumps({"text": text, "title": "", "people": [], "place": "", **extra}))

    rows = [("r1", f"{notes / 'a.md'}#Zorblaxitol dosage#0", str(notes / "a.md"), "The first file."),
            ("r2", f"{notes / 'a.md#Quennellite.md'}#B#0", str(notes / "a.md#Quennellite.md"),
             "A file with a hash in its name."),
            ("r3", "x#Halcyon Moreau@2024#Oriane", "/gone/meetings.jsonl#lines-1", "Budget frozen."),
            ("r4", "conversation:abc#0", "conversation:abc", "Hello"),
            # many more, so that pages are rewritten and split, not only overwritten in place
            *((f"n{n}", f"/gone/Hallowmere-{n}.md#Zorblaxitol {n}#0", f"/gone/Hallowmere-{n}.md", f"Note {n}.")
              for n in range(300))]
    for record_id, source_id, origin, text in rows:
        legacy.execute("INSERT INTO records (id, source, source_id, origin, kind, content_hash, time, time_ts, "
                       "sensitivity, payload, created_at) VALUES (?, 'markdown', ?, ?, 'note', ?, "
                       "'2024-01-01T00:00:00+00:00', 1704067200, 'secret', ?, '2024')",
                       (record_id, source_id, origin, record_id, payload(text)))
    legacy.execute("INSERT INTO segment_topics VALUES ('r1', 'Quennellite care')")
    legacy.execute("INSERT INTO consolidation_failures (step, record_ids, error, failed_at) "
                   "VALUES ('segment', '[\"r1\"]', 'invalid JSON: ''Zorblaxitol Vantongeren''', '2024')")
    legacy.execute("INSERT INTO guests VALUES ('Gwendolyn Marchetti', 1, '2024')")
    legacy.execute("""INSERT INTO companion_state VALUES ('last_decision', '{"message": "How was Hallowmere?"}')""")
    legacy.execute("INSERT INTO place_days VALUES ('/gone/Hallowmere.gpx#2024-01-01', ?, 'sig')",
                   (cipher.encrypt(json.dumps({"source": "gpx", "day": {}, "places": {}})),))
    legacy.close()
    written = b"".join(f.read_bytes() for f in data.glob("memory.db*"))
    assert all(needle.encode() in written for needle in LEGACY_NEEDLES)

    store = MemoryStore(data, cipher, HashEmbedder())
    try:
        r1, r2, r3, r4 = store.records(["r1", "r2", "r3", "r4"])
        assert r1.source_id == f"{notes / 'a.md'}#Zorblaxitol dosage#0" and r1.origin == str(notes / "a.md")
        assert r2.origin == str(notes / "a.md%23Quennellite.md")  # a file, escaped: no part of a.md
        assert r3.origin == "/gone/meetings.jsonl#lines-1" and r4.origin == "conversation:abc"
        assert GuestList(store).get("gwendolyn marchetti") == GuestList(store).all()[0]
        assert Consolidator(store, RuleModel()).failures()[0].error == "invalid JSON: 'Zorblaxitol Vantongeren'"
        [(state,)] = store.query("SELECT payload FROM companion_state")
        assert "Hallowmere" in cipher.decrypt(state)
        (notes / "a.md").write_text("# A\n\nThe first file, changed.\n", encoding="utf-8")
        Ingestor(store).ingest([notes / "a.md"])
        assert {"The first file, changed.", "A file with a hash in its name."} <= _texts_of(store)
        assert "The first file." not in _texts_of(store)
        open_files = {f.name: f.read_bytes() for f in data.glob("memory.db*")}  # while the store is in use
    finally:
        store.close()
    closed = {f.name: f.read_bytes() for f in data.glob("memory.db*")}
    clear = [(n, name) for files in (open_files, closed) for name, data in files.items() for n in LEGACY_NEEDLES
             if n.encode() in data]
    assert clear == []
