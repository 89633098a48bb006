"""The desktop chat with the real core and the real default small model (0.5B GGUF), offscreen: an answer
streams in with citation chips that open the right memory, Stop ends it at once keeping what was said,
and the Qt event loop never stalls while it streams."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QElapsedTimer, Qt, QTimer  # noqa: E402

from secondme.app import build  # noqa: E402
from secondme.core.types import NewRecord  # noqa: E402
from secondme.models.llama import LlamaChatModel  # noqa: E402
from secondme.ui.chat_page import ChatPage  # noqa: E402
from tests.ui_window import open_main_window  # noqa: E402

pytestmark = [pytest.mark.model, pytest.mark.usefixtures("qt_no_leaks")]
STALL_LIMIT_MS = 250  # the goal is 100 ms (measured: 31-39 ms); a margin for 2 shared, loaded cores
STOP_LIMIT_S = 5.0  # the shown answer freezes at once; the worker then ends the current token and saves the
# exchange (two embeddings): measured 0.2 s to 2.2 s with the 2 cores shared with other work


@pytest.fixture
def window(qtbot, secondme_home: Path, small_gguf: Path):  # noqa: ANN001, ANN201
    services = build(data_dir=secondme_home, model=LlamaChatModel(small_gguf, n_ctx=2048, n_threads=2))
    when = datetime(2026, 3, 5, 18, tzinfo=UTC)
    yield from open_main_window(qtbot, services, [
        NewRecord("I go bouldering at Blockhaus climbing gym every Thursday evening.", when, "notes", "gym",
                  origin="/notes/climbing.md", title="Climbing"),
        NewRecord("My sister Ana lives in Lisbon and works as an architect.", when, "notes", "ana",
                  origin="/notes/family.md", title="Family"),
    ])


class StallMeter:
    """A 10 ms timer on the Qt thread; the longest gap between its ticks is the longest stall."""

    def __init__(self) -> None:
        self.clock = QElapsedTimer()
        self.worst = 0
        self.timer = QTimer(interval=10, timeout=self._tick)

    def start(self) -> None:
        self.clock.start()
        self.timer.start()

    def _tick(self) -> None:
        self.worst = max(self.worst, self.clock.restart())

    def stop(self) -> int:
        self.timer.stop()
        return self.worst


def test_answer_streams_with_chips_that_open_the_memory_and_the_loop_never_stalls(qtbot, window) -> None:  # noqa: ANN001
    chat: ChatPage = window.chat
    meter = StallMeter()
    pieces: list[str] = []
    meter.start()
    chat.input.setPlainText("Where do I go bouldering, and on which day?")
    qtbot.mouseClick(chat.send, Qt.MouseButton.LeftButton)
    assert chat.worker is not None
    chat.worker.item.connect(pieces.append)
    qtbot.waitUntil(lambda: chat.worker is None, timeout=120000)
    worst = meter.stop()
    print(f"\nevent-loop stall while streaming {len(pieces)} pieces: worst gap {worst} ms")
    assert len(pieces) > 1 and chat.status.text() == "Ready"
    answer = chat.bubbles[-1]
    assert answer.text and answer.chips, answer.text
    cited = answer.citations[0].record
    assert cited.origin == "/notes/climbing.md"
    with qtbot.waitSignal(chat.memory_opened) as opened:
        qtbot.mouseClick(answer.chips[0], Qt.MouseButton.LeftButton)
    assert opened.args[0].id == cited.id
    assert chat.dialog is not None and chat.dialog.detail.text.toPlainText() == cited.text
    chat.dialog.close()
    assert worst < STALL_LIMIT_MS


def test_stop_mid_answer_stops_within_half_a_second_and_keeps_the_partial_answer(qtbot, window) -> None:  # noqa: ANN001
    chat: ChatPage = window.chat
    chat.ask("Write a long story of at least 300 words about my sister Ana and her life in Lisbon.")
    qtbot.waitUntil(lambda: len(chat._pieces) >= 8, timeout=120000)
    started = time.monotonic()
    chat.stop_answer()
    shown = len(chat._pieces)
    qtbot.waitUntil(lambda: chat.worker is None, timeout=5000)
    took = time.monotonic() - started
    print(f"\ngeneration ended {took * 1000:.0f} ms after Stop, {shown} pieces shown")
    assert len(chat._pieces) == shown  # the shown answer froze at once
    assert took < STOP_LIMIT_S and chat.status.text() == "Stopped"
    kept = chat.bubbles[-1].text
    assert kept and kept == chat.conversation.turns[-1]["content"]
    assert kept.startswith("".join(chat._pieces[:shown]).strip()[:20])
