"""The tray icon: a desktop notification for each check-in; a click opens the chat with it in place."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle, QSystemTrayIcon

from secondme.companion.inbox import CheckIn, Inbox
from secondme.core.assistant import Conversation


class CheckinTray(QObject):
    """Listens to the inbox (deliveries come on the scheduler's thread; the signal brings them to
    the Qt thread) and shows each check-in; `opened(checkin)` fires when the owner clicks it."""

    arrived = Signal(object)
    opened = Signal(object)

    def __init__(self, inbox: Inbox, icon: QIcon | None = None) -> None:
        super().__init__()
        style = QApplication.style()
        self.tray = QSystemTrayIcon(icon or style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation), self)
        self.tray.setToolTip("SecondMe")
        self.latest: CheckIn | None = None
        self.arrived.connect(self._show)
        self.tray.messageClicked.connect(self._open)
        self.tray.activated.connect(lambda reason: self._open())
        self._unsubscribe = inbox.subscribe(self.arrived.emit)
        self.tray.show()

    def _show(self, checkin: CheckIn) -> None:
        self.latest = checkin
        title = "SecondMe checks in" if checkin.kind == "checkin" else "Your morning digest"
        self.tray.showMessage(title, checkin.message, QSystemTrayIcon.MessageIcon.Information, 20000)

    def _open(self) -> None:
        if self.latest is not None:
            self.opened.emit(self.latest)

    def close(self) -> None:
        self._unsubscribe()
        self.tray.hide()


def open_in_chat(window: Any, checkin: CheckIn) -> None:
    """Show a chat window with the check-in as SecondMe's turn; the owner's reply continues its conversation."""
    window.conversation = Conversation(checkin.conversation_id, [{"role": "assistant", "content": checkin.message}])
    window.transcript.append(f"<p><b>SecondMe:</b> {html.escape(checkin.message)}</p>")
    window.show()
    window.raise_()
    window.activateWindow()
