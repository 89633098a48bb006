"""The main window on the real core (real SQLite and chromadb, hash embedder, scripted model), offscreen:
navigation and Ctrl+K, chat history, the memory browser's editor and profile, settings, first run,
"Remember…", close-to-tray, the theme."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QPalette  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from bench.gps import life, write_gpx  # noqa: E402
from secondme import config as config_module  # noqa: E402
from secondme.app import build  # noqa: E402
from secondme.core.types import NewRecord, Sensitivity  # noqa: E402
from secondme.ingestion import Ingestor  # noqa: E402
from secondme.memory.profile import Profile, Proposal  # noqa: E402
from secondme.ui.capture import RememberDialog  # noqa: E402
from secondme.ui.hotkey import GlobalHotkey, qt_sequence  # noqa: E402
from secondme.ui.main_window import MainWindow  # noqa: E402
from secondme.ui.settings_page import FirstRunDialog  # noqa: E402
from secondme.ui.theme import COLORS, apply_theme  # noqa: E402
from tests.fake_chat import ScriptedModel  # noqa: E402
from tests.fakes import HashEmbedder  # noqa: E402
from tests.ui_window import open_main_window  # noqa: E402

pytestmark = pytest.mark.usefixtures("qt_no_leaks")
T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


@pytest.fixture
def window(qtbot, secondme_home: Path):  # noqa: ANN001, ANN201
    services = build(data_dir=secondme_home, embedder=HashEmbedder(), model=ScriptedModel("At Blockhaus [1]."))
    yield from open_main_window(qtbot, services, [NewRecord(
        "Thursday evenings at Blockhaus climbing gym", T0, "notes", "gym", origin="/notes/gym.md", title="Climbing",
        people=("Jonas",), place="Berlin")])


def idle(qtbot, main: MainWindow) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: not main.tasks.busy and main.chat.worker is None, timeout=10000)


def test_navigation_and_ctrl_k_focus_the_memory_search(qtbot, window: MainWindow) -> None:  # noqa: ANN001
    assert list(window.pages) == ["Chat", "Memory", *[n for n in ("Day", "Ingest") if n in window.pages], "Settings"]
    assert window.stack.currentWidget() is window.chat
    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert window.stack.currentWidget() is window.memory
    assert QApplication.focusWidget() is window.memory.search.query
    idle(qtbot, window)


def test_chat_history_lists_the_conversation_and_reopens_it(qtbot, window: MainWindow) -> None:  # noqa: ANN001
    chat = window.chat
    chat.ask("Where do I climb?")
    idle(qtbot, window)
    qtbot.waitUntil(lambda: chat.conversations.count() == 1, timeout=5000)
    assert chat.conversations.item(0).text().startswith("Where do I climb?")
    assert [c.text() for c in chat.bubbles[-1].chips] == ["[1] Climbing · 2026-03-01"]
    chat.new_chat()
    assert chat.bubbles == [] and chat.conversation.turns == []
    chat._open_item(chat.conversations.item(0))
    qtbot.waitUntil(lambda: len(chat.bubbles) == 2, timeout=5000)
    assert [b.text for b in chat.bubbles] == ["Where do I climb?", "At Blockhaus [1]."]
    idle(qtbot, window)


def test_memory_browser_filters_edits_marks_and_deletes(qtbot, window: MainWindow) -> None:  # noqa: ANN001
    search = window.memory.search
    window.search_memory()
    search.person.setText("jonas")
    search.search()
    qtbot.waitUntil(lambda: search.table.rowCount() == 1, timeout=5000)
    search.table.selectRow(0)
    detail = search.detail
    assert detail.text.toPlainText().startswith("Thursday evenings") and detail.open_file.isVisibleTo(detail)
    detail.text.setPlainText("Tuesday evenings at Blockhaus")
    detail.sensitivity.setCurrentText("private")
    with qtbot.waitSignal(detail.changed, timeout=5000) as changed:
        qtbot.mouseClick(detail.save, Qt.MouseButton.LeftButton)
    record = window.services.store.get(changed.args[0].id)
    assert record is not None and record.text == "Tuesday evenings at Blockhaus"
    assert record.sensitivity == Sensitivity.PRIVATE
    idle(qtbot, window)
    search.table.selectRow(0)
    with qtbot.waitSignal(detail.deleted, timeout=5000):
        qtbot.mouseClick(detail.delete, Qt.MouseButton.LeftButton)
    assert window.services.store.get(record.id) is None
    idle(qtbot, window)


def test_profile_tab_adds_pins_and_deletes_through_the_core(qtbot, window: MainWindow) -> None:  # noqa: ANN001
    tab = window.memory.profile
    window.memory.tabs.setCurrentWidget(tab)
    tab.section.setCurrentText("habits")
    tab.text.setText("Climbs on Thursdays")
    tab.add()
    qtbot.waitUntil(lambda: tab.table.rowCount() == 1, timeout=5000)
    tab.table.selectRow(0)
    qtbot.waitUntil(lambda: tab.sources.toPlainText() == "Written by you.", timeout=5000)
    tab.buttons["Pin"].click()
    qtbot.waitUntil(lambda: tab.table.rowCount() == 1 and tab.table.item(0, 3).text() == "📌", timeout=5000)
    assert Profile(window.services.store).statements()[0].pinned
    tab.table.selectRow(0)
    tab.buttons["Delete"].click()
    qtbot.waitUntil(lambda: tab.table.rowCount() == 0, timeout=5000)
    assert Profile(window.services.store).statements() == []
    store = window.services.store
    [(note_id,)] = store.query("SELECT id FROM records")
    with store.batch() as batch:  # a statement consolidation made from the note
        Profile(store).apply(batch, [Proposal("habits", "Climbs at Blockhaus")], [note_id], Sensitivity.NORMAL)
    tab.reload()
    qtbot.waitUntil(lambda: tab.table.rowCount() == 1, timeout=5000)
    tab.table.selectRow(0)
    qtbot.waitUntil(lambda: "Thursday evenings at Blockhaus" in tab.sources.toPlainText(), timeout=5000)
    assert tab.sources.toPlainText().startswith("From:\n2026-03-01 · Thursday evenings at Blockhaus climbing gym")
    idle(qtbot, window)


def test_profile_tab_lists_the_places_of_location_history_read_only(qtbot, window: MainWindow,  # noqa: ANN001
                                                                     tmp_path: Path) -> None:
    write_gpx(tmp_path / "two-weeks.gpx", life(days=14))  # Ljubljana
    Ingestor(window.services.store).ingest([tmp_path / "two-weeks.gpx"])
    tab = window.memory.profile
    window.memory.tabs.setCurrentWidget(tab)
    tab.reload()
    qtbot.waitUntil(lambda: tab.table.rowCount() == 3, timeout=5000)  # home, work, the gym (the café: 2 visits)
    assert tab.table.item(0, 1).text().startswith("Home near Ljubljana, Slovenia: 13 visits")
    assert [tab.table.item(row, 0).text() for row in range(3)] == ["places"] * 3
    tab.table.selectRow(0)
    assert tab.current() is None and not tab.buttons["Delete"].isEnabled()
    idle(qtbot, window)


def test_settings_are_saved_to_the_config(qtbot, window: MainWindow, secondme_home: Path) -> None:  # noqa: ANN001
    form = window.settings.form
    form.fields["owner.name"].setText("Maya")  # type: ignore[attr-defined]
    form.model_mode.setCurrentIndex(2)
    form.endpoint.setText("http://127.0.0.1:9/v1")
    form.fields["ui.close_to_tray"].setChecked(False)  # type: ignore[attr-defined]
    with qtbot.waitSignal(window.settings.saved, timeout=5000):
        window.settings.save.click()
    saved = config_module.load(secondme_home, {})
    assert saved.owner.name == "Maya" and saved.model.endpoint == "http://127.0.0.1:9/v1" and saved.model.path == ""
    assert saved.ui.close_to_tray is False and saved.companion.quiet_start == "22:00"
    with qtbot.waitSignal(form.tested, timeout=20000) as tested:  # nothing listens there: fails, off the Qt thread
        form.test.click()
    assert tested.args[0].startswith("Failed")
    idle(qtbot, window)


def test_first_run_dialog_writes_the_config(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    home = tmp_path / "fresh"
    dialog = FirstRunDialog(home)
    qtbot.addWidget(dialog)
    dialog.form.fields["owner.name"].setText("Ana")  # type: ignore[attr-defined]
    dialog.accept()
    assert config_module.exists(home) and config_module.load(home, {}).owner.name == "Ana"


def test_remember_box_stores_a_memory(qtbot, window: MainWindow) -> None:  # noqa: ANN001
    services = window.services
    dialog = RememberDialog(services.store, lambda: T0, window.tasks, window)
    dialog.text.setPlainText("The spare key is under the blue pot")
    dialog.sensitivity.setCurrentText("secret")
    with qtbot.waitSignal(dialog.remembered, timeout=5000) as stored:
        dialog.keep()
    record = services.store.get(stored.args[0][0])
    assert record is not None and record.source == "remember" and record.sensitivity == Sensitivity.SECRET
    dialog.deleteLater()


def test_close_to_tray_hides_and_quit_closes(qtbot, window: MainWindow) -> None:  # noqa: ANN001
    window.close_to_tray = True
    with qtbot.waitSignal(window.hidden_to_tray):
        window.close()
    assert not window.isVisible()
    window.bring_up()
    assert window.isVisible()
    window.quit()
    assert not window.isVisible()


def test_hotkey_falls_back_without_a_display_and_theme_follows_the_choice(qapp) -> None:  # noqa: ANN001
    listener = GlobalHotkey("<ctrl>+<alt>+m")
    assert listener.active or listener.error  # offscreen: no X server, so pynput (if installed) cannot listen
    listener.stop()
    assert qt_sequence("<ctrl>+<alt>+m") == "Ctrl+Alt+M"
    assert apply_theme(qapp, "dark") == "dark"
    assert qapp.palette().color(QPalette.ColorRole.Window).name() == COLORS["dark"]["window"]
    assert apply_theme(qapp, "system") in ("light", "dark")
