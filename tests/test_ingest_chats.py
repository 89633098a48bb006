"""Chat exports (WhatsApp, Telegram, Signal, Instagram): real third-party samples parse as their expected
parses say; conversations, owners, idempotence, resumability and clear errors.

Samples: ../shared/data/chat/ (chat-miner test/ exports with chatminer_target.json, whatstk
chats/whatsapp/pokemon, chatstyle tests/fixtures/result.json; see ../shared/data/MANIFEST.md).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.formats import detect_format
from ingest.instagram import parse_instagram
from ingest.items import Item, ParseError
from ingest.signal import parse_signal
from ingest.telegram import parse_telegram
from ingest.whatsapp import parse_whatsapp
from secondme.cli import main
from secondme.ingestion import Ingestor
from secondme.memory.crypto import Cipher
from secondme.memory.store import MemoryStore
from secondme.memory.vectors import VectorIndex
from secondme.owners import ChatOwners
from tests.conftest import SHARED_DATA
from tests.fakes import HashEmbedder

CHAT = SHARED_DATA / "chat"
WHATSAPP = CHAT / "whatsapp"
TELEGRAM = CHAT / "telegram"
CHATMINER_WHATSAPP = sorted(WHATSAPP.glob("chatminer_test_*.txt"))


def target(folder: Path) -> list[tuple[str, str, str]]:
    """chat-miner's expected parse: (timestamp, author, message), in time order."""
    rows = json.loads((folder / "chatminer_target.json").read_text(encoding="utf-8"))
    return sorted((r["timestamp"], r["author"], r["message"]) for r in rows)


def items_of(parsed: Iterator[Item | ParseError]) -> list[Item]:
    found = list(parsed)
    assert not [e for e in found if isinstance(e, ParseError)]
    return found  # type: ignore[return-value]


def as_rows(items: list[Item], utc: bool = False) -> list[tuple[str, str, str]]:
    """Items as chat-miner writes them: wall-clock (or UTC) time, author, text on one line."""
    rows = []
    for item in items:
        moment = item.time.astimezone(UTC) if utc else item.time
        assert item.text.startswith(f"{item.speaker}: ")
        text = " ".join(item.text.removeprefix(f"{item.speaker}: ").split())
        rows.append((moment.replace(tzinfo=None).isoformat(), item.speaker, text))
    return sorted(rows)


@pytest.mark.parametrize("path", CHATMINER_WHATSAPP, ids=lambda p: p.stem)
def test_whatsapp_date_formats_parse_as_chatminer_expects(path: Path):
    assert len(CHATMINER_WHATSAPP) == 5
    assert detect_format(path).name == "whatsapp"
    items = items_of(parse_whatsapp(path))
    assert as_rows(items) == target(WHATSAPP)  # system lines ("created group", "You were added") are not messages
    multi_line = next(i for i in items if i.speaker == "Jahn Doe")
    assert multi_line.text == "Jahn Doe: Lorem ipsum dolor sit amet,\nconsectetur adipiscing elit. Duis libero."
    assert all(i.source == "whatsapp" and i.kind == "message" and i.origin.startswith(f"{path.resolve()}#")
               for i in items)


def test_whatsapp_dotted_dates_group_into_conversations_by_time_gaps():
    items = items_of(parse_whatsapp(WHATSAPP / "whatstk_pokemon.txt"))
    assert len(items) == 18  # 20 lines less the two end-to-end encryption notices
    assert not any("encrypted" in i.text or "encryption" in i.text for i in items)
    first = items[0]
    assert (first.time.replace(tzinfo=None), first.speaker) == (datetime(2016, 8, 6, 13, 23), "Ash Ketchum")
    assert first.title == "WhatsApp: whatstk_pokemon"
    conversations: dict[str, list[Item]] = {}
    for item in items:
        conversations.setdefault(item.origin, []).append(item)
    assert [len(c) for c in conversations.values()] == [6, 1, 3, 4, 1, 1, 2]  # cut at silences over 6 hours
    assert conversations[first.origin][0].people == ("Ash Ketchum", "Brock", "Misty")
    assert len({(i.origin, i.source_id) for i in items}) == 18


