"""The headless demo: ingest the sample notes and answer a question that needs two of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console

from secondme.assets import sample_notes_dir
from secondme.config import OwnerConfig

DEMO_QUESTION = "When is Tomas's birthday, and what gift did I plan for him?"
DEMO_OWNER = OwnerConfig(name="Maya Lindqvist")


def run_demo(out: Console, err: Console, progress: Callable[[], Any]) -> int:
    from dataclasses import replace

    from secondme import config as config_module
    from secondme.app import build, describe_model
    from secondme.cli import print_citations, stream_reply
    from secondme.core.assistant import Conversation
    from secondme.ingestion import Ingestor
    from secondme.paths import data_dir

    home = data_dir()
    config = config_module.load(home)
    if not config.owner.name:
        config = replace(config, owner=DEMO_OWNER)
    services = build(config, home)
    out.print(f"[bold]SecondMe demo[/bold] · data dir {home} · {describe_model(config)}")
    out.print(f"Key storage: {services.key.backend}")
    with progress() as bar:
        report = Ingestor(services.store).ingest([sample_notes_dir()], bar)
    out.print(f"Ingested the sample notes: {report.added} new record(s), {report.skipped} already known.")
    for line in report.errors:
        err.print(f"error: {line}", markup=False)
    with progress() as bar:
        assistant = services.assistant(bar)
    out.print(f"\n[bold]Q:[/bold] {DEMO_QUESTION}\n[bold]A:[/bold] ", end="")
    answer = stream_reply(assistant.reply(Conversation(), DEMO_QUESTION))
    print_citations(answer)
    out.print("\n[dim]Next: `secondme ingest ~/notes`, `secondme chat`, `secondme status`.[/dim]")
    services.close()
    return 0
