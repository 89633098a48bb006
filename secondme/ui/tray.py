"""The tray icon: a notification for each check-in (a click opens the chat with it in place) and a menu:
open the window, "Remember…" quick capture, quit."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMenu, QStyle, QSystemTrayIcon

from secondme.companion.inbox import CheckIn, Inbox


class CheckinTray(QObject):
    """Listens to the inbox (deliveries come on the scheduler's thread; the signal brings them to
    the Qt thread) and shows each check-in; `opened(checkin)` fires when the owner clicks it."""

    arrived = Signal(object)
    opened = Signal(object)
    show_requested = Signal()
    capture_requested = Signal()
    quit_requested = Signal()

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
        self.menu = QMenu()
        for label, signal in (("Open SecondMe", self.show_requested), ("Remember…", self.capture_requested),
                              ("Quit", self.quit_requested)):
            self.menu.addAction(label).triggered.connect(signal.emit)
        self.tray.setContextMenu(self.menu)
        self.tray.show()

    @property
    def available(self) -> bool:
        """Whether the desktop shows tray icons (close-to-tray needs one)."""
        return QSystemTrayIcon.isSystemTrayAvailable()

    def notify(self, title: str, message: str) -> None:
        self.tray.showMessage(title, message, QSystemTrayIcon.MessageIcon.Information, 8000)

    def _show(self, checkin: CheckIn) -> None:
        self.latest = checkin
        title = "SecondMe checks in" if checkin.kind == "checkin" else "Your morning digest"
        self.tray.showMessage(title, checkin.message, QSystemTrayIcon.MessageIcon.Information, 20000)

    def _open(self) -> None:
        if self.latest is not None:
            self.opened.emit(self.latest)
        else:
            self.show_requested.emit()

    def close(self) -> None:
        self._unsubscribe()
        self.tray.hide()
        self.menu.deleteLater()


def open_in_chat(window: Any, checkin: CheckIn) -> None:
    """Show the window's chat with the check-in as SecondMe's turn; the owner's reply continues its conversation."""
    window.show_chat()
    window.chat.open_checkin(checkin)
