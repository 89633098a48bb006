"""The profile: the owner's edits, pins, deletions and sensitivity marks win over consolidation; the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from secondme.cli import main
from secondme.core.types import Sensitivity
from secondme.errors import SecondMeError
from secondme.memory import profile_reading
from secondme.memory.consolidation import Consolidator
from secondme.memory.profile import Profile
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
    assert [("Braga" in r.text, "Porto" in r.text) for r in profile.sources_of(braga)] == [
        (True, False), (False, True)]  # newest first
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
    assert "Written by you." in run("profile", "show", row["id"])
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
                              guard=lambda: secret_guard(store))
        assistant.ask("How are you?")
        return model.prompts[-1][0]["content"]

    owner = system_prompt(Audience())
    assert all(text in owner for text in ("Works as a nurse", "Dates Robin", "Owes Kasimir"))
    stranger = system_prompt(Audience("Bo"))
    assert "Works as a nurse" in stranger and "Robin" not in stranger and "Kasimir" not in stranger
    friend = system_prompt(Audience("Cy", allow_private=True))
    assert "Dates Robin" in friend and "Kasimir" not in friend
    assert "kasimir" in secret_guard(store).leaks("He said K-a-s-i-m-i-r, I think")


def test_profile_answers_are_kept_only_when_their_summary_says_them() -> None:
    """What the 1.5B answered about John from LoCoMo conv-41's first summaries: invented facts and a
    relation the summary does not state are dropped; a fact cut off at the cap keeps its whole clauses."""
    summary = ("Maria and John had a conversation about their recent experiences and goals. Maria volunteered at the "
               "homeless shelter and kept fit, while John was volunteering at the homeless shelter and doing "
               "kickboxing. John is brainstorming some initiatives to help underserved communities get access to "
               "education, mentorship, and jobs.")
    cut = "John is brainstorming some initiatives to help underserved communities get access to education, mentorship"
    answer = {"facts": [
        {"fact": "John is a 25-year-old software engineer who lives in New York City.", "source": "N1"},
        {"fact": "John likes volunteering at homeless shelters and doing kickboxing", "source": "N1"},
        {"fact": "John is the father of Maria", "source": "N1"},
        {"fact": (cut + ", jobs and housing for everyone in the neighbourhood")[:profile_reading.FACT_MAX],
         "source": "N2"}]}
    facts = profile_reading.parse(answer)
    assert [n for _, n in facts] == [0, 0, 0, 1]
    assert facts[3][0] == cut
    assert [text for text, _ in facts if profile_reading.grounded(text, summary, "John")] == [
        "John likes volunteering at homeless shelters and doing kickboxing", cut]
    clause = "John is a person who is passionate about helping others and spreading kindness and making a difference"
    [(whole, _)] = profile_reading.parse({"facts": [{"fact": (clause + " in their community")[:120], "source": "N1"}]})
    assert whole == clause + " in their"  # no comma to go back to: the cut word goes
    assert [profile_reading.about(text, "John Smith") for text in (
        "John likes rock climbing", "He volunteers", "Maria is the mother of Coco", "they're focusing on the positive")
            ] == [True, True, False, False]
    assert profile_reading.about("Maria is the mother of Coco", "")  # an unnamed owner: any fact
    people = profile_reading.QUESTIONS["people"]
    assert profile_reading.echoes("Caroline and Melanie are the people in Caroline's life", people, "Caroline")
    assert not profile_reading.echoes("Caroline's friend Melanie has two kids", people, "Caroline")
    assert [profile_reading.names_someone(text, "Joanna") for text in (  # conv-42's answers about people
        "Joanna and Nate are discussing how to improve their video content", "Joanna has been writing projects",
        "Joanna has received words of comfort from someone", "Joanna's mother calls her on Sundays")
            ] == [True, False, False, True]
    with pytest.raises(ValueError, match="no facts"):
        profile_reading.parse({"statements": []})


def test_the_prompt_shows_the_best_supported_statements_of_a_section_and_all_the_owners(store: MemoryStore) -> None:
    from secondme.memory.profile import PER_SECTION, Proposal

    profile = Profile(store)
    sources = [f"s{n}" for n in range(PER_SECTION + 3)]
    with store.batch() as batch:
        for n in range(PER_SECTION + 3):  # statement n comes from n + 1 summaries
            profile.apply(batch, [Proposal("interests", f"Likes sport {n}")], sources[:n + 1], Sensitivity.NORMAL)
    profile.pin(next(s.id for s in profile.statements() if s.text == "Likes sport 0"))
    profile.add("interests", "Loves green tea")
    shown = profile.profile_text().splitlines()
    assert shown[0] == "Interests:" and len(shown) == 1 + PER_SECTION + 2
    assert {"- Likes sport 0", "- Loves green tea", f"- Likes sport {PER_SECTION + 2}"} <= set(shown)
    assert "- Likes sport 1" not in shown and "- Likes sport 2" not in shown
    assert len(profile.statements()) == PER_SECTION + 4  # all of them stay in the profile itself
