"""Notes formats: Obsidian vaults, Evernote exports, PDFs; parsers picked by content; bad and huge input."""

from __future__ import annotations

import json
import re
import tracemalloc
from pathlib import Path

import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from ingest.evernote import parse_enex
from ingest.formats import detect_format
from ingest.items import Item, ParseError
from ingest.jsonl import parse_jsonl
from ingest.notes import parse_note
from ingest.pdf import parse_pdf
from secondme.cli import main
from tests.conftest import SHARED_DATA, TEST_DATA

VAULT = TEST_DATA / "notes" / "vault"
EVERNOTE = SHARED_DATA / "notes" / "evernote"  # ../shared/data/notes/evernote: akosbalasko/yarle test data, MIT
TWO_GB = 2 * 1024**3


def make_pdf(path: Path, pages: list[list[str]], title: str = "", created: str = "",
             outline: dict[int, str] | None = None) -> Path:
    """A PDF whose pages hold these lines of text (Helvetica), with optional metadata and outline."""
    writer = PdfWriter()
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    for lines in pages:
        page = writer.add_blank_page(612, 792)
        shown = ["(" + re.sub(r"([()\\])", r"\\\1", line) + ") Tj T*" for line in lines]
        stream = DecodedStreamObject()
        stream.set_data("\n".join(["BT /F1 11 Tf 14 TL 72 720 Td", *shown, "ET"]).encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject({
            NameObject("/F1"): font})})
    for index, heading in (outline or {}).items():
        writer.add_outline_item(title=heading, page_number=index)
    metadata = {k: v for k, v in (("/Title", title), ("/CreationDate", created)) if v}
    if metadata:
        writer.add_metadata(metadata)
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def sparse(path: Path, size: int = TWO_GB, head: bytes = b"") -> Path:
    """A file of `size` bytes that takes no disk space: `head`, then a hole."""
    with path.open("wb") as handle:
        handle.write(head)
        handle.truncate(size)
    return path


def errors(parts: list[Item | ParseError]) -> list[ParseError]:
    return [p for p in parts if isinstance(p, ParseError)]


# --- Obsidian -------------------------------------------------------------------------------------


def test_obsidian_wikilinks_become_links_and_the_text_keeps_what_a_reader_sees():
    intro, plans = parse_note(VAULT / "Lisbon trip.md")
    assert intro.links == ("Ines Lindqvist", "Alfama")
    assert "Flights booked with Ines;" in intro.text and "near the old town" in intro.text
    assert "[[" not in intro.text + plans.text
    assert plans.links == ("Sintra",)  # ![[tram.jpg]] is an attachment, not a note
    assert plans.title == "Lisbon trip > Day plans"
    assert intro.people == ("Ines Lindqvist",)


def test_obsidian_tags_stay_searchable_and_dates_come_from_front_matter_or_file_name():
    intro, plans = parse_note(VAULT / "Lisbon trip.md")
    assert "#holiday" in intro.text and "#travel #family" in intro.text and "#travel #family" in plans.text
    assert intro.time.date().isoformat() == "2025-04-12"
    [daily] = parse_note(VAULT / "2025-04-14.md")
    assert daily.time.date().isoformat() == "2025-04-14" and daily.links == ("Lisbon trip",)
    assert "in Lisbon;" in daily.text and daily.title == "2025-04-14 > Daily note"


def test_link_forms(tmp_path: Path):
    note = tmp_path / "links.md"
    note.write_text("See [[Plans/Garden.md]], [[#Local heading]], [[Ideas^block1]], [x](Other%20note.md), "
                    "![[Sketch]] and [[Garden]] again.\n", encoding="utf-8")
    [item] = parse_note(note)
    assert item.links == ("Garden", "Ideas", "Sketch", "Other note")
    assert item.text.startswith("See Garden, Local heading, Ideas > block1, [x](Other%20note.md), Sketch and")


