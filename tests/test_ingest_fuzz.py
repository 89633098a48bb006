"""Every registered format's parser, fed random bytes and mutated real samples, raises only ParseError.

Mutations include values nested thousands of levels deep and strings and lines of megabytes.

Seeds: the files under tests/data and ../shared/data (third-party samples, see its MANIFEST.md:
Evernote, WhatsApp, Telegram, GPX, Google location history...), each cut to its first 64 KB.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.formats import FORMATS, Format, detect_format
from ingest.items import Item, ParseError
from ingest.jsonlimits import MAX_DEPTH
from tests.conftest import SHARED_DATA, TEST_DATA

SEED_BYTES = 64 * 1024
_MEDIA = {".mp3", ".wav", ".ogg", ".m4a", ".flac"}
SEEDS = sorted(
    (path.suffix.lower(), path.read_bytes()[:SEED_BYTES])
    for folder in (TEST_DATA, SHARED_DATA) if folder.is_dir()
    for path in folder.rglob("*") if path.is_file() and path.suffix.lower() not in _MEDIA
)
SUFFIXES = sorted({suffix for suffix, _ in SEEDS} | {".md", ".txt", ".enex", ".pdf", ".jsonl", ".json", ".gpx", ""})
EXAMPLES = int(os.environ.get("SECONDME_FUZZ_EXAMPLES", "30"))  # raise it for a deeper run
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    """A seed with a few byte-level mutations: flips, cuts, inserted or deleted runs, a truncation."""
    suffix, seed = draw(st.sampled_from(SEEDS))
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "repeat", "nest", "long"]))
        if op == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16) | st.sampled_from(
                [b"\x00", b"\xff\xfe", b'"', b"{", b"]]>", b"<", b"\n", b"\r\n", b"99999999999999999999", b"-1"]))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 64))]
        elif op == "truncate":
            del data[at:]
        elif op == "nest":  # a value nested far deeper than any reader allows (once a RecursionError)
            depth = draw(st.sampled_from([MAX_DEPTH, MAX_DEPTH + 1, 3_000, 20_000]))
            opening, closing = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}"), (b'[{"text":', b"}]")]))
            data[at:at] = opening * depth + b"1" + closing * draw(st.sampled_from([depth, depth // 2]))
        elif op == "long":  # a line or string of megabytes
            data[at:at] = b'"' + b"x" * draw(st.integers(1 << 16, 5 << 20)) + draw(st.sampled_from([b'"', b"", b"\n"]))
        else:
            data[at:at] = data[at:at + draw(st.integers(1, 256))] * draw(st.integers(2, 8))
    return suffix, bytes(data)


def _consume(parse: object, suffix: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"sample{suffix}"
        path.write_bytes(data)
        try:
            for part in (parse or detect_format(path).parse)(path):  # type: ignore[operator]
                assert isinstance(part, Item | ParseError), f"parser yielded {type(part).__name__}"
        except ParseError as error:
            assert str(path) in str(error), f"the error does not name the file: {error}"


@pytest.mark.parametrize("fmt", FORMATS, ids=[f.name for f in FORMATS])
@FUZZ
@given(suffix=st.sampled_from(SUFFIXES), data=st.binary(max_size=4096))
def test_random_bytes_raise_only_parse_errors(fmt: Format, suffix: str, data: bytes):
    _consume(fmt.parse, suffix, data)


@pytest.mark.parametrize("fmt", FORMATS, ids=[f.name for f in FORMATS])
@FUZZ
@given(sample=mutated())
def test_mutated_samples_raise_only_parse_errors(fmt: Format, sample: tuple[str, bytes]):
    _consume(fmt.parse, *sample)


@settings(max_examples=2 * EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(sample=mutated())
def test_detected_format_of_mutated_samples_raises_only_parse_errors(sample: tuple[str, bytes]):
    _consume(None, *sample)
