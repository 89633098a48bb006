"""The chat engine's logic around the model: prompt order, citations, stopping, saving turns."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from secondme.core.assistant import Assistant, Conversation
from secondme.core.citations import citations_for, cited_numbers
from secondme.core.prompt import Persona, build_messages, is_question
from secondme.core.types import Record, SearchHit
from tests.fake_chat import NOW, ListMemory, ScriptedModel, record


def make(answer: str, records: list[Record]) -> tuple[Assistant, ScriptedModel, ListMemory]:
    model = ScriptedModel(answer)
    memory = ListMemory(records)
    return Assistant(model, memory, Persona("Maya"), clock=lambda: NOW), model, memory


def test_citation_markers_map_to_the_memories_shown():
    assert cited_numbers("Tomas turns 30 [2], chalk bag [1, 2] [7]") == [2, 1, 7]
    memories = [SearchHit(record("a", "chalk bag"), 1), SearchHit(record("b", "14 June"), 1)]
    cites = citations_for("On 14 June [2]; a chalk bag [1]. See [9].", memories)
    assert [(c.number, c.record.id, c.inferred) for c in cites] == [(2, "b", False), (1, "a", False)]


def test_answer_without_markers_gets_inferred_citations():
    memories = [SearchHit(record("gym", "Thursday evenings at Blockhaus climbing gym"), 1),
                SearchHit(record("cat", "Pixel the cat knocked the basil over"), 1)]
    cites = citations_for("You climb at Blockhaus on Thursday evenings.", memories)
    assert [(c.record.id, c.inferred) for c in cites] == [("gym", True)]


def test_prompt_is_stable_first_and_history_holds_plain_questions():
    assistant, model, _ = make("Blockhaus [1].", [record("gym", "I climb at Blockhaus.")])
    conversation = Conversation()
    assistant.ask("Where do I climb?", conversation)
    assistant.ask("Since when?", conversation)
    first, second = model.prompts
    assert first[0] == second[0] and first[0]["role"] == "system" and "Maya" in first[0]["content"]
    assert second[1:3] == [{"role": "user", "content": "Where do I climb?"},
                           {"role": "assistant", "content": "Blockhaus [1]."}]
    assert "[1] (2026-05-04, note: gym) I climb at Blockhaus." in second[-1]["content"]
    assert second[-1]["content"].endswith("Message: Since when?")
    assert model.options[0].stable_prefix == 1


def test_exchange_is_saved_as_memory_and_own_replies_are_not_evidence():
    assistant, _, memory = make("It is Blockhaus [1].", [record("r", "earlier reply", kind="reply"),
                                                         record("gym", "I climb at Blockhaus.")])
    answer = assistant.ask("Where do I climb?")
    assert [c.record.id for c in answer.citations] == ["gym"]
    assert [(r.kind, r.text) for r in memory.added] == [
        ("turn", "Where do I climb?"), ("reply", "It is Blockhaus [1].")]
    assert memory.added[0].people == ("Maya",) and memory.added[0].origin.startswith("conversation:")


def test_closing_the_stream_stops_and_keeps_what_was_said():
    assistant, _, memory = make("one two three four five", [record("gym", "x")])
    reply = assistant.reply(Conversation(), "count")
    stream = iter(reply)
    assert next(stream) == "one "
    stream.close()
    assert reply.answer is not None and reply.answer.stopped and reply.answer.text == "one"
    assert memory.added[-1].text == "one"


def test_questions_asked_in_chat_are_not_evidence_but_statements_are():
    told = record("t1", "I have a hospital appointment tomorrow at 9.", kind="turn")
    asked = record("t2", "Where do I climb?", kind="turn")
    assistant, _, _ = make("ok", [asked, told, record("gym", "I climb at Blockhaus.")])
    assert [h.record.id for h in assistant.recall("Where do I climb?")] == ["t1", "gym"]


@pytest.mark.parametrize(("message", "asks"), [
    ("where do I live?", True), ("What did Ana say about the trip", True), ("tell me about Lisbon", True),
    ("Did I call mum", True), ("I'm going to the hospital tomorrow morning.", False),
    ("It went fine, thanks", False), ("We had dinner at Luigi's", False),
])
def test_a_message_that_tells_gets_the_listening_prompt_not_the_answering_rules(message: str, asks: bool) -> None:

    assert is_question(message) is asks
    system = build_messages(Persona("Sam"), [], message, [], datetime(2026, 5, 4, tzinfo=UTC))[0]["content"]
    assert ("I do not remember that" in system) is asks
