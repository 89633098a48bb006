"""CLI commands of the proactive companion: checkin, inbox, working-memory, followups, mute, digest, daemon."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import tempfile
import threading
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from secondme.errors import SecondMeError

if TYPE_CHECKING:
    from secondme.app import Services
    from secondme.companion.inbox import CheckIn
    from secondme.companion.wakeup import Companion, Decision
    from secondme.core.assistant import Conversation


def _companion(args: argparse.Namespace) -> tuple[Services, Companion]:
    from secondme.cli import _services
    from secondme.companion.clock import parse_moment

    services = _services()
    if getattr(args, "now", None):
        services.clock = services.clock.at(parse_moment(args.now, services.clock.tz))
    return services, services.companion()


def _when(services: Services, moment: Any) -> str:
    return moment.astimezone(services.clock.tz).strftime("%a %d %b %H:%M")


def _print_decision(services: Services, decision: Decision) -> None:
    from secondme.cli import out

    if decision.reach_out:
        out.print(f"[bold]Check-in sent[/bold] ({decision.reason}):")
        out.print(f"  {decision.message}", markup=False)
        return
    retry = f"; next look at {_when(services, decision.retry_at)}" if decision.retry_at else ""
    out.print(f"No check-in: {escape(decision.reason)} [dim]({decision.rule}{retry})[/dim]")


def cmd_checkin(args: argparse.Namespace) -> int:
    services, companion = _companion(args)
    decision = companion.wake()
    if args.json:
        print(json.dumps(decision.as_json(), ensure_ascii=False), flush=True)
    else:
        _print_decision(services, decision)
    return 0


def _checkin_line(services: Services, checkin: CheckIn) -> str:
    state = "answered" if checkin.answered or checkin.kind == "digest" else "waiting for you"
    return f"{_when(services, checkin.delivered_at)} · {checkin.kind} · {state}"


def cmd_inbox(args: argparse.Namespace) -> int:
    from secondme.cli import _services, out
    from secondme.companion.inbox import Inbox

    services = _services()
    inbox = Inbox(services.store)
    checkins = inbox.all(limit=args.limit)
    if args.json:
        print(json.dumps([c.as_json() for c in checkins], ensure_ascii=False), flush=True)
    else:
        for checkin in reversed(checkins):
            out.print(f"[bold]{_checkin_line(services, checkin)}[/bold] [dim]{checkin.id}[/dim]")
            out.print(f"  {checkin.message}", markup=False)
        if not checkins:
            out.print("No check-ins yet.")
        elif any(not c.answered for c in checkins if c.kind == "checkin"):
            out.print("[dim]`secondme chat` answers the latest one.[/dim]")
    inbox.mark_read([c.id for c in checkins if not c.read])
    return 0


def _print_memory(doc: dict[str, Any], header: str) -> None:
    from secondme.cli import out

    out.print(f"[bold]{escape(header)}[/bold]")
    for side, title in (("user", "The user"), ("self", "SecondMe")):
        out.print(f"[bold]{title}[/bold]")
        for key, value in doc[side].items():
            if isinstance(value, list):
                value = "; ".join(json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else str(v)
                                  for v in value)
            out.print(f"  {side}.{key}: {value}", markup=False)


def cmd_working_memory(args: argparse.Namespace) -> int:
    from secondme.cli import out
    from secondme.companion.working_memory import validate

    services, companion = _companion(args)
    memory = companion.memory
    now = services.clock.now()
    if args.action == "refresh":
        observed = companion.observe(now)
        if observed.error:
            raise SecondMeError(f"the model could not update the working memory: {observed.error}")
    elif args.action == "set":
        if not args.field or args.value is None:
            raise SecondMeError('usage: secondme working-memory set user.mood "calm"')
        memory.set(args.field, args.value, now)
    elif args.action == "edit":
        current = memory.current().doc
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as handle:
            json.dump(current, handle, indent=2, ensure_ascii=False)
        try:
            subprocess.run([*os.environ.get("EDITOR", "nano").split(), handle.name], check=True)
            with open(handle.name, encoding="utf-8") as edited:
                try:
                    doc = validate(json.load(edited))
                except ValueError as error:
                    raise SecondMeError(f"not valid JSON: {error}") from error
        finally:
            os.unlink(handle.name)
        memory.save(doc, "user", "edited", now)
    if args.action == "history":
        versions = memory.history(args.limit)
        if args.json:
            print(json.dumps([{"version": v.number, "author": v.author, "reason": v.reason,
                               "created_at": v.created_at.isoformat() if v.created_at else None, "memory": v.doc}
                              for v in versions], ensure_ascii=False), flush=True)
            return 0
        for version in versions:
            out.print(f"v{version.number} · {_when(services, version.created_at)} · {version.author} · "
                      f"{version.reason}", markup=False)
        return 0
    version = memory.current()
    if args.json:
        print(json.dumps({"version": version.number, "author": version.author, "memory": version.doc},
                         ensure_ascii=False), flush=True)
    else:
        made = f", {_when(services, version.created_at)} by {version.author}" if version.created_at else ""
        _print_memory(version.doc, f"Working memory v{version.number}{made}")
    return 0


def cmd_followups(args: argparse.Namespace) -> int:
    from secondme.cli import out

    services, companion = _companion(args)
    companion.observe(refresh=False)
    if args.action == "drop":
        if not args.id or not companion.followups.resolve(args.id, "dropped", services.clock.now()):
            raise SecondMeError(f"no follow-up with id {args.id!r}")
        out.print("Dropped.")
        return 0
    statuses = () if args.all else ("pending", "secret")
    followups = companion.followups.all(statuses)
    tz = services.clock.tz
    if args.json:
        print(json.dumps([{"id": f.id, "text": f.text, "topic": f.topic, "event": f.describe_event(tz),
                           "due_at": f.due_at.astimezone(tz).isoformat(), "status": f.status,
                           "sensitivity": str(f.sensitivity), "record": f.record_id} for f in followups],
                         ensure_ascii=False), flush=True)
        return 0
    for f in followups:
        out.print(f"{_when(services, f.due_at)} · {f.status:<8} · {f.topic} · [dim]{f.id}[/dim]")
        out.print(f"  {f.text} ({f.describe_event(tz)})", markup=False)
    if not followups:
        out.print("No follow-ups waiting. Tell SecondMe about your plans (\"dentist Thursday 3pm\").")
    return 0


def cmd_mute(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from secondme.cli import out

    services, companion = _companion(args)
    topic = " ".join(args.topic)
    now = services.clock.now()
    if args.command == "unmute":
        if not companion.mutes.unmute(topic):
            raise SecondMeError(f"{topic or 'all check-ins'} was not muted")
        out.print(f"Unmuted {topic or 'all check-ins'}.")
        return 0
    until = now + timedelta(hours=args.hours) if args.hours else None
    companion.mutes.mute(topic, now, until)
    out.print(f"Muted {topic or 'all check-ins'}" + (f" until {_when(services, until)}." if until else "."))
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    from secondme.cli import out

    services, companion = _companion(args)
    checkin = companion.send_digest(force=True)
    if args.json:
        print(json.dumps(checkin.as_json() if checkin else None, ensure_ascii=False), flush=True)
    elif checkin is None:
        out.print("Nothing in memory for yesterday: no digest.")
    else:
        out.print(checkin.message, markup=False)
    return 0


def cmd_daemon(args: argparse.Namespace) -> int:
    from secondme.cli import out

    services, companion = _companion(args)
    if os.environ.get("SECONDME_NOW"):
        services.clock.running = True  # a daemon's clock runs on from the time it was given
    scheduler = services.companion_scheduler(companion)
    companion.inbox.subscribe(lambda c: out.print(f"[bold]{_when(services, c.delivered_at)} {c.kind}:[/bold] "
                                                  f"{escape(c.message)}"))
    scheduler.on_decision.append(lambda d: None if d.reach_out else out.print(
        f"[dim]{_when(services, d.time)} wake-up: {escape(d.reason)} ({d.rule})[/dim]"))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    scheduler.start()
    for job_id, at in sorted(scheduler.jobs(), key=lambda j: j[1] or services.clock.now()):
        shown = _when(services, at + services.clock.offset) if at else "paused"  # in the app's time
        out.print(f"  [dim]{job_id}: next {shown}[/dim]")
    out.print(f"SecondMe companion running (jobs in {scheduler.path}); Ctrl-C stops.")
    while not stop.wait(1.0):
        pass
    scheduler.shutdown()
    services.close()
    out.print("Stopped.")
    return 0


def open_checkin(services: Services, conversation: Conversation) -> Conversation:
    """The conversation a chat starts in: the latest unanswered check-in's, shown first, if any."""
    from secondme.cli import out
    from secondme.companion.inbox import Inbox
    from secondme.core.assistant import Conversation

    inbox = Inbox(services.store)
    waiting = inbox.unanswered()
    if not waiting:
        return conversation
    latest = waiting[0]
    inbox.mark_read([latest.id])
    out.print(f"[dim]Check-in from {_when(services, latest.delivered_at)}:[/dim]")
    out.print("[bold]me>[/bold] " + escape(latest.message))
    return Conversation(latest.conversation_id, [{"role": "assistant", "content": latest.message}])


