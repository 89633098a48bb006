"""The companion with the real default model (1.5B): what it says when it checks in."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from secondme.app import build
from secondme.companion.clock import Clock
from secondme.config import CompanionConfig, Config, OwnerConfig
from secondme.core.assistant import Answer, Conversation
from tests.fakes import HashEmbedder

TZ = ZoneInfo("Europe/Stockholm")


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 5, day, hour, 0, tzinfo=TZ)  # 4 May 2026 is a Monday


@pytest.mark.model
def test_monday_hospital_plan_brings_a_tuesday_noon_check_in_about_it(answer_gguf: Path, secondme_home: Path) -> None:
    from secondme.models.llama import LlamaChatModel

    model = LlamaChatModel(answer_gguf, n_ctx=4096, n_threads=os.cpu_count() or 2)
    config = Config(owner=OwnerConfig("Maya"), companion=CompanionConfig(timezone="Europe/Stockholm"))
    services = build(config, secondme_home, HashEmbedder(), model)
    try:
        services.clock = Clock(TZ, at(4, 18))
        services.assistant().remember_exchange(Conversation(), "I'm going to the hospital tomorrow morning",
                                               Answer("Good luck tomorrow!", [], []))
        companion = services.companion()
        for moment in (at(4, 19), at(4, 23), at(5, 8), at(5, 11)):
            decision = companion.wake(moment)
            assert (decision.reach_out, decision.rule) == (False, "nothing_due"), moment
        memory = json.dumps(companion.memory.current().doc).lower()
        assert "hospital" in memory
        decision = companion.wake(at(5, 12))
        print(json.dumps(decision.as_json()), memory)
        assert decision.reach_out and "hospital" in decision.message.lower()
        assert [c.message for c in companion.inbox.all()] == [decision.message]
    finally:
        services.close()
        model.close()


@pytest.mark.model
def test_the_owners_answer_to_a_check_in_gets_a_reply_not_i_do_not_remember(answer_gguf: Path,
                                                                               secondme_home: Path) -> None:
    from secondme.models.llama import LlamaChatModel

    model = LlamaChatModel(answer_gguf, n_ctx=4096, n_threads=os.cpu_count() or 2)
    services = build(Config(owner=OwnerConfig("Maya")), secondme_home, HashEmbedder(), model)
    try:
        services.clock = Clock(TZ, at(5, 13))
        checkin = "Hi Maya, how did the hospital appointment go?"
        opened = Conversation("c1", [{"role": "assistant", "content": checkin}])
        said = "It went fine, the scan was clear and the knee is only bruised."
        answer = services.assistant().ask(said, opened)
        print(answer.text)
        assert "remember" not in answer.text.lower() and answer.text.strip() != said
        assert opened.turns[:1] == [{"role": "assistant", "content": checkin}] and len(opened.turns) == 3
    finally:
        services.close()
        model.close()
