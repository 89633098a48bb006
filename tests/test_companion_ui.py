"""The tray under real Qt (offscreen): a check-in delivered on another thread is shown, and a click
opens the chat with it as SecondMe's turn, so the reply continues its conversation."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from secondme.app import build  # noqa: E402
from secondme.ui.main_window import MainWindow  # noqa: E402
from secondme.ui.tray import CheckinTray, open_in_chat  # noqa: E402
from tests.fake_chat import ScriptedModel  # noqa: E402
from tests.fakes import HashEmbedder  # noqa: E402


def test_a_check_in_from_the_scheduler_thread_shows_and_opens_the_chat(qtbot, secondme_home: Path) -> None:  # noqa: ANN001
    services = build(data_dir=secondme_home, embedder=HashEmbedder(), model=ScriptedModel("Glad to hear!"))
    try:
        inbox = services.companion().inbox
        tray = CheckinTray(inbox)
        window = MainWindow(services, services.assistant())
        qtbot.addWidget(window)
        tray.opened.connect(lambda checkin: open_in_chat(window, checkin))
        now = datetime(2026, 5, 5, 12, tzinfo=UTC)
        thread = threading.Thread(target=lambda: inbox.deliver("checkin", "How was the hospital?", "due", now,
                                                               "hospital"))
        thread.start()
        thread.join()
        qtbot.waitUntil(lambda: tray.latest is not None, timeout=5000)
        with qtbot.waitSignal(tray.opened, timeout=5000):
            tray.tray.messageClicked.emit()
        assert tray.latest is not None
        assert window.chat.conversation.id == tray.latest.conversation_id
        assert window.chat.conversation.turns == [{"role": "assistant", "content": "How was the hospital?"}]
        assert "How was the hospital?" in window.chat.transcript_text() and window.isVisible()
        tray.close()
        window.tasks.shutdown()
    finally:
        services.close()


def test_the_scheduler_holds_its_jobs_while_an_answer_streams(qtbot, secondme_home: Path) -> None:  # noqa: ANN001
    from apscheduler.schedulers.base import STATE_PAUSED, STATE_RUNNING

    from secondme.ui.main import Together

    services = build(data_dir=secondme_home, embedder=HashEmbedder(), model=ScriptedModel("Glad to hear!"))
    scheduler = services.companion_scheduler(services.companion())
    scheduler.start()
    states = []
    try:
        window = MainWindow(services, services.assistant(), Together(scheduler))
        qtbot.addWidget(window)
        window.chat.ask("It went fine, thanks")
        assert window.chat.worker is not None
        window.chat.worker.item.connect(lambda _: states.append(scheduler._scheduler.state))
        qtbot.waitUntil(lambda: window.chat.worker is None and scheduler._scheduler.state == STATE_RUNNING,
                        timeout=10000)
        assert states and set(states) == {STATE_PAUSED}
        window.tasks.shutdown()
    finally:
        scheduler.shutdown()
        services.close()