def after_new_memories(services: Services, refresh: bool = True) -> None:
    """After a conversation or an ingest: find follow-ups in what is new and, with `refresh`, update
    the working memory now (Ctrl-C skips; the next wake-up catches up). An ingest leaves the model
    work to the background wake-ups: loading the model would keep the command for minutes."""
    from secondme.cli import err

    companion = services.companion()
    unread = len(companion.unread()[0])
    if unread and refresh:
        err.print("[dim]Updating the working memory…[/dim]")
    try:
        companion.observe(refresh=refresh)
    except KeyboardInterrupt:
        pass
    if unread and not refresh:
        err.print(f"[dim]The working memory reads the {unread} new memories in the background (the desktop app "
                  "or `secondme daemon`); `secondme working-memory refresh` does it now.[/dim]")


def add_commands(sub: Any) -> None:
    """Register this module's subcommands on the CLI's subparsers."""
    p = sub.add_parser("checkin", help="run one wake-up now: may SecondMe check in with you?")
    p.add_argument("--now", metavar="TIME", help="ISO 8601 time to run it at (default: now, or SECONDME_NOW)")
    p.add_argument("--json", action="store_true", help='print {"reach_out", "message", "reason", "rule", ...}')
    p.set_defaults(func=cmd_checkin)

    p = sub.add_parser("inbox", help="the check-ins SecondMe sent you")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=cmd_inbox)

    p = sub.add_parser("working-memory", help="SecondMe's current view of you and of itself: show, edit, history")
    p.add_argument("action", nargs="?", default="show", choices=("show", "set", "edit", "history", "refresh"))
    p.add_argument("field", nargs="?", help="for set: user.<field> or self.<field>")
    p.add_argument("value", nargs="?", help="for set: text, or JSON for a list")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=20, help="versions shown by history")
    p.add_argument("--now", metavar="TIME", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_working_memory)

    p = sub.add_parser("followups", help="the events SecondMe will ask you about")
    p.add_argument("action", nargs="?", default="list", choices=("list", "drop"))
    p.add_argument("id", nargs="?")
    p.add_argument("--all", action="store_true", help="also those sent, declined or expired")
    p.add_argument("--json", action="store_true")
    p.add_argument("--now", metavar="TIME", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_followups)

    for name, text in (("mute", "no check-ins about TOPIC (all check-ins without one)"),
                       ("unmute", "check-ins about TOPIC again (all without one)")):
        p = sub.add_parser(name, help=text)
        p.add_argument("topic", nargs="*")
        if name == "mute":
            p.add_argument("--hours", type=float, help="only for this long")
        p.set_defaults(func=cmd_mute)

    p = sub.add_parser("digest", help="send the morning digest of yesterday now")
    p.add_argument("--now", metavar="TIME")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_digest)

    p = sub.add_parser("daemon", help="run the check-in scheduler headless (Ctrl-C stops)")
    p.set_defaults(func=cmd_daemon)
