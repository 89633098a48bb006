"""One bad line or object never stops an ingest: JSON nested too deep, lines and values too big, in every JSON
reader (JSON Lines, Telegram, Instagram, Takeout, Timeline, OwnTracks), and a parser's own crash."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import formats
from ingest.formats import detect_format
from ingest.gps.jsonitems import items
from ingest.gps.points import Tally
from ingest.instagram import parse_instagram
from ingest.items import Item, ParseError
from ingest.jsonl import parse_jsonl
from ingest.jsonlimits import MAX_DEPTH, MAX_VALUE_BYTES, Scanner, too_deep
from ingest.telegram import parse_telegram
from secondme.app import build
from secondme.ingestion import Ingestor
from tests.conftest import SHARED_DATA

DEEP = 100_000  # what made the old readers raise RecursionError (and would take ijson's paths to gigabytes)
TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep; skipped"


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def record(text: str, day: int, **more: object) -> str:
    return json.dumps({"text": text, "time": f"2024-03-{day:02d}T10:00:00", "source": "journal", **more},
                      ensure_ascii=False)


def results(path: Path) -> tuple[list[str], list[str]]:
    texts, errors = [], []
    for line in parse_jsonl(path):
        if line.item:
            texts.append(line.item.text)
        else:
            errors.append(str(line.error))
    return texts, errors


def test_a_deeply_nested_json_line_is_that_lines_error_and_the_rest_goes_on(tmp_path: Path):
    path = tmp_path / "journal.jsonl"
    path.write_text("\n".join([
        record("Walked to the market", 1), nested(DEEP), record("和妹妹去公园散步", 2),
        record("Hidden", 3, extra=json.loads("[]")).replace('"extra": []', f'"extra": {nested(DEEP)}'),
        record("Called the plumber", 4)]) + "\n", encoding="utf-8")
    assert detect_format(path).name == "jsonl"
    texts, errors = results(path)
    assert texts == ["Walked to the market", "和妹妹去公园散步", "Called the plumber"]
    assert errors == [f"{path}:line 2: {TOO_DEEP}", f"{path}:line 4: {TOO_DEEP}"]


def test_the_depth_limit_is_exact(tmp_path: Path):
    path = tmp_path / "edge.jsonl"
    path.write_text(record("as deep as allowed", 1, extra=json.loads(nested(MAX_DEPTH - 1))) + "\n"
                    + record("one level more", 2, extra=json.loads(nested(MAX_DEPTH))) + "\n", encoding="utf-8")
    texts, errors = results(path)
    assert texts == ["as deep as allowed"] and errors == [f"{path}:line 2: {TOO_DEEP}"]


def test_a_deep_first_line_does_not_break_format_detection(tmp_path: Path):
    for name in ("deep.json", "deep.txt", "深.md"):
        path = tmp_path / name
        path.write_text(nested(DEEP) + "\n", encoding="utf-8")
        try:
            found = list(detect_format(path).parse(path))
        except ParseError as error:
            assert str(path) in str(error)
        else:
            assert all(isinstance(part, Item | ParseError) for part in found)


def test_a_huge_json_line_is_skipped_unread(tmp_path: Path):
    path = tmp_path / "big.jsonl"
    with path.open("w", encoding="utf-8") as out:
        out.write(record("before", 1) + "\n" + '{"text": "' + "x" * (64 << 20) + '"}\n' + record("之后", 2) + "\n")
    tracemalloc.start()
    texts, errors = results(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert texts == ["before", "之后"]
    assert errors == [f"{path}:line 2: the line is longer than 4.0 MB; skipped"]
    assert peak < 16 << 20, f"a 64 MB line took {peak / 2**20:.0f} MB to skip"


def telegram_export(path: Path, chats: list[list[str]]) -> Path:
    """A Telegram account export; each chat a list of messages given as JSON text (so they may nest deep)."""
    listed = ", ".join(
        f'{{"name": "Chat {n}", "type": "personal_chat", "id": {n}, "extra": {nested(DEEP)}, '
        f'"messages": [{", ".join(messages)}]}}' for n, messages in enumerate(chats, start=1))
    path.write_text('{"personal_information": {"user_id": 7}, "chats": {"list": [' + listed + "]}}", encoding="utf-8")
    return path


def message(n: int, text: str) -> str:
    return json.dumps({"id": n, "type": "message", "date_unixtime": str(1_700_000_000 + n * 60), "from": "Ana",
                       "from_id": "user8", "text": "@"}, ensure_ascii=False).replace('"@"', text)


def test_telegram_skips_a_deep_or_huge_message_and_reads_on(tmp_path: Path):
    huge = json.dumps(["x" * 10_000] * (MAX_VALUE_BYTES // 10_000 + 100))  # many small strings: no one is too long
    path = telegram_export(tmp_path / "result.json", [
        [message(1, '"lunch tomorrow?"'), message(2, nested(DEEP, '"deep"')), message(3, '"去吃拉面"'),
         message(4, huge), message(5, '"see you"')]])
    assert detect_format(path).name == "telegram"
    found = list(parse_telegram(path))
    assert [i.text for i in found if isinstance(i, Item)] == ["Ana: lunch tomorrow?", "Ana: 去吃拉面", "Ana: see you"]
    errors = [str(e) for e in found if isinstance(e, ParseError)]
    assert len(errors) == 2
    assert errors[0].startswith(f"{path}:byte ") and errors[0].endswith(f": Telegram: Chat 1: a message {TOO_DEEP}")
    assert errors[1].endswith(": Telegram: Chat 1: a message over 16.0 MB; skipped")


def test_a_string_too_long_to_hold_stops_the_file_and_keeps_what_came_before(tmp_path: Path):
    folder = tmp_path / "exports"
    folder.mkdir()
    path = telegram_export(folder / "result.json", [
        [message(1, '"the first chat"')], [message(2, '"第二个聊天"')], [message(3, '"' + "x" * (17 << 20) + '"')]])
    (folder / "z_after.md").write_text("# After\n\nread after the bad export\n", encoding="utf-8")
    kept = []
    with pytest.raises(ParseError, match=r"result\.json:byte \d+: holds a string over 16\.0 MB long"):
        for part in parse_telegram(path):
            kept.append(part.text)
    assert kept == ["Ana: the first chat", "Ana: 第二个聊天"]
    services = build()
    report = Ingestor(services.store).ingest([folder])
    texts = [r.text for r in services.store.records([i for (i,) in services.store.query("SELECT id FROM records")])]
    services.close()
    # each part (a conversation) is stored once the next begins: the one open when the file broke is not
    assert "Ana: the first chat" in texts and any("read after the bad export" in t for t in texts)
    assert len(report.errors) == 1 and "holds a string over 16.0 MB long" in report.errors[0]


def test_instagram_skips_a_deep_message(tmp_path: Path):
    def entry(ms: int, content: str) -> str:
        return f'{{"sender_name": "Ana", "timestamp_ms": {ms}, "content": {content}}}'

    path = tmp_path / "message_1.json"
    path.write_text('{"participants": [{"name": "Ana"}], "title": "Ana", "messages": ['
                    + ", ".join([entry(1_700_000_300_000, '"see you"'), entry(1_700_000_200_000, nested(DEEP)),
                                 entry(1_700_000_100_000, '"你好"')]) + "]}", encoding="utf-8")
    assert detect_format(path).name == "instagram"
    found = list(parse_instagram(path))
    assert [i.text for i in found if isinstance(i, Item)] == ["Ana: 你好", "Ana: see you"]
    assert [str(e) for e in found if isinstance(e, ParseError)] == [f"{path}:message 2: {TOO_DEEP}"]


def test_takeout_records_skip_deep_and_huge_records_once_each(tmp_path: Path):
    records = [{"latitudeE7": 460500000 + n, "longitudeE7": 145000000, "timestamp": f"2024-03-01T{n // 3600 % 24:02d}:"
                f"{n // 60 % 60:02d}:{n % 60:02d}Z"} for n in range(3000)]
    texts = [json.dumps(r) for r in records]
    texts[2000] = texts[2000][:-1] + f', "deep": {nested(DEEP)}}}'  # after the fast reader has handed on 2000
    texts[2500] = texts[2500][:-1] + f', "big": {json.dumps(["x" * 10_000] * (MAX_VALUE_BYTES // 10_000 + 100))}}}'
    path = tmp_path / "Records.json"
    path.write_text('{"locations": [' + ",\n".join(texts) + "]}", encoding="utf-8")
    tally = Tally(str(path))
    got = list(items(path, "locations.item", tally))
    assert [n for n, _ in got] == [n for n in range(3000) if n not in (2000, 2500)]
    assert all(value == records[n] for n, value in got)
    assert [str(e) for e in tally.errors()] == [
        f"{path}:locations[2000]: 1 record(s) skipped: a record {TOO_DEEP.removesuffix('; skipped')}",
        f"{path}:locations[2500]: 1 record(s) skipped: a record over 16.0 MB"]
    parsed = list(detect_format(path).parse(path))
    assert any(isinstance(p, Item) for p in parsed)
    assert sum(isinstance(p, ParseError) and "locations[2000]" in str(p) for p in parsed) == 1


def test_timeline_skips_a_deep_segment(tmp_path: Path):
    sample = SHARED_DATA / "gps" / "dawarich" / "google_timeline_new_format.json"
    if not sample.exists():
        pytest.skip("shared data not present")
    text = sample.read_text(encoding="utf-8")
    assert '"semanticSegments": [' in text
    deep = tmp_path / "Timeline.json"
    deep.write_text(text.replace('"semanticSegments": [', '"semanticSegments": [{"startTime": "2024-01-01T00:00:00Z"'
                                 f', "visit": {nested(DEEP)}}}, ', 1), encoding="utf-8")
    plain = [p.text for p in detect_format(sample).parse(sample) if isinstance(p, Item)]
    parsed = list(detect_format(deep).parse(deep))
    assert [p.text for p in parsed if isinstance(p, Item)] == plain
    assert [str(e) for e in parsed if isinstance(e, ParseError)] == [
        f"{deep}:semanticSegments[0]: 1 record(s) skipped: a record nested more than {MAX_DEPTH} levels deep"]


def test_owntracks_skips_deep_and_long_lines(tmp_path: Path):
    lines = [f'2024-03-01T10:{m:02d}:00Z owntracks/me/phone {{"_type": "location", "tst": {1_709_287_200 + m * 60}, '
             f'"lat": 46.05, "lon": 14.5, "acc": 10}}' for m in range(10)]
    lines[3] = f'2024-03-01T10:03:00Z owntracks/me/phone {{"_type": "location", "x": {nested(DEEP)}}}'
    lines[6] = '2024-03-01T10:06:00Z owntracks/me/phone {"_type": "location", "x": "' + "y" * (2 << 20) + '"}'
    path = tmp_path / "2024-03.rec"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert detect_format(path).name == "owntracks"
    errors = [str(p) for p in detect_format(path).parse(path) if isinstance(p, ParseError)]
    assert f"{path}:line 4: 1 record(s) skipped: JSON nested more than {MAX_DEPTH} levels deep" in errors
    assert f"{path}:line 7: 1 record(s) skipped: a line longer than 1.0 MB" in errors


def test_an_ingest_goes_on_past_a_bad_line_and_past_a_parser_that_crashes(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a.jsonl").write_text(record("kept before", 1) + "\n" + nested(DEEP) + "\n" + record("留下", 2) + "\n",
                                    encoding="utf-8")
    (folder / "b.md").write_text("# Crashes\n\nnever read\n", encoding="utf-8")
    (folder / "c.md").write_text("# After\n\nread after the crash\n", encoding="utf-8")
    real = formats._note

    def crashing(path: Path) -> formats.Parsed:  # a parser bug, for this one file
        if path.name == "b.md":
            raise RecursionError("maximum recursion depth exceeded")
        yield from real(path)

    monkeypatch.setattr(formats, "FORMATS", [f if f.name != "markdown" else formats.Format(f.name, f.sniff, crashing)
                                             for f in formats.FORMATS])
    services = build()
    report = Ingestor(services.store).ingest([folder])
    texts = [r.text for r in services.store.records([i for (i,) in services.store.query("SELECT id FROM records")])]
    services.close()
    assert report.errors == [f"{folder / 'a.jsonl'}:line 2: {TOO_DEEP}",
                             f"{folder / 'b.md'}: could not be read (RecursionError: maximum recursion depth exceeded)"]
    for kept in ("kept before", "留下", "read after the crash"):
        assert any(kept in t for t in texts), kept


def _plain_reading(data: bytes, item_depth: int) -> tuple[int, int, int]:
    """(deepest, longest string, largest item) byte by byte: what Scanner must find with numpy."""
    depth = deepest = longest = largest = 0
    inside = escaped = False
    string = item = -1
    for at, byte in enumerate(data):
        if inside:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                inside, longest = False, max(longest, at - string + 1)
            continue
        if byte == 0x22 and not escaped:
            inside, string = True, at
        elif byte == 0x5C:
            escaped = not escaped
            continue
        elif byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
            item = at if depth == item_depth else item
        elif byte in b"]}":
            depth -= 1
            if depth == item_depth - 1 and item >= 0:
                largest, item = max(largest, at - item + 1), -1
        escaped = False
    longest = max(longest, len(data) - string) if inside else longest
    return deepest, longest, max(largest, len(data) - item) if item >= 0 else largest


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.binary(max_size=200) | st.lists(st.sampled_from([b"[", b"]", b"{", b"}", b'"', b"\\", b"a", b","]),
                                               max_size=200).map(b"".join),
       cuts=st.lists(st.integers(1, 40), max_size=20), item_depth=st.integers(1, 4))
def test_the_scanner_finds_what_a_plain_reading_finds(data: bytes, cuts: list[int], item_depth: int):
    scanner, at = Scanner(item_depth), 0
    for size in [*cuts, len(data)]:
        scanner.feed(data[at:at + size])
        at += size
    assert (scanner.deepest, scanner.longest, scanner.largest) == _plain_reading(data, item_depth)


def test_too_deep_counts_only_brackets_outside_strings():
    assert not too_deep(json.dumps({"text": "[" * 500}).encode())
    assert too_deep(nested(MAX_DEPTH + 1).encode()) and not too_deep(nested(MAX_DEPTH).encode())
    assert not too_deep(json.dumps({"text": '\\"' + "{" * 100}).encode())
