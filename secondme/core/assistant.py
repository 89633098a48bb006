"""The chat engine: retrieve memories, stream an answer that cites them, save the exchange.

It talks either to the owner or, in twin mode, to a guest: a guest's prompt never holds a
secret memory, holds private ones only if the owner allowed it, and the finished answer passes
a leak check before the guest sees it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol

from secondme.core.citations import citations_for
from secondme.core.commands import Command, parse_command
from secondme.core.guard import SecretGuard
from secondme.core.prompt import Persona, build_messages
from secondme.core.protocols import ChatMessage, ChatModel, GenerationOptions
from secondme.core.types import Citation, NewRecord, Record, SearchHit, Sensitivity

CONVERSATION_SOURCE = "conversation"
GUEST_SOURCE = "guest"
CHAT_SOURCES = (CONVERSATION_SOURCE, GUEST_SOURCE)  # source families of the chats held with SecondMe
REPLY_KIND = "reply"
TURN_KIND = "turn"
ABOUT_ME_QUERY = "me my life family friends partner work job projects hobbies habits home"
BLOCKED_ANSWER = "I'm sorry, that is something I can't share."


class MemoryAccess(Protocol):
    """What the chat engine needs of the memory store."""

    def search(
        self, query: str, k: int = 10, *, exclude_sensitivity: Sequence[str] = (), exclude_sources: Sequence[str] = ()
    ) -> list[SearchHit]:
        """The best memories, leaving out these sensitivities and source families ("guest" holds
        "guest:Tomas"), and any summary of such records."""

    def add(self, records: Sequence[NewRecord]) -> object: ...

    def forget(self, record_id: str) -> bool: ...


class InstructionAccess(Protocol):
    """The owner's standing instructions."""

    def add(self, text: str) -> object: ...

    def texts(self) -> list[str]: ...


class ProfileAccess(Protocol):
    """The owner's profile as prompt text, with statements of these sensitivities only."""

    def profile_text(self, include: Sequence[str] = ("normal",), exclude_sources: Sequence[str] = ()) -> str: ...


@dataclass(frozen=True)
class Audience:
    """Who is talking: the owner (guest None) or a guest, who may or may not see private memories."""

    guest: str | None = None
    allow_private: bool = False

    @property
    def hidden(self) -> tuple[str, ...]:
        if self.guest is None:
            return ()
        return (Sensitivity.SECRET,) if self.allow_private else (Sensitivity.SECRET, Sensitivity.PRIVATE)

    @property
    def visible(self) -> tuple[str, ...]:
        return tuple(level for level in Sensitivity if level not in self.hidden)

    @property
    def hidden_sources(self) -> tuple[str, ...]:
        """A guest sees no chat held with SecondMe: not the owner's, not another guest's (nor their
        own earlier ones: the chat going on is in their prompt)."""
        return () if self.guest is None else CHAT_SOURCES


def is_evidence(record: Record) -> bool:
    """SecondMe's own past replies are not evidence, and neither are the questions the owner asked
    it (they crowd out the notes that answer them); what the owner told it in chat is."""
    if record.kind == REPLY_KIND:
        return False
    return not (record.kind == TURN_KIND and record.text.rstrip().endswith("?"))


@dataclass
class Conversation:
    """One chat: its id and the turns so far in chat-message shape."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    turns: list[ChatMessage] = field(default_factory=list)


@dataclass(frozen=True)
class Answer:
    text: str
    citations: list[Citation]
    memories: list[SearchHit]
    stopped: bool = False
    blocked: list[str] = field(default_factory=list)  # secret words a guest answer would have leaked


class Reply:
    """A streaming answer: iterate for text pieces; `answer` is set once the stream ends.

    `memories` is known before the first piece, so a UI can show what is being used.
    Closing the iterator early stops generation and keeps what was said so far.
    """

    def __init__(self, assistant: Assistant, conversation: Conversation, question: str) -> None:
        self._assistant = assistant
        self._conversation = conversation
        self.question = question
        self.command = parse_command(question) if assistant.audience.guest is None else None
        query = ABOUT_ME_QUERY if self.command and self.command.kind == "about_me" else question
        acting = self.command is not None and self.command.kind != "about_me"
        self.memories = [] if acting else assistant.recall(query)
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        assistant = self._assistant
        if self.command is not None and self.command.kind != "about_me":
            text, cited = assistant.carry_out(self.command)
            self.memories = [SearchHit(r, 1.0) for r in cited]
            yield text
            self._finish(text, finished=True, keep=False)  # "forget X" must not itself be kept
            return
        if assistant.audience.guest is not None:
            yield from self._guarded()
            return
        pieces: list[str] = []
        finished = False
        stream = assistant.model.stream(self._messages(), assistant.options)
        try:
            for piece in stream:
                pieces.append(piece)
                yield piece
            finished = True
        finally:
            close = getattr(stream, "close", None)
            if close:
                close()
            self._finish("".join(pieces).strip(), finished)

    def _messages(self) -> list[ChatMessage]:
        assistant = self._assistant
        return build_messages(assistant.persona_now(), self._conversation.turns, self.question, self.memories,
                              assistant.clock(), guest=assistant.audience.guest)

    def _guarded(self) -> Iterator[str]:
        """A guest's answer is checked whole before any of it is shown."""
        assistant = self._assistant
        text = "".join(assistant.model.stream(self._messages(), assistant.options)).strip()
        leaked = assistant.guard().leaks(text)
        if leaked:
            text = BLOCKED_ANSWER
        yield text
        self._finish(text, True, leaked)

    def _finish(self, text: str, finished: bool, blocked: list[str] | None = None, keep: bool = True) -> None:
        citations = [] if blocked else citations_for(text, self.memories)
        self.answer = Answer(text, citations, self.memories, not finished, blocked or [])
        self._assistant.remember_exchange(self._conversation, self.question, self.answer, keep)