def test_signal_and_instagram_samples_parse_as_chatminer_expects():
    signal = CHAT / "signal" / "chatminer_test_export.txt"
    instagram = CHAT / "instagram" / "chatminer_test_export.json"
    assert (detect_format(signal).name, detect_format(instagram).name) == ("signal", "instagram")
    assert as_rows(items_of(parse_signal(signal))) == target(CHAT / "signal")
    insta = items_of(parse_instagram(instagram))
    assert as_rows(insta, utc=True) == target(CHAT / "instagram")
    assert [i.speaker for i in insta] == ["Jane Doe", "John Doe"]  # the export is newest first; items are in order


@pytest.mark.parametrize("name", ["chatminer_test_single_export.json", "chatminer_test_batch_export.json"])
def test_telegram_single_and_account_exports_parse_as_chatminer_expects(name: str):
    path = TELEGRAM / name
    assert detect_format(path).name == "telegram"
    items = items_of(parse_telegram(path))
    assert as_rows(items, utc=True) == target(TELEGRAM)  # the second text is an entity list
    assert items[1].text == "Author 2: Link: https://telegram.org/"


def test_telegram_rich_chat_entities_forwards_service_and_media():
    items = items_of(parse_telegram(TELEGRAM / "chatstyle_result.json"))
    texts = [i.text for i in items]
    assert texts == [
        "Анна Петрова: привет))",
        "Борис: Привет. Как дела?",
        "Анна Петрова: смотри https://example.com/a круто",
        "Анна Петрова: ну реально норм, @boris_k глянь",
        "Борис: Посмотрю вечером.",
        "Анна Петрова: (forwarded from Какой-то канал) это чужое сообщение переслано",
        "Анна Петрова: [photo] короче вот фотка",
        "Борис: ок",
        "Анна Петрова: ладно))\nщас дойду",
    ]  # the pin (a service message), the bare sticker and the empty message are left out
    assert {i.title for i in items} == {"Telegram: Борис"} and len({i.origin for i in items}) == 1
    assert [i.kind for i in items].count("forwarded_message") == 1  # not the sender's own words
    assert items[0].time == datetime(2023, 5, 1, 12, 1, tzinfo=UTC)
    assert items[0].people == ("Анна Петрова", "Борис")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_whatsapp_ios_12_hour_media_placeholders_and_system_lines(tmp_path: Path):
    nnbsp, lrm = "\u202f", "\u200e"
    lines = [
        f"{lrm}[12/03/2023, 9:15:03{nnbsp}PM] Ana Lima: {lrm}Messages and calls are end-to-end encrypted.",
        f"[12/03/2023, 9:15:10{nnbsp}PM] Ana Lima: Are we still on for the climbing gym?",
        f"[12/03/2023, 9:16:00{nnbsp}PM] Rui: yes!",
        "see you at 7",
        f"[12/03/2023, 9:17:00{nnbsp}PM] Ana Lima: {lrm}image omitted",
        f"[12/03/2023, 9:18:00{nnbsp}PM] Ana Lima: {lrm}<attached: 00000031-PHOTO-2023-03-12-21-18-00.jpg>",
        f"[12/03/2023, 9:19:00{nnbsp}PM] Ana Lima: {lrm}<attached: 00000032-Tickets.pdf>",
        f"[12/03/2023, 9:20:00{nnbsp}PM] Rui: This message was deleted",
        f"[12/03/2023, 9:21:00{nnbsp}PM] Rui: fixed the typo {lrm}<This message was edited>",
        f"{lrm}[12/03/2023, 9:22:00{nnbsp}PM] Ana Lima changed the group description",
        f"[13/03/2023, 8:00:00{nnbsp}AM] Ana Lima: morning",
    ]
    folder = tmp_path / "WhatsApp Chat - Ana Lima"
    folder.mkdir()
    path = write(folder / "_chat.txt", "\n".join(lines) + "\n")
    assert detect_format(path).name == "whatsapp"
    items = items_of(parse_whatsapp(path))
    assert [i.text for i in items] == [
        "Ana Lima: Are we still on for the climbing gym?", "Rui: yes!\nsee you at 7",
        "Ana Lima: [file: 00000032-Tickets.pdf]", "Rui: fixed the typo", "Ana Lima: morning"]
    assert items[0].time.replace(tzinfo=None) == datetime(2023, 3, 12, 21, 15, 10)
    assert items[-1].time.replace(tzinfo=None) == datetime(2023, 3, 13, 8, 0)
    assert items[0].title == "WhatsApp: Ana Lima"


