"""The `secondme` command line: a thin shell over the core services in app.py."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from secondme import __version__, offline
from secondme import config as config_module
from secondme.errors import SecondMeError
from secondme.paths import data_dir

if TYPE_CHECKING:
    from secondme.app import Services
    from secondme.core.assistant import Answer, Reply
    from secondme.ingestion import IngestReport

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _services() -> Services:
    from secondme.app import build

    return build()


def _progress():  # noqa: ANN202 - a context manager that is also a ProgressCallback
    from secondme.cli_progress import ProgressBar

    return ProgressBar(err)


def _when(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _origin_label(record) -> str:  # noqa: ANN001
    return record.origin if record.origin and not record.origin.startswith("conversation:") else record.title


def print_citations(answer: Answer) -> None:
    if not answer.citations:
        if answer.memories:  # a carried-out command ("remember that…") has nothing to cite
            out.print("[dim](no memories cited)[/dim]")
        return
    heading = "Sources (inferred: the answer has no markers)" if answer.citations[0].inferred else "Sources"
    out.print(f"\n[bold]{heading}[/bold]")
    for citation in answer.citations:
        record = citation.record
        out.print(f"  [{citation.number}] {_origin_label(record)} · {_when(record.time)} · [dim]{record.id}[/dim]")
        out.print(f"      {citation.snippet}", markup=False, style="italic")


def stream_reply(reply: Reply) -> Answer:
    try:
        for piece in reply:
            out.print(piece, end="", markup=False, highlight=False, soft_wrap=True)
    except KeyboardInterrupt:
        out.print("\n[dim](stopped)[/dim]")
    out.print()
    assert reply.answer is not None
    return reply.answer


def answer_json(answer: Answer) -> str:
    return json.dumps({
        "answer": answer.text,
        "citations": [
            {"id": c.record.id, "number": c.number, "source": _origin_label(c.record),
             "time": c.record.time.isoformat(), "snippet": c.snippet, "inferred": c.inferred}
            for c in answer.citations
        ],
    }, ensure_ascii=False)


def cmd_ask(args: argparse.Namespace) -> int:
    from secondme.core.assistant import Conversation

    services = _services()
    with _progress() as bar:
        assistant = services.assistant(bar, guest=args.as_guest)
    if args.json:
        answer = assistant.ask(args.question)
        print(answer_json(answer), flush=True)
    else:
        print_citations(stream_reply(assistant.reply(Conversation(), args.question)))
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from secondme.core.assistant import Conversation

    services = _services()
    with _progress() as bar:
        assistant = services.assistant(bar, guest=args.as_guest)
    conversation = Conversation()
    who = f" with guest {args.as_guest} (twin mode)" if args.as_guest else ""
    out.print(f"[dim]SecondMe chat{who}. Empty line or Ctrl-D to leave; Ctrl-C stops an answer.[/dim]")
    from secondme.cli_companion import after_new_memories, open_checkin

    if not args.as_guest:
        conversation = open_checkin(services, conversation)  # an unanswered check-in opens the chat
    while True:
        try:
            question = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            out.print()
            break
        if not question or question in ("/quit", "/exit"):
            break
        out.print("[bold]me>[/bold] ", end="")
        print_citations(stream_reply(assistant.reply(conversation, question)))
    if not args.as_guest and any(turn["role"] == "user" for turn in conversation.turns):
        after_new_memories(services)
    return 0


def cmd_remember(args: argparse.Namespace) -> int:
    from secondme.core.memory_commands import note_record
    from secondme.core.types import Sensitivity

    text = " ".join(args.text).strip()
    if not text:
        raise SecondMeError("nothing to remember: give the text to keep")
    services = _services()
    result = services.store.add([note_record(text, services.clock.now(), Sensitivity(args.sensitivity))])
    out.print(f"Remembered ({result.added[0]})" if result.added else "Already remembered")
    return 0


def print_ingest_report(report: IngestReport) -> None:
    from rich.markup import escape

    for line in report.warnings:
        err.print(f"[yellow]warning:[/yellow] {escape(line)}", markup=True, highlight=False)
    for line in report.errors:
        err.print(f"[red]error:[/red] {escape(line)}", markup=True, highlight=False)
    out.print(f"{report.files} file(s): {report.added} new record(s), {report.skipped} unchanged, "
              f"{report.removed} removed, {len(report.errors)} error(s)")
    for source, owner in report.owners.items():
        if owner.how != "given":
            why = "named by the export" if owner.how == "export" else "the most frequent sender"
            out.print(f"You are \"{owner.name}\" in {source} chats ({why}); if not, ingest them again "
                      "with --me NAME.", markup=False)


def ask_owner(source: str, ranking: list[tuple[str, int]]) -> str:
    senders = ", ".join(f"{name} ({count})" for name, count in ranking[:8])
    try:
        return input(f"Which sender are you in these {source} chats? {senders}\n[{ranking[0][0]}] ")
    except EOFError:
        return ""


def cmd_ingest(args: argparse.Namespace) -> int:
    from secondme.ingestion import Ingestor
    from secondme.owners import ChatOwners
    from secondme.scope import Scope

    services = _services()
    paths = [Path(p) for p in args.paths]
    if args.watch:
        return watch_folders(services, paths, args.follow_links)
    owners = ChatOwners(services.store, args.me or "", ask_owner if sys.stdin.isatty() else None,
                        services.config.owner.name)
    scope = Scope(args.follow_links)
    owners.prepare(scope.select(paths).files)  # asks who you are (once per chat app) before the progress bar starts
    with _progress() as bar:
        report = Ingestor(services.store, owners, scope).ingest(paths, bar)
    print_ingest_report(report)
    if report.added:
        from secondme.cli_companion import after_new_memories

        after_new_memories(services, refresh=False)
    return 1 if report.errors else 0


def watch_folders(services: Services, folders: list[Path], follow_links: bool = False) -> int:
    from secondme.watching import Watcher

    if not_folders := [str(f) for f in folders if not f.is_dir()]:
        raise SecondMeError(f"--watch takes folders; not a folder: {', '.join(not_folders)}")
    with Watcher(services.store, folders, follow_links=follow_links) as watcher:
        with _progress() as bar:
            print_ingest_report(watcher.ingest_all(bar))
        out.print(f"Watching {', '.join(map(str, folders))} for changes (Ctrl-C stops)…")
        # Ctrl-C ends the watch between two stored parts, never inside a write to the index
        stop = threading.Event()
        previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
        try:
            watcher.run(print_ingest_report, stop)
        finally:
            signal.signal(signal.SIGINT, previous)
        out.print("Stopped watching.")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    services = _services()
    since = datetime.fromisoformat(args.since).replace(tzinfo=UTC) if args.since else None
    until = datetime.fromisoformat(args.until).replace(tzinfo=UTC) if args.until else None
    hits = services.store.search(args.query, k=args.k, mode=args.mode, since=since, until=until,
                                 sources=args.source or None)
    if args.mode != "bm25":
        from secondme.cli_memory import vector_warning

        if warning := vector_warning(services):
            err.print(warning, markup=False, highlight=False)
    if args.json:
        rows = [{"id": h.record.id, "score": round(h.score, 6), "source": h.record.source, "origin": h.record.origin,
                 "title": h.record.title, "time": h.record.time.isoformat(), "text": h.record.text,
                 "sensitivity": str(h.record.sensitivity), "ranks": h.ranks} for h in hits]
        print(json.dumps(rows, ensure_ascii=False), flush=True)
        return 0
    if not hits:
        out.print("No memories found.")
    for n, hit in enumerate(hits, start=1):
        record = hit.record
        out.print(f"[bold]{n}.[/bold] {record.title} · {_when(record.time)} · {record.source} · [dim]{record.id}[/dim]")
        out.print(f"   {' '.join(record.text.split())[:200]}", markup=False)
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    services = _services()
    missing = [rid for rid in args.ids if not services.store.forget(rid)]
    for rid in missing:
        err.print(f"error: no memory with id {rid}")
    forgotten = len(args.ids) - len(missing)
    out.print(f"Forgot {forgotten} memor{'y' if forgotten == 1 else 'ies'}.")
    return 1 if missing else 0


def cmd_reindex(args: argparse.Namespace) -> int:
    services = _services()
    with _progress() as bar:
        count = services.store.reindex(bar, force=args.force)
    out.print(f"Rebuilt the vector index from {count} record(s).")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from secondme.app import describe_model
    from secondme.cli_memory import backup_status, vector_warning
    from secondme.memory.consolidation import backlog

    services = _services()
    counts = services.store.counts_by_source()
    status = {
        "version": __version__,
        "data_dir": str(services.data_dir),
        "model": describe_model(services.config),
        "key_storage": services.key.backend,
        "vector_index": services.config.memory.chroma_url or str(services.data_dir / "chroma"),
        "records": sum(counts.values()),
        "records_by_source": counts,
        "consolidation_pending": backlog(services.store),
        "not_in_vector_index": services.store.pending_vectors(),
        "backups": backup_status(services.data_dir),
    }
    if args.json:
        print(json.dumps(status), flush=True)
        return 0
    for key, value in status.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in sorted(value.items())) or "none"
        out.print(f"[bold]{key.replace('_', ' ')}:[/bold] {value}", highlight=False)
    if warning := vector_warning(services):
        err.print(warning, markup=False, highlight=False)
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    home = data_dir()
    if args.action == "set":
        if args.value is None:
            raise SecondMeError("usage: secondme config set KEY VALUE")
        config_module.set_value(home, args.key, args.value)
        out.print(f"{args.key} = {args.value}")
        return 0
    flat = {f"{section}.{name}": value for section, values in config_module.as_dict(config_module.load(home)).items()
            for name, value in values.items()}
    if args.action == "get":
        if args.key not in flat:
            raise SecondMeError(f"unknown setting {args.key!r}; known: {', '.join(flat)}")
        out.print(str(flat[args.key]), markup=False)
        return 0
    for key, value in flat.items():
        shown = "***" if key == "model.api_key" and value else value
        out.print(f"{key} = {shown}", markup=False)
    return 0


def cmd_guest(args: argparse.Namespace) -> int:
    from secondme.memory.standing import GuestList

    guests = GuestList(_services().store)
    if args.action == "allow":
        if not args.name:
            raise SecondMeError("usage: secondme guest allow NAME [--private]")
        guest = guests.allow(args.name, args.private)
        private = "yes" if guest.allow_private else "no"
        out.print(f"{guest.name} may talk to your SecondMe; private memories: {private}. "
                  "Secret memories are never shared.")
    elif args.action == "remove":
        if not args.name or not guests.remove(args.name):
            raise SecondMeError(f"no guest named {args.name!r}")
        out.print(f"Removed {args.name}.")
    else:
        listed = guests.all()
        for guest in listed:
            out.print(f"{guest.name}: private memories {'allowed' if guest.allow_private else 'not allowed'}")
        if not listed:
            out.print("No guests yet: `secondme guest allow NAME [--private]`. "
                      "Unlisted guests see normal memories only.")
    return 0


def cmd_instructions(args: argparse.Namespace) -> int:
    from secondme.memory.standing import InstructionBook

    book = InstructionBook(_services().store)
    if args.action == "drop":
        if not args.id or not book.drop(args.id):
            raise SecondMeError(f"no standing instruction with id {args.id!r}")
        out.print("Dropped.")
        return 0
    rules = book.active()
    for rule in rules:
        out.print(f"{rule.id}  {rule.text}", markup=False)
    if not rules:
        out.print("No standing instructions. Tell SecondMe in chat, e.g. \"don't use emoji\".")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from secondme.demo import run_demo

    return run_demo(out, err, _progress)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="secondme", description="Your private second self, on your own machine.")
    root.add_argument("--version", action="version", version=f"secondme {__version__}")
    sub = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ask", help="answer one question from memory, with citations")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help='print {"answer", "citations": [...]}')
    p.add_argument("--as-guest", metavar="NAME", help="answer as your twin to a guest (no secrets)")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="talk with SecondMe (REPL); 'remember that…', 'forget…', 'don't…' work")
    p.add_argument("--as-guest", metavar="NAME", help="let a guest talk to your twin (no secrets)")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("guest", help="who may talk to your twin, and whether they see private memories")
    p.add_argument("action", choices=["list", "allow", "remove"], nargs="?", default="list")
    p.add_argument("name", nargs="?")
    p.add_argument("--private", action="store_true", help="with allow: the guest may see private memories")
    p.set_defaults(func=cmd_guest)

    p = sub.add_parser("instructions", help="the standing instructions you gave in chat")
    p.add_argument("action", choices=["list", "drop"], nargs="?", default="list")
    p.add_argument("id", nargs="?")
    p.set_defaults(func=cmd_instructions)

    p = sub.add_parser("remember", help="keep a piece of text as a memory")
    p.add_argument("text", nargs="+")
    p.add_argument("--sensitivity", choices=["normal", "private", "secret"], default="normal")
    p.set_defaults(func=cmd_remember)

    p = sub.add_parser("ingest", help="bring in notes (Markdown, Obsidian, text, Evernote, PDF), chat exports "
                       "(WhatsApp, Telegram, Signal, Instagram), location history (GPX, Google, OwnTracks, "
                       "Overland) and JSON Lines records")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--watch", action="store_true", help="then keep ingesting new or changed files in these folders")
    p.add_argument("--me", metavar="NAME", help="your name as sender in these chat exports (remembered per app)")
    p.add_argument("--follow-links", action="store_true",
                   help="follow links that lead out of the folders walked (left out otherwise, with a warning)")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("search", help="hybrid keyword + meaning search of your memories")
    p.add_argument("query")
    p.add_argument("-k", type=int, default=10, help="how many results (default 10)")
    p.add_argument("--mode", choices=["hybrid", "bm25", "vector"], default="hybrid")
    p.add_argument("--source", action="append", help="only this source (repeatable)")
    p.add_argument("--since", help="ISO date, inclusive")
    p.add_argument("--until", help="ISO date, exclusive")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("forget", help="delete memories by id, everywhere")
    p.add_argument("ids", nargs="+", metavar="ID")
    p.set_defaults(func=cmd_forget)

    p = sub.add_parser("reindex", help="rebuild the vector index from the database")
    p.add_argument("--force", action="store_true", help="even when the database holds no records")
    p.set_defaults(func=cmd_reindex)

    p = sub.add_parser("status", help="model, data dir, counts, key storage")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("config", help="show, get or set settings (e.g. model.path, model.endpoint)")
    p.add_argument("action", choices=["show", "get", "set"], nargs="?", default="show")
    p.add_argument("key", nargs="?")
    p.add_argument("value", nargs="?")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("demo", help="ingest the sample notes and answer a question about them")
    p.set_defaults(func=cmd_demo)

    from secondme.cli_memory import add_commands

    add_commands(sub)
    from secondme.cli_companion import add_commands as add_companion_commands

    add_companion_commands(sub)
    from secondme.cli_places import add_commands as add_places_commands

    add_places_commands(sub)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    offline.apply()
    args = parser().parse_args(argv)
    if args.command == "config" and args.action in ("get", "set") and not args.key:
        err.print(f"error: usage: secondme config {args.action} KEY" + (" VALUE" if args.action == "set" else ""))
        return 2
    try:
        return int(args.func(args))
    except SecondMeError as error:
        err.print(f"error: {error}", markup=False, highlight=False)
        return 1
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except Exception as error:  # noqa: BLE001 - the CLI promises one line, not a traceback
        if os.environ.get("SECONDME_DEBUG"):
            raise
        err.print(f"error: unexpected {type(error).__name__}: {error} (set SECONDME_DEBUG=1 for details)",
                  markup=False, highlight=False)
        return 1


if __name__ == "__main__":
    sys.exit(main())
