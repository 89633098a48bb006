"""Files shipped with SecondMe: the sample notes of Maya Lindqvist, a fictional user, and the app icon."""

from __future__ import annotations

from pathlib import Path


def sample_notes_dir() -> Path:
    return Path(__file__).resolve().parent / "sample_notes"


def icon_path(suffix: str = "svg") -> Path:
    """The app icon: `svg`, or `png` (256 px, rendered from the SVG by packaging/screenshot.py)."""
    return Path(__file__).resolve().parent / f"icon.{suffix}"