def test_whatsapp_android_media_and_ambiguous_month_first_dates(tmp_path: Path):
    path = write(tmp_path / "WhatsApp Chat with Ben.txt", "\n".join([
        "01/02/20, 10:00 - Ana: <Media omitted>",
        "01/03/20, 10:00 - Ana: IMG-20200103-WA0001.jpg (file attached)",
        "the view from the top",
        "01/04/20, 10:00 - Ben added Carla",
        "02/01/20, 10:00 - Ben: every date here fits both orders; only month-first runs forward",
    ]))
    items = items_of(parse_whatsapp(path))
    assert [i.text for i in items] == ["Ana: [photo] the view from the top",
                                       "Ben: every date here fits both orders; only month-first runs forward"]
    assert [i.time.date().isoformat() for i in items] == ["2020-01-03", "2020-02-01"]
    assert items[0].title == "WhatsApp: Ben"


def test_bad_lines_are_errors_with_their_line_and_the_rest_goes_on(tmp_path: Path):
    path = write(tmp_path / "chat.txt", "25/01/20, 10:00 - Ana: fine\n31/02/20, 10:00 - Ana: no such day\n"
                                        "a continuation of the bad one\n26/01/20, 11:00 - Ben: also fine\n")
    found = list(parse_whatsapp(path))
    errors = [str(e) for e in found if isinstance(e, ParseError)]
    assert errors == [f"{path}:line 2: 31/02/20 10:00 is not a valid date and time (day is out of range for month)"]
    assert [i.text for i in found if isinstance(i, Item)] == ["Ana: fine", "Ben: also fine"]


@pytest.mark.parametrize(
    ("content", "problem", "position"),
    [
        ("25/01/20, 10:00 - Ana: Café\n".encode("latin-1"), "not valid UTF-8 text (byte 0xe9", "line 1"),
        (b"25/01/20, 10:00 - Ana: hi\n" + b"x" * 300_000, "bytes long; not a chat export", "line 2"),
        (b"25/01/20, 10:00 - Ana: hi\n\x00\x01", "binary data", "line 2"),
    ],
)
def test_unreadable_whatsapp_files_raise_a_parse_error(tmp_path: Path, content: bytes, problem: str, position: str):
    path = tmp_path / "chat.txt"
    path.write_bytes(content)
    with pytest.raises(ParseError) as raised:
        list(detect_format(path).parse(path))
    assert raised.value.path == str(path) and problem in raised.value.problem and raised.value.position == position


def test_truncated_telegram_json_names_the_file_and_byte(tmp_path: Path):
    whole = (TELEGRAM / "chatstyle_result.json").read_bytes()
    path = tmp_path / "result.json"
    path.write_bytes(whole[:2000])
    assert detect_format(path).name == "telegram"
    with pytest.raises(ParseError) as raised:
        list(parse_telegram(path))
    assert str(raised.value) == f"{path}:byte 2000: the JSON ends too soon: the file is cut off (truncated?)"