# --- content sniffing -----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("export.xml", (TEST_DATA / "notes" / "rich.enex").read_bytes(), "evernote"),
    ("scan.bin", (TEST_DATA / "notes" / "sample.pdf").read_bytes(), "pdf"),
    ("notes.log", b"---\ntitle: x\n---\nhello\n", "markdown"),
    ("records.txt", b'{"text": "hi", "time": "2024-01-01", "source": "x"}\n', "jsonl"),
])
def test_the_parser_is_picked_by_content_not_only_by_extension(tmp_path: Path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    assert detect_format(path).name == expected


def test_markdown_sniffed_by_content_is_parsed_as_markdown(tmp_path: Path):
    path = tmp_path / "note.page"
    path.write_text("# Plants\n\nWater the fern.\n\n## Balcony\n\nTomatoes.\n", encoding="utf-8")
    items = list(detect_format(path).parse(path))
    assert [i.title for i in items] == ["note > Plants", "note > Plants > Balcony"]


# --- Evernote -------------------------------------------------------------------------------------


@pytest.mark.skipif(not EVERNOTE.is_dir(), reason="../shared/data is not checked out")
def test_evernote_samples_give_title_dates_tags_and_geo():
    [plain] = parse_enex(EVERNOTE / "yarle_test-justText.enex")
    assert plain.text == "This is the content" and plain.title == "TEST -note with text only"
    assert plain.time.isoformat() == "2018-10-06T08:43:49+00:00" and plain.source == "evernote"
    [rich] = parse_enex(EVERNOTE / "yarle_test-note-attributes.enex")
    assert rich.text.startswith("Slartibartfast") and "#test #note-attributes" in rich.text
    assert rich.place == "Reichstag Building, Berlin (52.518654, 13.376102, 50 m)"
    assert rich.time.isoformat() == "2024-12-21T12:51:00+00:00"  # subject-date: what the note is about
    assert rich.origin.startswith(str((EVERNOTE / "yarle_test-note-attributes.enex").resolve()) + "#")


def test_evernote_content_keeps_headings_lists_and_todos_and_one_origin_per_note():
    items = list(parse_enex(TEST_DATA / "notes" / "rich.enex"))
    by_title = {i.title: i for i in items}
    assert set(by_title) == {"Packing list", "Packing list > Clothes", "Packing list > Gear", "Dentist"}
    assert by_title["Packing list"].text.startswith("For the Julian Alps trip in June.")
    assert "- rain jacket\n- two wool shirts" in by_title["Packing list > Clothes"].text
    assert "[x] headlamp\n[ ] via ferrata set & helmet" in by_title["Packing list > Gear"].text
    assert by_title["Packing list > Gear"].place == "46.0569, 14.5058, 295 m"  # the resource's geo is not the note's
    assert "#travel #lists" in by_title["Packing list > Clothes"].text
    assert by_title["Dentist"].text == "Appointment moved to Thursday 14:30.\n\nAsk about the wisdom tooth."
    assert len({i.origin for i in items}) == 2 and all(i.source_id.startswith(i.origin + "#") for i in items)


def _enex(notes: int, resource: bytes = b"") -> bytes:
    body = b"".join(
        b"<note><title>Note %d</title><created>20240101T1200%02dZ</created><content><![CDATA[<en-note><div>Day %d "
        b"of the log.</div></en-note>]]></content>%s</note>\n" % (n, n % 60, n, resource) for n in range(notes))
    return b'<?xml version="1.0" encoding="UTF-8"?>\n<en-export>\n' + body + b"</en-export>\n"


def test_evernote_is_streamed_one_note_at_a_time(tmp_path: Path):
    resource = b"<resource><data encoding='base64'>" + b"QUJD" * 20_000 + b"</data></resource>"
    path = tmp_path / "big.enex"
    path.write_bytes(_enex(600, resource))  # 48 MB, mostly attachments
    tracemalloc.start()
    count = sum(1 for _ in parse_enex(path))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == 600 and path.stat().st_size > 45e6
    assert peak < 8e6, f"peak {peak / 1e6:.1f} MB for a {path.stat().st_size / 1e6:.0f} MB file"


def test_an_oversized_note_is_reported_and_the_others_go_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("ingest.evernote.MAX_NOTE_CHARS", 1000)
    path = tmp_path / "mixed.enex"
    path.write_bytes(_enex(3).replace(b"Day 1 of", b"Day 1 " + b"very " * 300 + b"of"))
    parts = list(parse_enex(path))
    [error] = errors(parts)
    assert str(error) == f"{path}:line 4: note 'Note 1': its content is over 1000 bytes; left out"
    assert [p.title for p in parts if isinstance(p, Item)] == ["Note 0", "Note 2"]


def test_truncated_evernote_export_names_the_line_after_the_notes_before_it(tmp_path: Path):
    path = tmp_path / "cut.enex"
    path.write_bytes(_enex(5)[:-60])
    parts = []
    with pytest.raises(ParseError) as raised:
        parts.extend(parse_enex(path))
    assert len(parts) == 4 and str(path) in str(raised.value)
    assert re.search(r":line \d+, column \d+: not valid XML", str(raised.value))


def test_evernote_refuses_entity_declarations(tmp_path: Path):
    path = tmp_path / "bomb.enex"
    path.write_bytes(b'<?xml version="1.0"?><!DOCTYPE en-export [<!ENTITY a "aaaaaaaaaa">'
                     b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><en-export><note><title>&b;</title>'
                     b"</note></en-export>")
    with pytest.raises(ParseError, match="declares XML entities"):
        list(parse_enex(path))


# --- PDF ------------------------------------------------------------------------------------------


def test_pdf_pages_are_chunked_under_outline_headings_with_metadata_title_and_date(tmp_path: Path):
    path = make_pdf(tmp_path / "report.pdf", [
        ["Quarterly report.", "Revenue grew in spring."],
        ["The team moved to Ljubljana.", "Hiring continues."],
        ["Appendix text."],
    ], title="Heron Q2", created="D:20250705093000Z", outline={0: "Summary", 2: "Appendix"})
    items = list(parse_pdf(path))
    assert [i.title for i in items] == ["Heron Q2 > Summary > page 1", "Heron Q2 > Summary > page 2",
                                        "Heron Q2 > Appendix > page 3"]
    assert "Revenue grew in spring." in items[0].text and items[0].source == "pdf"
    assert items[0].time.isoformat() == "2025-07-05T09:30:00+00:00"
    assert len({i.source_id for i in items}) == 3


def test_pdf_without_metadata_takes_the_file_name(tmp_path: Path):
    [item] = parse_pdf(make_pdf(tmp_path / "2024-02-03 receipt.pdf", [["Total 12 EUR."]]))
    assert item.title == "2024-02-03 receipt > page 1" and item.time.date().isoformat() == "2024-02-03"


def test_sample_pdf_in_test_data_parses():
    assert any("Ljubljana" in i.text for i in parse_pdf(TEST_DATA / "notes" / "sample.pdf"))


@pytest.mark.parametrize("content", [b"%PDF-1.7\n", b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\nendobj\n%%EOF", b"PK"])
def test_broken_pdf_is_a_parse_error(tmp_path: Path, content: bytes):
    path = tmp_path / "broken.pdf"
    path.write_bytes(content)
    with pytest.raises(ParseError) as raised:
        list(parse_pdf(path))
    assert str(path) in str(raised.value)


# --- bad and huge input ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "head", "problem"), [
    ("huge.md", b"# Notes\n", "the file is 2.0 GB; text files over 50.0 MB are not supported"),
    ("huge.pdf", b"%PDF-1.7\n", "the file is 2.0 GB; PDFs over 200.0 MB are not supported"),
    ("huge.enex", b"<?xml version='1.0'?><en-export>", "not valid XML"),
])
def test_a_2_gb_file_is_refused_clearly_without_being_read(tmp_path: Path, name: str, head: bytes, problem: str):
    path = sparse(tmp_path / name, head=head)
    tracemalloc.start()
    with pytest.raises(ParseError) as raised:
        list(detect_format(path).parse(path))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert str(path) in str(raised.value) and problem in str(raised.value)
    assert peak < 20e6


@pytest.mark.parametrize(("content", "problem"), [
    ("Café na rua\n".encode("utf-16-le"), "UTF-16 text without a byte-order mark"),
    ("# Café\n\nna rua\n".encode("latin-1"), "not valid UTF-8 text (byte 0xe9 at offset 5)"),
])
def test_wrong_encodings_name_the_problem(tmp_path: Path, content: bytes, problem: str):
    path = tmp_path / "wrong.md"
    path.write_bytes(content)
    with pytest.raises(ParseError) as raised:
        parse_note(path)
    assert str(path) in str(raised.value) and problem in str(raised.value)


def test_utf16_with_a_byte_order_mark_is_read(tmp_path: Path):
    path = tmp_path / "utf16.md"
    path.write_bytes("# Café\n\nna rua\n".encode("utf-16"))
    [item] = parse_note(path)
    assert item.text == "na rua" and item.title == "utf16 > Café"


def _jsonl_peak(path: Path, lines: int) -> int:
    text = "Walked along the river and thought about the garden. " * 3
    row = json.dumps({"text": text, "time": "2024-05-01T10:00:00", "source": "diary"})
    path.write_text((row + "\n") * lines, encoding="utf-8")
    tracemalloc.start()
    assert sum(1 for line in parse_jsonl(path) if line.item) == lines
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_jsonl_is_parsed_with_flat_memory(tmp_path: Path):
    small = _jsonl_peak(tmp_path / "small.jsonl", 2_000)
    large = _jsonl_peak(tmp_path / "large.jsonl", 100_000)  # 22 MB
    assert large < small * 1.5 + 1e6, f"{small} B for 2,000 lines but {large} B for 100,000"


def test_bad_files_change_nothing_already_stored(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    folder = tmp_path / "notes"
    folder.mkdir()
    note, enex = folder / "Garden.md", folder / "Packing.enex"
    note.write_text("# Garden\n\nThe fern needs water on Fridays.\n", encoding="utf-8")
    enex.write_bytes((TEST_DATA / "notes" / "rich.enex").read_bytes())
    assert main(["ingest", str(folder)]) == 0
    assert "0 error(s)" in capsys.readouterr().out
    main(["status", "--json"])
    before = json.loads(capsys.readouterr().out)["records"]

    note.write_bytes("# Garden\n\nCaf\xe9\n".encode("latin-1"))
    enex.write_bytes(enex.read_bytes()[:900])
    (folder / "empty.md").write_bytes(b"")
    (folder / "cut.jsonl").write_text('{"text": "ok", "time": "2024-01-01", "source": "x"}\n{"text": "cu', "utf-8")
    assert main(["ingest", str(folder)]) == 1
    captured = capsys.readouterr()
    assert f"{note}:line 3: not valid UTF-8" in captured.err
    assert f"{folder / 'empty.md'}: the file is empty" in captured.err
    assert f"{enex}:line " in captured.err and f"{folder / 'cut.jsonl'}:line 2: not valid JSON" in captured.err
    assert "1 new record(s)" in captured.out and "0 removed" in captured.out and "4 error(s)" in captured.out
    main(["status", "--json"])
    assert json.loads(capsys.readouterr().out)["records"] == before + 1
    main(["search", "fern water", "--json"])
    assert json.loads(capsys.readouterr().out)[0]["text"] == "The fern needs water on Fridays."


def _ingest(capsys: pytest.CaptureFixture[str], path: Path) -> str:
    code = main(["ingest", str(path)])
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def test_every_notes_format_is_idempotent(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "rich.enex").write_bytes((TEST_DATA / "notes" / "rich.enex").read_bytes())
    (folder / "sample.pdf").write_bytes((TEST_DATA / "notes" / "sample.pdf").read_bytes())
    for note in VAULT.iterdir():
        (folder / note.name).write_bytes(note.read_bytes())
    assert "4 file(s): 9 new record(s), 0 unchanged" in _ingest(capsys, folder)
    assert "4 file(s): 0 new record(s), 9 unchanged, 0 removed, 0 error(s)" in _ingest(capsys, folder)


def test_a_changed_evernote_note_replaces_only_its_own_records(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    enex = tmp_path / "export.enex"
    original = (TEST_DATA / "notes" / "rich.enex").read_text(encoding="utf-8")
    enex.write_text(original, encoding="utf-8")
    assert "4 new record(s)" in _ingest(capsys, enex)
    enex.write_text(original.replace("Thursday 14:30", "Friday 9:00"), encoding="utf-8")
    assert "1 new record(s), 3 unchanged, 1 removed" in _ingest(capsys, enex)
    start, end = original.index("  <note>\n    <title>Dentist"), original.index("</en-export>")
    enex.write_text(original[:start] + original[end:], encoding="utf-8")  # the Dentist note deleted in Evernote
    assert "0 new record(s), 3 unchanged, 1 removed" in _ingest(capsys, enex)
