"""CLI commands for consolidated memory: `consolidate` and `profile`."""

from __future__ import annotations

from typing import Any


def add_commands(sub: Any) -> None:
    """Register this module's subcommands on the CLI's subparsers."""