def test_empty_and_malformed_json_files_are_parse_errors(tmp_path: Path):
    empty = tmp_path / "result.json"
    empty.write_bytes(b"")
    with pytest.raises(ParseError, match="the file is empty"):
        detect_format(empty)
    bad = write(tmp_path / "bad.json", '{"messages": [{"type": "message", "date_unixtime": "1", "text": "x"}] ]')
    with pytest.raises(ParseError, match=r"bad\.json:byte \d+: not valid JSON"):
        list(detect_format(bad).parse(bad))


def account_export(tmp_path: Path, extra: list[dict] | None = None) -> Path:
    """A small full-account Telegram export that names its owner (user 7, Rui Costa)."""
    def msg(n: int, sender: str, text: object, **more: object) -> dict:
        return {"id": n, "type": "message", "date_unixtime": str(1_700_000_000 + n * 60), "from": sender,
                "from_id": "user7" if sender == "Rui Costa" else "user8", "text": text, **more}

    export = {
        "about": "Here is the data you requested.",
        "personal_information": {"user_id": 7, "first_name": "Rui", "last_name": "Costa"},
        "chats": {"list": [
            {"name": "Ana", "type": "personal_chat", "id": 8, "messages": [
                msg(1, "Ana", "lunch tomorrow?"), msg(2, "Rui Costa", "sure, the ramen place"),
                msg(3, "Ana", 42), msg(4, "Ana", "", photo="(File not included.)"),
                *(extra or [])]},
        ]},
        "left_chats": {"list": [
            {"name": "Old group", "type": "private_group", "id": 9, "messages": [msg(5, "Rui Costa", "bye all")]},
        ]},
    }
    return write(tmp_path / "result.json", json.dumps(export))


def test_telegram_account_export_tags_the_owner_and_reports_a_bad_message(tmp_path: Path):
    path = account_export(tmp_path)
    found = list(parse_telegram(path))
    errors = [str(e) for e in found if isinstance(e, ParseError)]
    assert errors == [f"{path}:message 3: Telegram: Ana: `text` is neither a string nor a list of text parts"]
    items = [i for i in found if isinstance(i, Item)]
    assert [(i.text, i.kind) for i in items] == [
        ("Ana: lunch tomorrow?", "message"), ("Rui Costa: sure, the ramen place", "own_message"),
        ("Rui Costa: bye all", "own_message")]
    assert [i.origin.removeprefix(f"{path.resolve()}#") for i in items] == [
        "8/2023-11-14T22:14:20", "8/2023-11-14T22:14:20", "9/2023-11-14T22:18:20"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MemoryStore]:
    data = tmp_path / "data"
    opened = MemoryStore(data, Cipher(bytes(range(32))), HashEmbedder(), VectorIndex.persistent(data / "chroma"))
    yield opened
    opened.close()


def kinds(store: MemoryStore) -> dict[str, int]:
    return dict(store.query("SELECT kind, count(*) FROM records GROUP BY kind"))


def test_owner_is_read_from_the_export_remembered_and_tagged(store: MemoryStore, tmp_path: Path):
    report = Ingestor(store).ingest([account_export(tmp_path)])
    assert report.owners["telegram"].name == "Rui Costa" and report.owners["telegram"].how == "export"
    assert kinds(store) == {"message": 1, "own_message": 2}
    assert ChatOwners(store).known["telegram"].name == "Rui Costa"
    assert store.query("SELECT count(*) FROM chat_owners WHERE CAST(payload AS TEXT) LIKE '%Rui%'") == [(0,)]


def test_owner_is_asked_once_per_app_and_the_configured_name_is_the_default(store: MemoryStore, tmp_path: Path):
    chat = Path(shutil.copy(WHATSAPP / "whatstk_pokemon.txt", tmp_path / "pokemon.txt"))
    asked: list[tuple[str, list[tuple[str, int]]]] = []

    def ask(source: str, ranking: list[tuple[str, int]]) -> str:
        asked.append((source, ranking))
        return "Misty"

    Ingestor(store, ChatOwners(store, ask=ask)).ingest([chat])
    Ingestor(store, ChatOwners(store, ask=ask)).ingest([chat])
    assert [(source, ranking[:3]) for source, ranking in asked] == [
        ("whatsapp", [("Ash Ketchum", 4), ("Misty", 4), ("Brock", 3)])]  # asked once, senders by rank
    assert kinds(store) == {"message": 14, "own_message": 4}
    store.write("DELETE FROM chat_owners")
    report = Ingestor(store, ChatOwners(store, hint="brock")).ingest([chat])  # config owner.name
    assert report.owners["whatsapp"].name == "Brock" and kinds(store) == {"message": 15, "own_message": 3}


