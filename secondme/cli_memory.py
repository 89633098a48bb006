"""CLI commands for consolidated memory: `consolidate` and `profile`."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.markup import escape

from secondme.core.types import Sensitivity
from secondme.errors import SecondMeError
from secondme.memory.profile import SECTIONS, Profile, Statement


def cmd_consolidate(args: argparse.Namespace) -> int:
    from secondme.cli import _progress, _services, err, out

    services = _services()
    if not services.config.owner.name:
        err.print('Tip: tell SecondMe your name (secondme config set owner.name "Your Name"): the summaries and '
                  "the profile then know whose life they read, and keep other people's facts out of your profile.",
                  markup=False)
    with _progress() as bar:
        consolidator = services.consolidator(bar)
        report = consolidator.run(bar, limit=args.limit, only_failed=args.retry_failed)
    out.print(f"{report.segments} segment summar{'y' if report.segments == 1 else 'ies'} of {report.covered} "
              f"record(s), {report.topics} topic update(s), {report.statements} profile statement(s), "
              f"{report.failures} step(s) queued for retry, {report.pending} record(s) pending "
              f"({report.seconds:.0f} s{', stopped' if report.stopped else ''})")
    return 0


def _row(statement: Statement) -> dict[str, Any]:
    return {"id": statement.id, "section": statement.section, "text": statement.text,
            "sensitivity": str(statement.sensitivity), "pinned": statement.pinned,
            "user_edited": statement.user_edited, "sources": list(statement.sources),
            "updated_at": statement.updated_at.isoformat()}


def _show_statement(profile: Profile, statement_id: str, as_json: bool) -> int:
    """One statement and the summaries it came from: why SecondMe believes it."""
    from secondme.cli import out

    statement = profile.get(statement_id)
    sources = profile.sources_of(statement)
    if as_json:
        print(json.dumps({**_row(statement), "sources": [
            {"id": r.id, "time": r.time.isoformat(), "kind": r.kind, "title": r.title, "text": r.text}
            for r in sources]}, ensure_ascii=False), flush=True)
        return 0
    out.print(escape(f"{statement.section}: {statement.text}") + f" [dim]{statement.id}[/dim]")
    if not sources:
        out.print(statement.no_sources_note)
    for record in sources:
        out.print(escape(f"  {record.time:%Y-%m-%d} {record.kind}: {record.text}"))
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    from secondme.cli import _services, out

    profile = Profile(_services().store)
    if args.action == "show" and args.id:
        return _show_statement(profile, args.id, args.json)
    if args.action == "show":
        statements = profile.statements()
        if args.json:
            print(json.dumps([_row(s) for s in statements], ensure_ascii=False), flush=True)
            return 0
        located = profile.located()
        if not statements and not located:
            out.print("The profile is empty (secondme consolidate fills it).")
        for statement in statements:
            flags = "".join(f" [{flag}]" for flag, on in (("pinned", statement.pinned),
                            ("edited", statement.user_edited), (str(statement.sensitivity),
                            statement.sensitivity != Sensitivity.NORMAL)) if on)
            out.print(escape(f"{statement.section:<12} {statement.text}{flags}") + f" [dim]{statement.id}[/dim]")
        for line in located:
            out.print(escape(f"{'places':<12} {line} [private]") + " [dim]location history: secondme places[/dim]")
        return 0
    changes = {
        "edit": lambda: profile.edit(args.id, " ".join(args.text)),
        "add": lambda: profile.add(args.id, " ".join(args.text)),
        "pin": lambda: profile.pin(args.id),
        "delete": lambda: profile.delete(args.id),
        "mark": lambda: profile.mark(args.id, Sensitivity(args.text[0])),
    }
    if not args.id or (args.action in ("edit", "add", "mark") and not args.text):
        raise SecondMeError(f"usage: secondme profile {args.action} {'SECTION' if args.action == 'add' else 'ID'}"
                            + (' "TEXT"' if args.action in ("edit", "add") else " normal|private|secret"
                               if args.action == "mark" else ""))
    if args.action == "mark" and args.text[0] not in tuple(Sensitivity):
        raise SecondMeError(f"unknown sensitivity {args.text[0]!r}: normal, private or secret")
    statement = changes[args.action]()
    out.print(escape(f"{args.action}: {statement.section} · {statement.text}") + f" [dim]{statement.id}[/dim]")
    return 0


def add_commands(sub: Any) -> None:
    """Register this module's subcommands on the CLI's subparsers."""
    p = sub.add_parser("consolidate", help="summarise new memories into segments, topics and the profile")
    p.add_argument("--limit", type=int, help="at most this many windows of records")
    p.add_argument("--retry-failed", action="store_true", help="only retry the steps that failed before")
    p.set_defaults(func=cmd_consolidate)
    p = sub.add_parser("profile", help="show or correct what SecondMe knows about you",
                       description=f"sections: {', '.join(SECTIONS)}; sensitivity: normal, private, secret")
    p.add_argument("action", nargs="?", default="show", choices=("show", "edit", "add", "pin", "delete", "mark"))
    p.add_argument("id", nargs="?", help="a statement id (for show: where it came from; for add: the section)")
    p.add_argument("text", nargs="*", help="the statement's text (for mark: normal, private or secret)")
    p.add_argument("--json", action="store_true", help="show as JSON")
    p.set_defaults(func=cmd_profile)
