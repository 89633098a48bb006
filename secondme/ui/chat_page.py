"""The chat: past conversations, the answer streaming in as Markdown, Stop, Regenerate, citation chips."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from secondme.core.assistant import Answer, Assistant, Conversation, Reply
from secondme.core.types import Record
from secondme.memory.conversations import ConversationInfo, ConversationLog
from secondme.memory.store import MemoryStore
from secondme.ui.chat_bubble import Bubble
from secondme.ui.memory_detail import MemoryDialog
from secondme.ui.tasks import BackgroundTasks, StreamWorker

RENDER_MS = 50  # the streaming answer is re-rendered at most this often


class Yielding(Protocol):
    """Background work that gives the model up while the user chats."""

    def pause(self) -> None: ...

    def resume(self) -> None: ...


class MessageInput(QPlainTextEdit):
    """Enter sends, Shift+Enter starts a new line."""

    submitted = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class ChatPage(QWidget):
    """Talks to the assistant on a worker thread; `memory_opened(record)` when a citation is clicked."""

    memory_opened = Signal(object)

    def __init__(self, assistant: Assistant, store: MemoryStore | None = None, log: ConversationLog | None = None,
                 background: Yielding | None = None, tasks: BackgroundTasks | None = None) -> None:
        super().__init__()
        self.assistant, self.store, self.log, self.background = assistant, store, log, background
        self.tasks = tasks or BackgroundTasks(self)
        self.conversation = Conversation()
        self.worker: StreamWorker | None = None
        self.bubbles: list[Bubble] = []
        self.dialog: MemoryDialog | None = None
        self._pieces: list[str] = []
        self._render = QTimer(self, singleShot=True, interval=RENDER_MS, timeout=self._render_answer)
        self._build()
        self.refresh_conversations()

    def _build(self) -> None:
        self.conversations = QListWidget()
        self.conversations.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.conversations.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.conversations.itemClicked.connect(self._open_item)
        self.new = QPushButton("New chat")
        self.new.clicked.connect(self.new_chat)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.new)
        side_layout.addWidget(self.conversations, 1)
        self.column = QVBoxLayout()
        self.column.addStretch(1)
        holder = QWidget()
        holder.setLayout(self.column)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(holder)
        self.scroll.verticalScrollBar().rangeChanged.connect(lambda _, top: self.scroll.verticalScrollBar()
                                                             .setValue(top))
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(side)
        split.addWidget(self._conversation_panel())
        split.setSizes([220, 700])
        layout = QVBoxLayout(self)
        layout.addWidget(split)

    def _conversation_panel(self) -> QWidget:
        self.typing = QLabel("SecondMe is thinking…")
        self.typing.setObjectName("muted")
        self.typing.setVisible(False)
        self.input = MessageInput()
        self.input.setPlaceholderText("Ask your second self…  (Enter sends, Shift+Enter for a new line)")
        self.input.setFixedHeight(76)
        self.input.submitted.connect(self.ask)
        self.send = QPushButton("Send")
        self.send.setObjectName("primary")
        self.send.clicked.connect(self.ask)
        self.stop = QPushButton("Stop")
        self.stop.setEnabled(False)
        self.stop.clicked.connect(self.stop_answer)
        self.status = QLabel("Ready")
        self.status.setObjectName("muted")
        row = QHBoxLayout()
        row.addWidget(self.input, 1)
        buttons = QVBoxLayout()
        buttons.addWidget(self.send)
        buttons.addWidget(self.stop)
        row.addLayout(buttons)
        panel = QWidget()
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self.typing)
        layout.addLayout(row)
        layout.addWidget(self.status)
        return panel

    # -- the transcript -------------------------------------------------------------------------

    def add_bubble(self, role: str, text: str = "") -> Bubble:
        bubble = Bubble(role, text)
        bubble.cited.connect(self.open_memory)
        bubble.regenerate.connect(self.regenerate)
        self.column.insertWidget(self.column.count() - 1, bubble)
        self.bubbles.append(bubble)
        return bubble

    def clear_bubbles(self) -> None:
        for bubble in self.bubbles:
            bubble.deleteLater()
        self.bubbles.clear()

    def show_conversation(self, conversation: Conversation) -> None:
        if self.worker is not None:
            return
        self.conversation = conversation
        self.clear_bubbles()
        for turn in conversation.turns:
            self.add_bubble(turn["role"], turn["content"])
        self._offer_regenerate()

    def transcript_text(self) -> str:
        return "\n".join(bubble.text for bubble in self.bubbles)

    def _offer_regenerate(self) -> None:
        for bubble in self.bubbles:
            bubble.again.setVisible(False)
        last = self.bubbles[-1] if self.bubbles else None
        if last is not None and last.role == "assistant" and len(self.bubbles) >= 2:
            last.again.setVisible(self.bubbles[-2].role == "user")

    # -- asking ---------------------------------------------------------------------------------

    def ask(self, question: str | None = None) -> None:
        question = (question if isinstance(question, str) else self.input.toPlainText()).strip()
        if not question or self.worker is not None:
            return
        self.input.clear()
        self.add_bubble("user", question)
        self.add_bubble("assistant")
        self._pieces = []
        self._set_busy(True)
        replies: list[Reply] = []
        conversation = self.conversation

        def start() -> Iterator[str]:  # retrieval runs here, off the Qt thread, too
            replies.append(self.assistant.reply(conversation, question))
            return iter(replies[0])

        self.worker = StreamWorker(start, lambda: replies[0].answer if replies else None)
        self.worker.item.connect(self._piece)
        self.worker.finished.connect(self._done)
        self.worker.failed.connect(self._failed)
        self.worker.start()

    def _set_busy(self, busy: bool, message: str = "Thinking…") -> None:
        self.send.setEnabled(not busy)
        self.stop.setEnabled(busy)
        self.new.setEnabled(not busy)
        self.typing.setVisible(busy)
        self.status.setText(message)
        if self.background is not None:
            (self.background.pause if busy else self.background.resume)()

    def stop_answer(self) -> None:
        """The shown answer freezes at once; the model stops after the token it is computing."""
        if self.worker is not None:
            self.worker.stop()
            self.status.setText("Stopping…")

    def _piece(self, piece: str) -> None:
        if self.worker is None or self.worker.stopping:
            return
        if not self._pieces:
            self.typing.setVisible(False)
            self.status.setText("Answering…")
        self._pieces.append(piece)
        if not self._render.isActive():
            self._render.start()

    def _render_answer(self) -> None:
        if self.bubbles:
            self.bubbles[-1].set_text("".join(self._pieces))

    def _finish(self, message: str) -> None:
        self._render.stop()
        if self.worker is not None:
            self.worker.wait()
        self.worker = None
        self._set_busy(False, message)
        self._offer_regenerate()
        self.refresh_conversations()

    def _done(self, answer: Answer | None) -> None:
        bubble = self.bubbles[-1]
        bubble.set_text(answer.text if answer else "".join(self._pieces).strip())
        bubble.set_citations(answer.citations if answer else [])
        self._finish("Stopped" if answer and answer.stopped else "Ready")

    def _failed(self, message: str) -> None:
        self.bubbles[-1].set_text(f"*Error: {message}*")
        self._finish("Error")

    def regenerate(self) -> None:
        """Ask the last question again, in place of its answer."""
        if self.worker is not None or len(self.bubbles) < 2:
            return
        if self.log is not None:
            question = self.log.drop_last_exchange(self.conversation)
        else:
            question = self.conversation.turns[-2]["content"] if len(self.conversation.turns) >= 2 else ""
            del self.conversation.turns[-2:]
        for bubble in self.bubbles[-2:]:
            bubble.deleteLater()
        del self.bubbles[-2:]
        self.ask(question)

    # -- conversations and memories ---------------------------------------------------------------

    def new_chat(self) -> None:
        self.show_conversation(Conversation())
        self.input.setFocus()

    def refresh_conversations(self) -> None:
        if self.log is not None:
            log = self.log
            self.tasks.run(log.recent, self._list_conversations)

    def _list_conversations(self, found: list[ConversationInfo]) -> None:
        self.conversations.clear()
        for info in found:
            item = QListWidgetItem(f"{info.title}\n{info.updated.astimezone():%Y-%m-%d %H:%M}")
            item.setData(Qt.ItemDataRole.UserRole, info.id)
            self.conversations.addItem(item)
            item.setSelected(info.id == self.conversation.id)

    def _open_item(self, item: QListWidgetItem) -> None:
        conversation_id = item.data(Qt.ItemDataRole.UserRole)
        if self.log is not None and self.worker is None:
            log = self.log
            self.tasks.run(lambda: log.load(conversation_id), self.show_conversation)

    def open_checkin(self, checkin: Any) -> None:
        """A check-in as SecondMe's turn of a new conversation, which the owner's reply continues."""
        self.show_conversation(Conversation(checkin.conversation_id,
                                            [{"role": "assistant", "content": checkin.message}]))

    def open_memory(self, record: Record) -> None:
        if self.dialog is not None and isValid(self.dialog):
            self.dialog.close()
        self.dialog = MemoryDialog(self.store, self.tasks, record, self)
        self.dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog.open()
        self.memory_opened.emit(record)
