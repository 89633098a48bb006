"""The core operations the desktop app calls: record edits, chat history, browsing, app settings, data dir."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from secondme import config as config_module
from secondme.app import build
from secondme.core.assistant import Assistant, Conversation
from secondme.core.memory_commands import note_record
from secondme.core.prompt import Persona
from secondme.core.types import NewRecord, Sensitivity
from secondme.errors import ConfigError
from secondme.memory.browse import MemoryFilter, find, sources, topic_pages
from secondme.memory.conversations import ConversationLog
from secondme.paths import choose_data_dir, data_dir
from tests.fake_chat import ScriptedModel
from tests.fakes import HashEmbedder

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


@pytest.fixture
def services(secondme_home: Path):  # noqa: ANN201
    built = build(data_dir=secondme_home, embedder=HashEmbedder(), model=ScriptedModel("Noted [1]."))
    yield built
    built.close()


def test_a_record_is_edited_and_marked_and_search_follows(services) -> None:  # noqa: ANN001
    store = services.store
    record_id = store.add([note_record("I climb at Blockhaus", T0)]).added[0]
    edited = store.update(record_id, text="I boulder at Ostbloc")
    assert edited is not None and edited.text == "I boulder at Ostbloc" and edited.title == "Remembered"
    assert [h.record.id for h in store.search("Ostbloc", mode="bm25")] == [record_id]
    assert store.search("Blockhaus", mode="bm25") == []
    marked = store.update(record_id, sensitivity=Sensitivity.SECRET)
    assert marked is not None and marked.sensitivity == Sensitivity.SECRET and marked.text == "I boulder at Ostbloc"
    assert store.search("Ostbloc", exclude_sensitivity=["secret"]) == []
    assert store.update("nope", text="x") is None


def test_conversations_are_listed_newest_first_and_load_with_their_turns(services) -> None:  # noqa: ANN001
    now = [T0]
    assistant = Assistant(ScriptedModel("Sure."), services.store, Persona("Maya"), clock=lambda: now[0])
    first, second = Conversation(), Conversation()
    for question, conversation in (("What did I plan for the weekend?", first), ("And after that?", first),
                                   ("A long question " + "word " * 30, second)):
        assistant.ask(question, conversation)
        now[0] += timedelta(minutes=10)
    log = ConversationLog(services.store)
    listed = log.recent()
    assert [c.id for c in listed] == [second.id, first.id]
    assert listed[1].title == "What did I plan for the weekend?" and listed[1].turns == 4
    assert listed[0].title.endswith("…") and len(listed[0].title) == 60
    loaded = log.load(first.id)
    assert loaded.turns == first.turns
    assert log.delete(second.id) == 2 and [c.id for c in log.recent()] == [first.id]


def test_browse_filters_by_source_person_place_sensitivity_and_date(services) -> None:  # noqa: ANN001
    store = services.store
    store.add([
        NewRecord("Dinner with Ana in Lisbon", T0, "notes", "a", people=("Ana",), place="Lisbon"),
        NewRecord("Run along the river", T0 + timedelta(days=2), "gps", "b", place="Porto"),
        NewRecord("Ana's secret plan", T0 + timedelta(days=3), "notes", "c", people=("Ana",),
                  sensitivity=Sensitivity.SECRET),
        NewRecord("A topic page on running", T0, "consolidation", "t", kind="topic", title="Running"),
    ])
    texts = lambda found: [r.text for r in found]  # noqa: E731
    assert texts(find(store, "", MemoryFilter(person="ana"))) == ["Ana's secret plan", "Dinner with Ana in Lisbon"]
    assert texts(find(store, "", MemoryFilter(person="ana", sensitivities=("normal",)))) == [
        "Dinner with Ana in Lisbon"]
    assert texts(find(store, "river", MemoryFilter(sources=("gps",)))) == ["Run along the river"]
    assert texts(find(store, "", MemoryFilter(place="lisb"))) == ["Dinner with Ana in Lisbon"]
    assert texts(find(store, "", MemoryFilter(since=T0 + timedelta(days=1), until=T0 + timedelta(days=2)))) == [
        "Run along the river"]
    assert [r.title for r in topic_pages(store)] == ["Running"]
    assert sources(store) == ["consolidation", "gps", "notes"]


def test_app_settings_are_saved_together_and_first_run_is_known(secondme_home: Path) -> None:
    assert not config_module.exists(secondme_home)
    saved = config_module.set_values(secondme_home, {"owner.name": "Maya", "ui.close_to_tray": "false",
                                                     "voice.hotkey": "<ctrl>+<alt>+t", "ui.theme": "dark"})
    assert config_module.exists(secondme_home)
    loaded = config_module.load(secondme_home, {})
    assert loaded == saved and loaded.owner.name == "Maya" and loaded.ui.close_to_tray is False
    assert loaded.voice.hotkey == "<ctrl>+<alt>+t" and "ui.capture_hotkey" in config_module.known_keys()
    with pytest.raises(ConfigError):
        config_module.set_values(secondme_home, {"owner.about": "x", "ui.nope": 1})
    assert config_module.load(secondme_home, {}).owner.about == ""


def test_another_data_dir_is_used_from_the_next_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pointer = tmp_path / "config" / "data-dir.txt"
    choose_data_dir(tmp_path / "elsewhere", pointer)
    assert data_dir(pointer) == tmp_path / "home"  # SECONDME_HOME wins
    monkeypatch.delenv("SECONDME_HOME")
    assert data_dir(pointer) == (tmp_path / "elsewhere").resolve() and (tmp_path / "elsewhere").is_dir()
