"""The chat window under real Qt (offscreen): streaming into the transcript, sources, Stop."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402

from secondme.core.assistant import Assistant  # noqa: E402
from secondme.core.prompt import Persona  # noqa: E402
from secondme.ui.chat_window import ChatWindow  # noqa: E402
from tests.fake_chat import NOW, ListMemory, ScriptedModel, record  # noqa: E402


def window_with(qtbot, answer: str, delay: float = 0.0) -> ChatWindow:  # noqa: ANN001
    memory = ListMemory([record("gym", "Thursday evenings at Blockhaus climbing gym")])
    window = ChatWindow(Assistant(ScriptedModel(answer, delay), memory, Persona("Maya"), clock=lambda: NOW))
    qtbot.addWidget(window)
    window.show()
    return window


def test_answer_streams_in_and_cited_memories_are_listed(qtbot):
    window = window_with(qtbot, "You climb at Blockhaus on Thursdays [1].")
    window.input.setPlainText("Where do I climb?")
    qtbot.mouseClick(window.send, Qt.MouseButton.LeftButton)
    assert window.worker is not None and window.stop.isEnabled()
    with qtbot.waitSignal(window.worker.finished, timeout=5000):
        pass
    qtbot.waitUntil(lambda: window.worker is None)
    assert "You climb at Blockhaus on Thursdays [1]." in window.transcript.toPlainText()
    assert window.sources.count() == 1 and window.sources.item(0).text().startswith("[1] gym")
    assert window.send.isEnabled() and not window.stop.isEnabled() and window.status.text() == "Ready"


def test_stop_ends_the_answer_early(qtbot):
    window = window_with(qtbot, " ".join(f"w{n}" for n in range(500)), delay=0.01)
    window.input.setPlainText("Count for me")
    window.ask()
    worker = window.worker
    assert worker is not None
    qtbot.waitUntil(lambda: "w3" in window.transcript.toPlainText(), timeout=5000)
    window.stop_answer()
    qtbot.waitUntil(lambda: window.worker is None, timeout=5000)
    assert window.status.text() == "Stopped"
    assert "w499" not in window.transcript.toPlainText()


def test_qt_binding_keeps_none_alive(qapp):
    """PySide6 6.12.0 under Python 3.11 decrefs None on each call returning it: the app aborts."""
    import sys

    before = sys.getrefcount(None)
    for _ in range(20000):
        qapp.processEvents()
    assert sys.getrefcount(None) >= before - 100
