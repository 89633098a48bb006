"""The chat window: ask, watch the answer stream in, see the memories it cites."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from secondme.core.assistant import Answer, Assistant, Conversation, Reply
from secondme.ui.tasks import StreamWorker


class Yielding(Protocol):
    """Background work that gives the model up while the user chats."""

    def pause(self) -> None: ...

    def resume(self) -> None: ...


class ChatWindow(QMainWindow):
    def __init__(self, assistant: Assistant, title: str = "SecondMe", background: Yielding | None = None) -> None:
        super().__init__()
        self.background = background
        self.setWindowTitle(title)
        self.resize(900, 620)
        self.assistant = assistant
        self.conversation = Conversation()
        self.worker: StreamWorker | None = None

        self.transcript = QTextBrowser()
        self.transcript.setOpenExternalLinks(False)
        self.sources = QListWidget()
        self.sources.setWordWrap(True)
        self.input = QPlainTextEdit()
        self.input.setPlaceholderText("Ask your second self…  (Ctrl+Enter sends)")
        self.input.setFixedHeight(72)
        self.send = QPushButton("Send")
        self.stop = QPushButton("Stop")
        self.stop.setEnabled(False)
        self.status = QLabel("Ready")

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(QLabel("<b>Memories used</b>"))
        right_layout.addWidget(self.sources)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.transcript)
        split.addWidget(right)
        split.setSizes([600, 300])
        row = QHBoxLayout()
        row.addWidget(self.input, 1)
        row.addWidget(self.send)
        row.addWidget(self.stop)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(split, 1)
        layout.addLayout(row)
        layout.addWidget(self.status)
        self.setCentralWidget(body)

        self.send.clicked.connect(self.ask)
        self.stop.clicked.connect(self.stop_answer)
        QShortcut(QKeySequence("Ctrl+Return"), self, activated=self.ask)

    def ask(self) -> None:
        question = self.input.toPlainText().strip()
        if not question or self.worker is not None:
            return
        self.input.clear()
        self.transcript.append(f"<p><b>You:</b> {question}</p><p><b>SecondMe:</b> </p>")
        self.status.setText("Thinking…")
        self.send.setEnabled(False)
        self.stop.setEnabled(True)
        if self.background is not None:
            self.background.pause()
        replies: list[Reply] = []

        def start() -> Iterator[str]:  # retrieval runs here, off the Qt thread, too
            replies.append(self.assistant.reply(self.conversation, question))
            return iter(replies[0])

        self.worker = StreamWorker(start, lambda: replies[0].answer if replies else None)
        self.worker.item.connect(self._piece)
        self.worker.finished.connect(self._done)
        self.worker.failed.connect(self._failed)
        self.worker.start()

    def stop_answer(self) -> None:
        if self.worker is not None:
            self.worker.stop()

    def _piece(self, piece: str) -> None:
        self.status.setText("Answering…")
        cursor = self.transcript.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(piece)
        self.transcript.setTextCursor(cursor)

    def _finish(self, message: str) -> None:
        if self.worker is not None:
            self.worker.wait()
        self.worker = None
        if self.background is not None:
            self.background.resume()
        self.send.setEnabled(True)
        self.stop.setEnabled(False)
        self.status.setText(message)

    def _done(self, answer: Answer | None) -> None:
        self.sources.clear()
        for citation in answer.citations if answer else []:
            record = citation.record
            when = record.time.astimezone().strftime("%Y-%m-%d")
            self.sources.addItem(f"[{citation.number}] {record.title} · {when}\n{citation.snippet}")
        self._finish("Stopped" if answer and answer.stopped else "Ready")

    def _failed(self, message: str) -> None:
        self.transcript.append(f"<p style='color:#b00'>Error: {message}</p>")
        self._finish("Error")
