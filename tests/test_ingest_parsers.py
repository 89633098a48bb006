"""Parsers of notes and SecondMe JSON Lines: structure, dates, and clear errors on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.formats import detect_format
from ingest.items import ParseError
from ingest.jsonl import parse_jsonl
from ingest.notes import parse_note
from secondme.assets import sample_notes_dir

NOTES = sample_notes_dir()


def test_markdown_sections_keep_heading_path_and_front_matter():
    items = parse_note(NOTES / "Gift ideas.md")
    titles = [i.title for i in items]
    assert titles == ["Gift ideas > Tomas", "Gift ideas > Jonas", "Gift ideas > Ines"]
    assert "chalk bag" in items[0].text
    assert items[0].time.date().isoformat() == "2026-04-22"
    assert len({i.source_id for i in items}) == len(items)


def test_front_matter_sensitivity_people_and_place():
    [health] = parse_note(NOTES / "Health.md")
    assert health.sensitivity == "secret"
    [trip_intro, plans] = parse_note(NOTES / "Trip to Lisbon.md")
    assert trip_intro.people == ("Ines Lindqvist",) and trip_intro.place == "Lisbon"
    assert "Sintra" in plans.text


def test_plain_text_takes_its_date_from_the_file_name():
    [item] = parse_note(NOTES / "2026-05-03 journal.txt")
    assert item.source == "text" and item.time.date().isoformat() == "2026-05-03"


def test_headings_inside_code_fences_are_text(tmp_path: Path):
    note = tmp_path / "code.md"
    note.write_text("# Real\n\n```\n# not a heading\n```\nafter\n", encoding="utf-8")
    [item] = parse_note(note)
    assert "# not a heading" in item.text and item.title == "code > Real"


def test_long_section_is_split_at_paragraphs(tmp_path: Path):
    note = tmp_path / "long.md"
    note.write_text("# Log\n\n" + "\n\n".join(f"Paragraph {n}. " + "word " * 60 for n in range(30)), encoding="utf-8")
    items = parse_note(note)
    assert len(items) > 5 and all(len(i.text) <= 1500 for i in items)
    assert "Paragraph 0." in items[0].text and "Paragraph 29." in items[-1].text


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
        ("Caf\xe9 na rua".encode("latin-1"), "not valid UTF-8"),
        (b"x" * 300_000, "characters long"),
        (b"   \n\n  ", "only whitespace"),
    ],
)
def test_bad_files_raise_a_parse_error_naming_the_file(tmp_path: Path, content: bytes, problem: str):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(ParseError) as raised:
        parse_note(path)
    assert str(path) in str(raised.value) and problem in str(raised.value)


def test_invalid_front_matter_names_the_problem(tmp_path: Path):
    path = tmp_path / "broken.md"
    path.write_text("---\ntitle: [unclosed\n---\nbody\n", encoding="utf-8")
    with pytest.raises(ParseError, match="front matter is not valid YAML"):
        parse_note(path)


def test_jsonl_records_and_per_line_errors(tmp_path: Path):
    path = tmp_path / "export.jsonl"
    lines = [
        json.dumps({"text": "Lunch with Ana at Pasta Bar", "time": "2026-05-01T12:30:00+02:00", "source": "diary",
                    "people": ["Ana"], "place": "Pasta Bar"}),
        json.dumps({"text": "See you at 8", "time": "2026-05-01T18:00:00Z", "source": "sms", "speaker": "Ana",
                    "conversation": "ana"}),
        "{not json",
        json.dumps({"text": "no time", "source": "diary"}),
        json.dumps({"text": "bad sensitivity", "time": "2026-05-01", "source": "x", "sensitivity": "top"}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    results = list(parse_jsonl(path))
    items = [r.item for r in results if r.item]
    errors = [str(r.error) for r in results if r.error]
    assert [i.source for i in items] == ["diary", "sms"]
    assert items[1].text == "Ana: See you at 8" and items[1].people == ("Ana",) and items[1].kind == "message"
    assert items[0].time.utcoffset() is not None
    assert errors[0].startswith(f"{path}:line 3: not valid JSON")
    assert "line 4" in errors[1] and "`time`" in errors[1]
    assert "line 5" in errors[2] and "sensitivity" in errors[2]


def test_format_is_detected_by_content(tmp_path: Path):
    disguised = tmp_path / "records.txt"
    disguised.write_text('{"text": "hi", "time": "2026-01-01", "source": "x"}\n', encoding="utf-8")
    assert detect_format(disguised).name == "jsonl"
    assert detect_format(NOTES / "Tomas.md").name == "markdown"
    assert detect_format(NOTES / "2026-05-03 journal.txt").name == "text"
    image = tmp_path / "photo.jpg"
    image.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    with pytest.raises(ParseError, match="unsupported file type '.jpg'"):
        detect_format(image)
