"""A deterministic ChatModel for companion tests; run as a script it plays one side of the restart test."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from secondme.core.protocols import ChatMessage, GenerationOptions

QUOTE = re.compile(r'^F(\d+): "(.*?)", ', re.MULTILINE)


class CompanionModel:
    """Answers the companion's steps by rules on the prompt.

    decision: reach out about F1 (or `pick`) with a message that quotes the follow-up's sentence,
    unless `reach_out` is False; `message` overrides the text. working memory: `doing` is the last
    new line, open loops the last two. digest: the lines joined."""

    name = "companion-fake"

    def __init__(self, reach_out: bool = True, message: str = "", pick: int = 1) -> None:
        self.reach_out = reach_out
        self.message = message
        self.pick = pick
        self.calls: Counter[str] = Counter()
        self.prompts: list[str] = []

    def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions = GenerationOptions()
               ) -> Iterator[str]:
        yield "Noted."

    def complete_json(self, messages: Sequence[ChatMessage], schema: dict[str, Any],
                      options: GenerationOptions = GenerationOptions()) -> Any:
        prompt = "\n".join(m["content"] for m in messages)
        self.prompts.append(prompt)
        fields = schema["properties"]
        if "reach_out" in fields:
            self.calls["decision"] += 1
            quotes = dict(QUOTE.findall(prompt))
            pick = str(min(self.pick, len(quotes)))
            message = self.message or f"How did it go: {quotes[pick]}?"
            return {"followup": f"F{pick}", "reach_out": self.reach_out, "message": message,
                    "reason": "a follow-up is due"}
        if "doing" in fields:
            self.calls["memory"] += 1
            lines = re.findall(r"^- \[[^\]]*\] [^:]*: (.*)$", prompt, re.MULTILINE)
            return {"doing": lines[-1][:120] if lines else "", "mood": "", "open_loops": lines[-2:],
                    "people": [], "persona_state": "attentive"}
        self.calls["digest"] += 1
        lines = re.findall(r"^- \d\d:\d\d (.*)$", prompt, re.MULTILINE)
        return {"summary": " ".join(lines)[:400]}


def _companion(data_dir: Path, wake_s: float):  # noqa: ANN202
    from secondme.companion.clock import Clock
    from secondme.companion.scheduler import CompanionScheduler
    from secondme.companion.wakeup import Companion
    from secondme.config import CompanionConfig
    from secondme.memory.crypto import Cipher
    from secondme.memory.store import MemoryStore
    from tests.fakes import HashEmbedder

    store = MemoryStore(data_dir, Cipher(bytes(range(32))), HashEmbedder())
    model = CompanionModel()
    config = CompanionConfig(quiet_start="00:00", quiet_end="00:00", min_gap_minutes=60)
    companion = Companion(store, lambda: model, config, Clock(UTC))
    return store, model, companion, CompanionScheduler(companion, data_dir, wake_every=timedelta(seconds=wake_s))


def plan(data_dir: Path, wake_s: float, due_s: float) -> None:
    """Two follow-ups due in `due_s` seconds, the scheduler's jobs stored; then this process is killed."""
    from secondme.companion.followups import Draft, EventTime
    from secondme.core.types import NewRecord

    store, _, companion, scheduler = _companion(data_dir, wake_s)
    now = datetime.now(UTC)
    texts = ["I have a dentist appointment soon", "I have a job interview soon"]
    store.add([NewRecord(t, now, "note", f"n{n}", origin="notes") for n, t in enumerate(texts)])
    companion.observe(refresh=False)  # no dates in these: no follow-ups found
    records = store.records([i for (i,) in store.query("SELECT id FROM records ORDER BY rowid")])
    for n, (record, topic) in enumerate(zip(records, ["dentist", "interview"], strict=True)):
        due = now + timedelta(seconds=due_s + n)
        companion.followups.add(record, Draft(record.text, record.text, topic, EventTime(now, due, "time", due)), now)
    scheduler.start(paused=True)
    print(json.dumps({job: at.isoformat() for job, at in scheduler.jobs()}), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no clean shutdown: the jobs must already be on disk


def run(data_dir: Path, wake_s: float, seconds: float) -> None:
    """Start the scheduler on the stored jobs, let it work for `seconds`, report what happened."""
    store, model, companion, scheduler = _companion(data_dir, wake_s)
    scheduler.start()
    time.sleep(seconds)
    jobs = sorted(job for job, _ in scheduler.jobs())
    scheduler.shutdown()
    report = {"ran": scheduler.ran, "calls": dict(model.calls), "inbox": [c.message for c in companion.inbox.all()],
              "jobs": jobs, "statuses": sorted(f.status for f in companion.followups.all())}
    store.close()
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    step, folder = sys.argv[1], Path(sys.argv[2])
    if step == "plan":
        plan(folder, float(sys.argv[3]), float(sys.argv[4]))
    else:
        run(folder, float(sys.argv[3]), float(sys.argv[4]))