def test_killed_ingest_resumes_without_duplicates_or_loss(store: MemoryStore, tmp_path: Path):
    chat = shutil.copy(WHATSAPP / "whatstk_pokemon.txt", tmp_path / "pokemon.txt")

    class Killed(BaseException):
        pass

    real = store.replace_origin
    calls = 0

    def dies_after_three(origin, records, *args):  # noqa: ANN001, ANN002, ANN202
        nonlocal calls
        calls += 1
        if calls > 3:
            raise Killed
        return real(origin, records, *args)

    store.replace_origin = dies_after_three  # type: ignore[method-assign]
    with pytest.raises(Killed):
        Ingestor(store).ingest([Path(chat)])
    store.replace_origin = real  # type: ignore[method-assign]
    assert store.count() == 10  # three conversations were stored when it died
    report = Ingestor(store).ingest([Path(chat)])
    assert (report.added, report.skipped, report.removed) == (8, 10, 0)
    assert store.count() == 18
    assert len(set(store.query("SELECT origin, source_id FROM records"))) == 18


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def own_senders(home: Path) -> dict[str, int]:
    with sqlite3.connect(home / "memory.db") as db:
        return dict(db.execute("SELECT kind, count(*) FROM records WHERE source = 'whatsapp' GROUP BY kind"))


def test_cli_ingest_is_idempotent_guesses_the_owner_and_me_overrides(capsys, secondme_home: Path, tmp_path: Path):
    chats = tmp_path / "chats"
    chats.mkdir()
    for path in CHATMINER_WHATSAPP:
        shutil.copy(path, chats / path.name)
    code, out, err = run(capsys, "ingest", str(chats))
    assert code == 0 and "5 file(s): 30 new record(s)" in out and not err
    assert 'You are "John Doe" in whatsapp chats (the most frequent sender)' in out
    assert own_senders(secondme_home) == {"message": 20, "own_message": 10}
    code, out, _ = run(capsys, "ingest", str(chats))
    assert code == 0 and "5 file(s): 0 new record(s), 30 unchanged, 0 removed, 0 error(s)" in out
    assert "You are" not in out  # remembered, not guessed again
    code, out, _ = run(capsys, "ingest", "--me", "Jahn Doe", str(chats))
    assert code == 0 and "15 new record(s), 15 unchanged, 15 removed" in out  # only re-tagged messages change
    assert own_senders(secondme_home) == {"message": 25, "own_message": 5}


def test_cli_changed_export_adds_only_the_new_messages(capsys, tmp_path: Path):
    chat = Path(shutil.copy(WHATSAPP / "whatstk_pokemon.txt", tmp_path / "WhatsApp Chat with Pokemon.txt"))
    assert run(capsys, "ingest", str(chat))[0] == 0
    with chat.open("a", encoding="utf-8") as handle:
        handle.write("31.10.2016, 13:00 - Wobbuffet: Wobbuffet!\n02.11.2016, 09:00 - Misty: Anyone for Sinnoh?\n")
    code, out, _ = run(capsys, "ingest", str(chat))
    assert code == 0 and "1 file(s): 2 new record(s), 18 unchanged, 0 removed, 0 error(s)" in out
    code, out, _ = run(capsys, "search", "Sinnoh", "--json")
    hits = json.loads(out)
    assert hits[0]["text"] == "Misty: Anyone for Sinnoh?" and hits[0]["title"] == "WhatsApp: Pokemon"
