"""CLI commands for consolidated memory (`consolidate`, `profile`) and for its safety (`restore`)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from secondme.core.types import Sensitivity
from secondme.errors import SecondMeError
from secondme.memory.profile import SECTIONS, Profile, Statement

if TYPE_CHECKING:
    from secondme.app import Services


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


def vector_warning(services: Services) -> str | None:
    """A line saying how many records vector search cannot find (a lost or unfinished vector index)."""
    missing = services.store.pending_vectors()
    if not missing:
        return None
    where = services.config.memory.chroma_url or services.data_dir / "chroma"
    return (f"warning: {missing:,} record(s) are not in the vector index ({where}): search finds them by "
            "keywords only until `secondme reindex` rebuilds it (the next ingest does too)")


def backup_status(data_dir: Path) -> dict[str, Any]:
    """The daily backups of the database, for `secondme status`."""
    from secondme.memory.backups import BACKUP_DIR, backups, taken_at

    found = backups(data_dir)
    newest = taken_at(found[0]) if found else None
    return {"folder": str(data_dir / BACKUP_DIR), "count": len(found),
            "newest": newest.isoformat() if newest else None}


def _list_backups(data_dir: Path) -> int:
    from secondme.cli import out
    from secondme.memory.backups import BACKUP_DIR, backups, count_records, taken_at

    found = backups(data_dir)
    for backup in found:
        when = (taken_at(backup) or datetime.now(UTC)).astimezone().strftime("%Y-%m-%d %H:%M")
        records = count_records(backup)
        held = "unreadable" if records is None else f"{records:,} record(s)"
        out.print(f"{backup.name}  {when}  {held}  {backup.stat().st_size / 1e6:.1f} MB", markup=False)
    if not found:
        out.print(f"No backups yet in {data_dir / BACKUP_DIR} (one is taken daily once memories are stored).",
                  markup=False)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from secondme.cli import _progress, _services, out
    from secondme.memory.restore import restore
    from secondme.paths import data_dir

    home = data_dir()
    if args.list:
        return _list_backups(home)
    restored = restore(home, args.backup)
    kept = f"; the replaced file is kept as {restored.kept[0]}" if restored.kept else ""
    out.print(f"Restored {home / 'memory.db'} from {restored.backup} ({restored.records:,} record(s)){kept}.",
              markup=False)
    services = _services()
    with _progress() as bar:
        count = services.store.reindex(bar, force=True)
    out.print(f"Rebuilt the vector index from {count:,} record(s).")
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
    p = sub.add_parser("restore", help="put back the database from a daily backup (the damaged one is kept aside)",
                       description="Stop the desktop app and `secondme daemon` first: they would keep the old file.")
    p.add_argument("backup", nargs="?", help="a backup's name (see --list) or path; default: the newest")
    p.add_argument("--list", action="store_true", help="list the backups instead")
    p.set_defaults(func=cmd_restore)
