"""The profile: the owner's edits, pins, deletions and sensitivity marks win over consolidation; the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from secondme.cli import main
from secondme.core.types import Sensitivity
from secondme.errors import SecondMeError
from secondme.memory.consolidation import Consolidator
from secondme.memory.profile import STATEMENT_MAX, Profile, parse
from secondme.memory.store import MemoryStore
from tests.consolidation_fake import RuleModel
from tests.test_consolidation import messages, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MemoryStore]:
    opened = open_store(tmp_path / "data")
    yield opened
    opened.close()


def consolidate(store: MemoryStore, text: str, hour: int) -> Profile:
    store.add(messages("notes", [text], start=hour))
    consolidator = Consolidator(store, RuleModel())
    consolidator.run()
    return consolidator.profile


def texts(profile: Profile) -> list[str]:
    return [s.text for s in profile.statements()]


def test_owner_statements_render_by_section_and_sensitivity(store: MemoryStore) -> None:
    profile = Profile(store)
    tea = profile.add("preferences", "  Prefers   green tea ")
    profile.add("basics", "Is called Ana")
    secret = profile.add("people", "Sees Dr Silva on Mondays")
    profile.mark(secret.id, Sensitivity.SECRET)
    assert tea.text == "Prefers green tea" and tea.user_edited
    assert profile.profile_text() == "Basics:\n- Is called Ana\nPreferences:\n- Prefers green tea"
    assert "Dr Silva" in profile.profile_text(include=("normal", "private", "secret"))
    assert profile.add("preferences", "prefers green tea.").id == tea.id  # the same statement, not a second one
    with pytest.raises(SecondMeError, match="unknown section"):
        profile.add("hobbies", "x")
    with pytest.raises(SecondMeError, match="no profile statement"):
        profile.pin("nope")


def test_consolidation_replaces_its_own_statements_but_never_pinned_or_edited_ones(store: MemoryStore) -> None:
    profile = consolidate(store, "#home I live in Porto", 0)
    assert texts(profile) == ["Lives in Porto"]
    profile = consolidate(store, "#home I live in Braga", 1)
    assert texts(profile) == ["Lives in Braga"]  # replaced: a correction of its own statement
    [braga] = profile.statements()
    assert len(braga.sources) == 2
    profile.pin(braga.id)
    profile = consolidate(store, "#home I live in Lisbon", 2)
    assert texts(profile) == ["Lives in Braga", "Lives in Lisbon"]
    edited = profile.edit(profile.statements()[1].id, "Lives in Lisbon since 2024")
    profile.pin(braga.id, pinned=False)
    profile = consolidate(store, "#home I live in Faro", 3)
    assert profile.get(edited.id).text == "Lives in Lisbon since 2024"
    assert sorted(texts(profile)) == ["Lives in Faro", "Lives in Lisbon since 2024"]  # Braga was not protected


def test_a_deleted_statement_is_not_added_again(store: MemoryStore) -> None:
    profile = consolidate(store, "#climbing I love bouldering", 0)
    [statement] = profile.statements()
    profile.delete(statement.id)
    profile = consolidate(store, "#climbing I love bouldering again", 5)
    assert texts(profile) == []
    assert [s.deleted for s in profile.statements(include_deleted=True)] == [True]
    assert profile.add("interests", "Loves bouldering").id == statement.id  # the owner may bring it back


def test_profile_commands(capsys: pytest.CaptureFixture[str]) -> None:
    def run(*args: str) -> str:
        assert main(list(args)) == 0
        return capsys.readouterr().out

    run("profile", "add", "interests", "Loves", "bouldering")
    [row] = json.loads(run("profile", "show", "--json"))
    assert (row["section"], row["text"], row["user_edited"]) == ("interests", "Loves bouldering", True)
    run("profile", "edit", row["id"], "Loves sport climbing")
    run("profile", "pin", row["id"])
    run("profile", "mark", row["id"], "private")
    [row] = json.loads(run("profile", "show", "--json"))
    assert (row["text"], row["pinned"], row["sensitivity"]) == ("Loves sport climbing", True, "private")
    assert "Loves sport climbing [pinned] [edited] [private]" in run("profile")
    run("profile", "delete", row["id"])
    assert json.loads(run("profile", "show", "--json")) == []
    assert main(["profile", "mark", row["id"], "public"]) == 1
    assert "unknown sensitivity" in capsys.readouterr().err
    run("remember", "I", "love", "green", "tea")
    assert json.loads(run("status", "--json"))["consolidation_pending"]["records"] == 1


def test_the_profile_is_in_every_prompt_filtered_by_audience(store: MemoryStore) -> None:
    from secondme.core.assistant import Assistant, Audience
    from secondme.core.prompt import Persona
    from secondme.memory.standing import secret_guard
    from tests.fake_chat import ScriptedModel

    profile = Profile(store)
    profile.add("basics", "Works as a nurse")
    profile.add("people", "Dates Robin", Sensitivity.PRIVATE)
    profile.add("basics", "Owes Kasimir 4000 euros", Sensitivity.SECRET)

    def system_prompt(audience: Audience) -> str:
        model = ScriptedModel("Fine.")
        assistant = Assistant(model, store, Persona("Ana"), audience=audience, profile=profile,
                              guard=lambda: secret_guard(store, audience.hidden))
        assistant.ask("How are you?")
        return model.prompts[-1][0]["content"]

    owner = system_prompt(Audience())
    assert all(text in owner for text in ("Works as a nurse", "Dates Robin", "Owes Kasimir"))
    stranger = system_prompt(Audience("Bo"))
    assert "Works as a nurse" in stranger and "Robin" not in stranger and "Kasimir" not in stranger
    friend = system_prompt(Audience("Cy", allow_private=True))
    assert "Dates Robin" in friend and "Kasimir" not in friend
    assert "kasimir" in secret_guard(store, Audience("Bo").hidden).leaks("He said K-a-s-i-m-i-r, I think")


def test_statements_that_copy_the_prompt_or_were_cut_off_are_dropped() -> None:
    """What the 1.5B proposed for LoCoMo conversation 30: the instructions, and a summary cut at the length cap
    with no whole sentence in it."""
    copied = "Gina and Jon are two friends who discuss starting their own dance studio, including their passion for "
    answer = {"statements": [
        {"section": "basics", "statement": "Jon is a short standalone statement about Jon, one fact each, in sections",
         "replaces": "", "source": "N1"},
        {"section": "people", "statement": (copied * 2)[:STATEMENT_MAX], "replaces": "", "source": "N1"},
        {"section": "interests", "statement": "Jon loves dancing and wants to open a dance studio.", "replaces": "",
         "source": "N2"},
        {"section": "basics", "statement": ("Maya is a product manager at Lumen Labs in Uppsala. She runs along the "
                                            "Fyris river before work and " + "x" * 100)[:STATEMENT_MAX],
         "replaces": "", "source": "N1"}]}  # the 0.5B on the sample notes: its first sentence is kept
    assert [p.text for p in parse(answer)] == ["Jon loves dancing and wants to open a dance studio.",
                                               "Maya is a product manager at Lumen Labs in Uppsala."]
