"""PDF documents → items: the text of each page, cut at paragraphs, under the outline's heading (pypdf)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.items import Item, ParseError
from ingest.notes import NoteInfo, Section, note_items, note_time
from ingest.textfile import size_text

MAX_PDF_BYTES = 200 * 1024 * 1024
logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings on sloppy files are noise for a user


def looks_like_pdf(head: bytes) -> bool:
    return b"%PDF-" in head[:1024]


def _outline(reader: Any, entries: Any, trail: tuple[str, ...] = ()) -> Iterator[tuple[int, tuple[str, ...]]]:
    """(page index, heading path) of each outline entry; a nested list holds the previous entry's children."""
    last = trail
    for entry in entries:
        if isinstance(entry, list):
            yield from _outline(reader, entry, last)
            continue
        last = (*trail, " ".join(str(entry.title or "").split()))
        page = reader.get_destination_page_number(entry)
        if last[-1] and page is not None and page >= 0:
            yield page, last


def _headings(reader: Any) -> dict[int, tuple[str, ...]]:
    """The heading path in force on each page that an outline entry starts on."""
    try:
        return dict(sorted(_outline(reader, reader.outline), key=lambda pair: pair[0]))
    except Exception:  # noqa: BLE001 - a broken outline only costs the headings
        return {}


def _text(page: Any) -> str:
    """A page's text; a line that ends a sentence ends a paragraph (PDFs keep no paragraph marks)."""
    text = page.extract_text() or ""
    return re.sub(r"(?<=[.!?:])\n(?=[A-Z0-9•\-])", "\n\n", text.replace("\x00", ""))


def _meta_time(reader: Any) -> datetime | None:
    try:
        when = reader.metadata.creation_date if reader.metadata else None
    except Exception:  # noqa: BLE001 - a malformed date is just no date
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)) if isinstance(when, datetime) else None


def parse_pdf(path: Path) -> Iterator[Item | ParseError]:
    """Items of a PDF: one origin (the file); a page that cannot be read is reported, the rest go on."""
    from pypdf import PdfReader

    name = str(path)
    try:
        if path.stat().st_size > MAX_PDF_BYTES:
            raise ParseError(name, f"the file is {size_text(path.stat().st_size)}; PDFs over "
                                   f"{size_text(MAX_PDF_BYTES)} are not supported")
        handle = path.open("rb")
    except OSError as error:
        raise ParseError(name, f"cannot read: {error.strerror or error}") from error
    with handle:
        try:
            reader = PdfReader(handle)
            if reader.is_encrypted and not reader.decrypt(""):
                raise ParseError(name, "the PDF is encrypted with a password")
            title = " ".join(str(reader.metadata.title or "").split()) if reader.metadata else ""
            title = title or path.stem
            when = _meta_time(reader) or note_time(path, {})
            pages = list(reader.pages)
            headings = _headings(reader)
        except ParseError:
            raise
        except Exception as error:  # noqa: BLE001 - pypdf raises many kinds of error on broken files
            raise ParseError(name, f"not a readable PDF ({type(error).__name__}: {error})") from error
        found, heading = [], ()
        for number, page in enumerate(pages, start=1):
            heading = headings.get(number - 1, heading)
            try:
                found.append(Section((*heading, f"page {number}"), _text(page)))
            except Exception as error:  # noqa: BLE001
                yield ParseError(name, f"cannot read the page's text ({type(error).__name__}: {error})",
                                 f"page {number}")
    info = NoteInfo(title=title, time=when, origin=str(path.resolve()), source="pdf")
    items = note_items(info, found)
    if not items and pages:
        raise ParseError(name, "the PDF has no text (a scan? SecondMe does not read images)")
    yield from items
