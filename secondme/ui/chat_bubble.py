"""One turn of the chat: its Markdown text, the citation chips under an answer, Copy and Regenerate."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from secondme.core.types import Citation, Record
from secondme.ui.memory_detail import when
from secondme.ui.rendering import cited_number, markdown_html


def chip_label(citation: Citation) -> str:
    record = citation.record
    title = record.title or record.source
    title = title if len(title) <= 28 else title[:27] + "…"
    return f"[{citation.number}] {title} · {when(record)[:10]}"


class Bubble(QFrame):
    """A user or assistant turn; `cited(record)` when a chip or an [n] link is clicked."""

    cited = Signal(object)
    regenerate = Signal()

    def __init__(self, role: str, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.role = role
        self.text = text
        self.citations: list[Citation] = []
        self.chips: list[QPushButton] = []
        self.setObjectName(f"bubble_{role}")
        self.body = QLabel()
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.body.linkActivated.connect(self._link)
        self.chip_row = QHBoxLayout()
        self.actions = QHBoxLayout()
        self.copy = self._action("Copy", self.copy_text)
        self.again = self._action("Regenerate", self.regenerate.emit)
        self.again.setVisible(False)
        self.actions.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 8)
        name = QLabel("You" if role == "user" else "SecondMe")
        name.setObjectName("muted")
        layout.addWidget(name)
        layout.addWidget(self.body)
        layout.addLayout(self.chip_row)
        layout.addLayout(self.actions)
        self.set_text(text)

    def _action(self, label: str, slot: object) -> QPushButton:
        button = QPushButton(label)
        button.setObjectName("link")
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.clicked.connect(slot)
        self.actions.addWidget(button)
        return button

    def set_text(self, text: str) -> None:
        self.text = text
        cited = {c.number for c in self.citations}
        self.body.setText(markdown_html(text, cited) if text else "")

    def set_citations(self, citations: list[Citation]) -> None:
        self.citations = list(citations)
        for citation in self.citations:
            chip = QPushButton(chip_label(citation))
            chip.setObjectName("chip")
            chip.setCursor(Qt.CursorShape.PointingHandCursor)
            chip.setToolTip(citation.snippet)
            chip.clicked.connect(lambda _=False, record=citation.record: self.cited.emit(record))
            self.chip_row.addWidget(chip)
            self.chips.append(chip)
        self.chip_row.addStretch(1)
        self.set_text(self.text)

    def _link(self, href: str) -> None:
        number = cited_number(href)
        found: list[Record] = [c.record for c in self.citations if c.number == number]
        if found:
            self.cited.emit(found[0])

    def copy_text(self) -> None:
        QGuiApplication.clipboard().setText(self.text)
