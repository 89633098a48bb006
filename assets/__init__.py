"""Files shipped with SecondMe: the sample notes of Maya Lindqvist, a fictional user."""

from __future__ import annotations

from pathlib import Path


def sample_notes_dir() -> Path:
    return Path(__file__).resolve().parent / "sample_notes"
