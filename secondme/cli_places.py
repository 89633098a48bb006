"""CLI commands for places: `places` lists them (visits, inferred home and work), `places name ID "Climbing gym"`."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.markup import escape

from secondme.errors import SecondMeError
from secondme.places import Places, describe


def cmd_places(args: argparse.Namespace) -> int:
    from secondme.cli import _services, out

    places = Places(_services().store)
    if args.action == "name":
        if args.id is None or not args.name:
            raise SecondMeError('usage: secondme places name ID "A NAME" (an empty name takes the name away)')
        place = places.name(args.id, " ".join(args.name))
        out.print(escape(f"place {place.id}: {describe(place)}") + " (its visits' records now use this)")
        return 0
    listed = places.listing()
    if args.json:
        print(json.dumps([{"id": p.id, "name": p.name, "role": p.role, "label": p.label, "lat": p.lat, "lon": p.lon,
                           "visits": p.visits, "last": p.last.isoformat() if p.last else None} for p in listed],
                         ensure_ascii=False), flush=True)
        return 0
    if not listed:
        out.print("No places yet: ingest location history (GPX, Google Takeout, OwnTracks, Overland) first.")
    for place in listed:
        last = f"{place.last:%Y-%m-%d}" if place.last else "-"
        out.print(f"[bold]{place.id:>4}[/bold]  " + escape(f"{describe(place)} · {place.visits} visit(s), last {last}"))
    return 0


def add_commands(sub: Any) -> None:
    """Register this module's subcommands on the CLI's subparsers."""
    p = sub.add_parser("places", help="places you visit (from location history): list them, or name one",
                       description='secondme places · secondme places name ID "Climbing gym"')
    p.add_argument("action", nargs="?", default="list", choices=("list", "name"))
    p.add_argument("id", nargs="?", type=int, help="a place id (from the list)")
    p.add_argument("name", nargs="*", help="the name to give it")
    p.add_argument("--json", action="store_true", help="list as JSON")
    p.set_defaults(func=cmd_places)
