"""The chat engine: retrieve memories, stream an answer that cites them, save the exchange."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from secondme.core.citations import citations_for
from secondme.core.prompt import Persona, build_messages
from secondme.core.protocols import ChatMessage, ChatModel, GenerationOptions
from secondme.core.types import Citation, NewRecord, Record, SearchHit

CONVERSATION_SOURCE = "conversation"
REPLY_KIND = "reply"
TURN_KIND = "turn"


class MemoryAccess(Protocol):
    """What the chat engine needs of the memory store."""

    def search(self, query: str, k: int = 10) -> list[SearchHit]: ...

    def add(self, records: Sequence[NewRecord]) -> object: ...


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


class Reply:
    """A streaming answer: iterate for text pieces; `answer` is set once the stream ends.

    `memories` is known before the first piece, so a UI can show what is being used.
    Closing the iterator early stops generation and keeps what was said so far.
    """

    def __init__(self, assistant: Assistant, conversation: Conversation, question: str) -> None:
        self._assistant = assistant
        self._conversation = conversation
        self.question = question
        self.memories = assistant.recall(question)
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        assistant = self._assistant
        messages = build_messages(
            assistant.persona, self._conversation.turns, self.question, self.memories, assistant.clock()
        )
        pieces: list[str] = []
        finished = False
        stream = assistant.model.stream(messages, assistant.options)
        try:
            for piece in stream:
                pieces.append(piece)
                yield piece
            finished = True
        finally:
            close = getattr(stream, "close", None)
            if close:
                close()
            text = "".join(pieces).strip()
            self.answer = Answer(text, citations_for(text, self.memories), self.memories, not finished)
            assistant.remember_exchange(self._conversation, self.question, self.answer)


class Assistant:
    """Answers messages from memory, in the owner's service. Holds no global state."""

    def __init__(
        self,
        model: ChatModel,
        memory: MemoryAccess,
        persona: Persona,
        options: GenerationOptions = GenerationOptions(),
        top_k: int = 6,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.model = model
        self.memory = memory
        self.persona = persona
        self.options = GenerationOptions(**{**options.__dict__, "stable_prefix": 1})
        self.top_k = top_k
        self.clock = clock

    def recall(self, question: str) -> list[SearchHit]:
        """The memories that may back an answer to `question`."""
        hits = self.memory.search(question, k=self.top_k * 2)
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

    def remember_exchange(self, conversation: Conversation, question: str, answer: Answer) -> None:
        """Append the exchange to the conversation and keep both turns as memories."""
        now = self.clock()
        conversation.turns.append({"role": "user", "content": question})
        conversation.turns.append({"role": "assistant", "content": answer.text})
        index = len(conversation.turns)
        origin = f"conversation:{conversation.id}"
        owner = (self.persona.owner,) if self.persona.owner else ()
        turns = [
            NewRecord(question, now, CONVERSATION_SOURCE, f"{origin}#{index - 1}", TURN_KIND, origin,
                      "Chat with SecondMe", owner),
        ]
        if answer.text:
            turns.append(NewRecord(answer.text, now, CONVERSATION_SOURCE, f"{origin}#{index}", REPLY_KIND,
                                   origin, "Chat with SecondMe"))
        self.memory.add(turns)
