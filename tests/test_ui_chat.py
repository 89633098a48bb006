"""The chat page under real Qt (offscreen) with a scripted model: streaming Markdown, citation chips that
open the memory, Stop keeping the partial answer, Regenerate, Enter/Shift+Enter, the typing indicator."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from secondme.core.assistant import Assistant  # noqa: E402
from secondme.core.prompt import Persona  # noqa: E402
from secondme.ui.chat_page import ChatPage  # noqa: E402
from secondme.ui.memory_detail import MemoryDialog  # noqa: E402
from tests.fake_chat import NOW, ListMemory, ScriptedModel, record  # noqa: E402

pytestmark = pytest.mark.usefixtures("qt_no_leaks")


def page_with(qtbot, answer: str, delay: float = 0.0) -> ChatPage:  # noqa: ANN001
    memory = ListMemory([record("gym", "Thursday evenings at Blockhaus climbing gym"),
                         record("cafe", "Coffee at Kaffebar on Sundays")])
    page = ChatPage(Assistant(ScriptedModel(answer, delay), memory, Persona("Maya"), clock=lambda: NOW))
    qtbot.addWidget(page)
    page.show()
    return page


def wait_answer(qtbot, page: ChatPage) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: page.worker is None, timeout=5000)


def test_answer_streams_as_markdown_and_a_chip_opens_the_cited_memory(qtbot):
    page = page_with(qtbot, "You climb at **Blockhaus** on Thursdays [1].", delay=0.01)
    page.input.setPlainText("Where do I climb?")
    qtbot.mouseClick(page.send, Qt.MouseButton.LeftButton)
    assert page.worker is not None and page.stop.isEnabled() and page.typing.isVisible()
    wait_answer(qtbot, page)
    answer = page.bubbles[-1]
    assert answer.text == "You climb at **Blockhaus** on Thursdays [1]."
    assert "<strong>Blockhaus</strong>" in answer.body.text() and 'href="cite:1"' in answer.body.text()
    assert [chip.text() for chip in answer.chips] == ["[1] gym · 2026-05-04"]
    assert page.send.isEnabled() and not page.stop.isEnabled() and page.status.text() == "Ready"
    assert not page.typing.isVisible() and answer.again.isVisible()
    with qtbot.waitSignal(page.memory_opened) as opened:
        qtbot.mouseClick(answer.chips[0], Qt.MouseButton.LeftButton)
    assert opened.args[0].id == "gym"
    dialog = page.dialog
    assert isinstance(dialog, MemoryDialog) and dialog.isVisible()
    assert dialog.detail.text.toPlainText() == "Thursday evenings at Blockhaus climbing gym"
    assert dialog.detail.source.text() == "markdown · /notes/gym.md" and dialog.detail.open_file.isVisibleTo(dialog)
    answer.body.linkActivated.emit("cite:1")  # the [1] in the text opens it too
    assert page.dialog is not None and page.dialog.detail.record.id == "gym"
    page.dialog.close()
    answer.copy_text()
    assert QApplication.clipboard().text() == answer.text


def test_stop_ends_the_answer_within_half_a_second_and_keeps_it(qtbot):
    page = page_with(qtbot, " ".join(f"w{n}" for n in range(500)), delay=0.01)
    page.ask("Count for me")
    qtbot.waitUntil(lambda: "w3" in "".join(page._pieces), timeout=5000)
    started = time.monotonic()
    page.stop_answer()
    wait_answer(qtbot, page)
    assert time.monotonic() - started < 0.5
    assert page.status.text() == "Stopped"
    kept = page.bubbles[-1].text
    assert kept.startswith("w0 w1 w2 w3") and "w499" not in kept
    assert page.conversation.turns[-1] == {"role": "assistant", "content": kept}


def test_regenerate_asks_the_last_question_again_in_place(qtbot):
    page = page_with(qtbot, "Sundays at Kaffebar [2].")
    page.ask("When do I have coffee?")
    wait_answer(qtbot, page)
    assert len(page.bubbles) == 2
    with qtbot.waitSignal(page.bubbles[-1].regenerate):
        qtbot.mouseClick(page.bubbles[-1].again, Qt.MouseButton.LeftButton)
    wait_answer(qtbot, page)
    assert [b.role for b in page.bubbles] == ["user", "assistant"]
    assert [t["role"] for t in page.conversation.turns] == ["user", "assistant"]
    assert page.bubbles[0].text == "When do I have coffee?"


def test_enter_sends_and_shift_enter_starts_a_new_line(qtbot):
    page = page_with(qtbot, "Fine.")
    page.input.setFocus()
    qtbot.keyClicks(page.input, "first line")
    qtbot.keyClick(page.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(page.input, "second")
    assert page.input.toPlainText() == "first line\nsecond" and page.worker is None
    qtbot.keyClick(page.input, Qt.Key.Key_Return)
    assert page.worker is not None and page.input.toPlainText() == ""
    wait_answer(qtbot, page)
    assert page.bubbles[0].text == "first line\nsecond"


def test_qt_binding_keeps_none_alive(qapp):
    """PySide6 6.12.0 under Python 3.11 decrefs None on each call returning it: the app aborts."""
    import sys

    before = sys.getrefcount(None)
    for _ in range(20000):
        qapp.processEvents()
    assert sys.getrefcount(None) >= before - 100