class Assistant:
    """Answers messages from memory, for the owner or a guest. Holds no global state."""

    def __init__(
        self,
        model: ChatModel,
        memory: MemoryAccess,
        persona: Persona,
        options: GenerationOptions = GenerationOptions(),
        top_k: int = 6,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        instructions: InstructionAccess | None = None,
        audience: Audience = Audience(),
        guard: Callable[[], SecretGuard] | None = None,
        profile: ProfileAccess | None = None,
    ) -> None:
        self.model = model
        self.memory = memory
        self.persona = persona
        self.options = replace(options, stable_prefix=1)
        self.top_k = top_k
        self.clock = clock
        self.instructions = instructions
        self.audience = audience
        self._guard_factory = guard
        self.profile = profile
        self._guard: SecretGuard | None = None

    def guard(self) -> SecretGuard:
        if self._guard is None:
            self._guard = self._guard_factory() if self._guard_factory else SecretGuard((), lambda _: True)
        return self._guard

    def persona_now(self) -> Persona:
        """The persona with the profile (what this audience may see of it) and the standing
        instructions as they are now."""
        rules = tuple(self.instructions.texts()) if self.instructions else ()
        profile = (self.profile.profile_text(self.audience.visible, self.audience.hidden_sources) if self.profile
                   else self.persona.profile)
        return replace(self.persona, instructions=rules, profile=profile)

    def recall(self, question: str) -> list[SearchHit]:
        """The memories that may back an answer, among those this audience may see."""
        audience = self.audience
        hits = self.memory.search(question, k=self.top_k * 4, exclude_sensitivity=audience.hidden,
                                  exclude_sources=audience.hidden_sources)
        return [h for h in hits if is_evidence(h.record)][: self.top_k]

    def reply(self, conversation: Conversation, question: str) -> Reply:
        return Reply(self, conversation, question)

    def ask(self, question: str, conversation: Conversation | None = None) -> Answer:
        """One whole answer, not streamed."""
        reply = self.reply(conversation or Conversation(), question)
        for _ in reply:
            pass
        assert reply.answer is not None
        return reply.answer

    def carry_out(self, command: Command) -> tuple[str, list[Record]]:
        """Do what an explicit memory command asks; the reply text and the records it concerns."""
        from secondme.core.memory_commands import carry_out

        return carry_out(self, command)

    def remember_exchange(self, conversation: Conversation, question: str, answer: Answer, keep: bool = True) -> None:
        """Append the exchange to the conversation and keep both turns as private memories."""
        now = self.clock()
        conversation.turns.append({"role": "user", "content": question})
        conversation.turns.append({"role": "assistant", "content": answer.text})
        if not keep:
            return
        index = len(conversation.turns)
        guest = self.audience.guest
        origin = f"{'guest' if guest else 'conversation'}:{conversation.id}"
        source = f"{GUEST_SOURCE}:{guest}" if guest else CONVERSATION_SOURCE
        title = f"Chat with {guest}" if guest else "Chat with SecondMe"
        speaker = (guest,) if guest else ((self.persona.owner,) if self.persona.owner else ())
        private = Sensitivity.PRIVATE
        turns = [NewRecord(question, now, source, f"{origin}#{index - 1}", TURN_KIND, origin, title, speaker,
                           sensitivity=private)]
        if answer.text:
            turns.append(NewRecord(answer.text, now, source, f"{origin}#{index}", REPLY_KIND, origin, title,
                                   sensitivity=private))
        self.memory.add(turns)
