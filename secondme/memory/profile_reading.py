"""Reading new summaries for the profile: one narrow question per section, answers kept only when
their source summary says them.

Asked for a whole profile at once, the 1.5B model invented one at temperature 0 ("John is a
25-year-old software engineer who lives in New York City", LoCoMo conv-41, whose summaries say
nothing of the kind) or copied back the profile it was shown (the same 6 statements from each of 8
reads). Asked one question about the summaries, it answers from them; what it still makes up is
caught by `grounded`. The summaries come first in the prompt and the question last, so the model
evaluates them once for all the questions of a read.
"""

from __future__ import annotations

import re
from typing import Any

from secondme.core.protocols import ChatMessage
from secondme.core.types import Record

# Most specific first: a fact given for two sections stays in the first. "places" and "preferences"
# are not asked: the 1.5B made them up. Asked for favourites and dislikes, it answered "favourite food
# is pizza, music is pop" in each of 5 reads of conv-26 and conv-41, none of it in the summaries; asked
# for places, it gave "lives in the city where she grew up" or "they're focusing on the positive".
# Places come from location history (Profile.located) and the owner; where the owner lives is also
# asked with the basics.
QUESTIONS = {
    "people": "Who are the people in {who}'s life, and how is each related to {who}?",
    "interests": "What does {who} like doing or care about: hobbies, interests, causes?",
    "habits": "What does {who} do regularly?",
    "projects": "What is {who} working on, planning or aiming for now?",
    "personality": "What is {who} like as a person, and what does {who} value?",
    "basics": "What do they say about {who}: job, studies, family, age, where {who} lives?",
}
FACT_MAX = 120
FACTS_MAX = 4
GROUNDED = 0.6  # the share of a fact's content words its source summary must hold
_RELATIONS = re.compile(
    r"\b(friends?|partner|wife|husband|boyfriend|girlfriend|spouse|mother|father|mom|mum|dad|parents?|sister|"
    r"brother|siblings?|daughter|son|kids?|children|child|grand\w+|aunt|uncle|cousin|niece|nephew|colleagues?|"
    r"boss|coworkers?|neighbou?rs?|teacher|mentor|family|roommate|flatmate)\b", re.IGNORECASE)
_WORD = re.compile(r"[a-zà-ÿ0-9]+")
_STOP = frozenset(
    "the a an and or but of to in on at for with from by as is are was were be been being has have had his her "
    "their they them he she it its this that these those who whom which what when where how also about into "
    "very some any all both each more most other such than then there so not no do does did will would can "
    "could should may might just only own same too up out over after before while during".split())


def _system(owner: str) -> str:
    who = owner or "the user"
    return (f"You read {who}'s memories and answer one question about {who} with short facts, each a short "
            f"sentence about {who} in the words of the memories, with the label of the memory it comes from. "
            "Only what the memories state; an empty list when they do not say.")


def messages(summaries: list[Record], owner: str, question: str) -> list[ChatMessage]:
    """The prompt for one question about `owner` over new summaries (labelled N1, N2...)."""
    who = owner or "the user"
    memories = "\n".join(f"N{n} ({r.time:%Y-%m-%d}): {r.text}" for n, r in enumerate(summaries, 1))
    return [{"role": "system", "content": _system(owner)},
            {"role": "user", "content": f"Memories:\n{memories}\n\nQuestion: {question.format(who=who)}"}]


def schema(count: int) -> dict[str, Any]:
    """Facts with the label of one of `count` summaries."""
    item = {"type": "object", "properties": {"fact": {"type": "string", "maxLength": FACT_MAX},
                                             "source": {"enum": [f"N{n}" for n in range(1, count + 1)]}},
            "required": ["fact", "source"]}
    return {"type": "object", "properties": {"facts": {"type": "array", "items": item, "maxItems": FACTS_MAX}},
            "required": ["facts"]}


def parse(value: Any) -> list[tuple[str, int]]:
    """(fact, index of its summary) pairs; ValueError when the answer is not a list of facts."""
    if not isinstance(value, dict) or not isinstance(value.get("facts"), list):
        raise ValueError("no facts list")
    found = []
    for item in value["facts"]:
        if not isinstance(item, dict) or not isinstance(item.get("fact"), str) or not re.fullmatch(
                r"N\d+", str(item.get("source"))):
            raise ValueError(f"not a fact: {item!r}")
        text = " ".join(item["fact"].split())
        if len(item["fact"]) >= FACT_MAX:  # cut off: back to its last clause, else its last whole word
            end = max(text.rfind(","), text.rfind(". "))
            text = text[:end if end > 0 else max(text.rfind(" "), 0)].rstrip(" ,.")
        if text:
            found.append((text, int(item["source"][1:]) - 1))
    return found


def _stems(text: str) -> set[str]:
    return {word[:4] for word in _WORD.findall(text.lower()) if word not in _STOP}


def about(fact: str, owner: str) -> bool:
    """Whether a fact speaks of the owner (by first name, or as he, she or I); any fact when unnamed."""
    first = owner.split()[0] if owner.strip() else ""
    return not first or bool(re.search(rf"\b{re.escape(first)}\b|^(he|she|i)\b", fact, re.IGNORECASE))


def echoes(fact: str, question: str, owner: str) -> bool:
    """Whether a fact repeats four words in a row of its question ("Caroline and Melanie are the people
    in Caroline's life", conv-26)."""
    def runs(text: str) -> set[tuple[str, ...]]:
        words = _WORD.findall(text.lower())
        return {tuple(words[n:n + 4]) for n in range(len(words) - 3)}

    return bool(runs(fact) & runs(question.format(who=owner or "the user")))


def grounded(fact: str, source: str, owner: str = "") -> bool:
    """Whether the source summary holds most of the fact's content words (compared by their first four
    letters, so "volunteers" matches "volunteering" and "loves" "love"); the owner's name does not count."""
    words = _stems(fact) - _stems(owner)
    return bool(words) and len(words & _stems(source)) >= GROUNDED * len(words)


def names_someone(fact: str, owner: str) -> bool:
    """Whether a fact names a person other than the owner, by name or by relation (conv-42's "people"
    answers included "Joanna has been writing projects")."""
    others = set(re.findall(r"(?<!^)(?<![.!?] )\b[A-Z][a-z]+", fact)) - set(owner.split())
    return bool(others) or bool(_RELATIONS.search(fact))


def keep(fact: str, section: str, source: str, owner: str) -> bool:
    """Whether an answer to a section's question goes into the profile: it speaks of the owner, does not
    echo the question, its source summary holds its words, and a "people" answer names someone."""
    return (about(fact, owner) and not echoes(fact, QUESTIONS[section], owner) and grounded(fact, source, owner)
            and (section != "people" or names_someone(fact, owner)))
