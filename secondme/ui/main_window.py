"""The main window: a navigation list on the left (Chat, Memory, Day, Ingest, Settings) and their pages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QStyle,
    QWidget,
)

from secondme.core.assistant import Assistant
from secondme.memory.conversations import ConversationLog
from secondme.ui.chat_page import ChatPage, Yielding
from secondme.ui.day_view import DayView
from secondme.ui.ingest_panel import IngestPanel
from secondme.ui.memory_page import MemoryPage
from secondme.ui.settings_page import SettingsPage
from secondme.ui.tasks import BackgroundTasks

if TYPE_CHECKING:
    from secondme.app import Services

class MainWindow(QMainWindow):
    """`add_page(name, icon, widget)` adds a page and its entry; Ctrl+K searches memory; with
    `close_to_tray` closing only hides the window (`quit()` really closes it)."""

    hidden_to_tray = Signal()

    def __init__(self, services: Services, assistant: Assistant, background: Yielding | None = None,
                 close_to_tray: bool = False) -> None:
        super().__init__()
        self.setWindowTitle("SecondMe")
        self.resize(1180, 760)
        self.services, self.close_to_tray, self._quitting = services, close_to_tray, False
        self.tasks = BackgroundTasks(self)
        self.pages: dict[str, QWidget] = {}
        self.nav = QListWidget(objectName="nav", fixedWidth=170, iconSize=QSize(18, 18))
        self.stack = QStackedWidget()
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        body = QWidget()
        layout = QHBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.nav)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(body)
        self.chat = ChatPage(assistant, services.store, ConversationLog(services.store), background, self.tasks)
        self.memory = MemoryPage(services.store, self.tasks)
        self.add_page("Chat", self._icon(QStyle.StandardPixmap.SP_MessageBoxQuestion), self.chat)
        self.add_page("Memory", self._icon(QStyle.StandardPixmap.SP_FileDialogContentsView), self.memory)
        self.day = DayView(services)
        self.ingest = IngestPanel(services)
        self.add_page("Day", self._icon(QStyle.StandardPixmap.SP_FileDialogDetailedView), self.day)
        self.add_page("Ingest", self._icon(QStyle.StandardPixmap.SP_DialogOpenButton), self.ingest)
        self.ingest.memory_did_change.connect(self.day.refresh)  # the Day page follows what an ingest adds
        self.setAcceptDrops(True)  # files dropped anywhere on the window go to the Ingest page
        key = services.key.backend
        self.settings = SettingsPage(services.config, services.data_dir, key, self.tasks)
        self.add_page("Settings", self._icon(QStyle.StandardPixmap.SP_FileDialogListView), self.settings)
        QShortcut(QKeySequence("Ctrl+K"), self, activated=self.search_memory)
        self.nav.setCurrentRow(0)

    def _icon(self, pixmap: QStyle.StandardPixmap) -> QIcon:
        return self.style().standardIcon(pixmap)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's name
        if self.ingest.accept_drop(event.mimeData().urls()):
            event.acceptProposedAction()
            self.show_page("Ingest")

    def add_page(self, name: str, icon: QIcon, widget: QWidget) -> None:
        self.pages[name] = widget
        self.stack.addWidget(widget)
        self.nav.addItem(QListWidgetItem(icon, name))

    def show_page(self, name: str) -> None:
        self.nav.setCurrentRow(list(self.pages).index(name))

    def show_chat(self) -> None:
        self.show_page("Chat")
        self.bring_up()

    def bring_up(self) -> None:
        self.show()
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.raise_()
        self.activateWindow()

    def search_memory(self) -> None:
        self.show_page("Memory")
        self.memory.focus_search()

    @property
    def stays_in_tray(self) -> bool:
        """Whether SecondMe keeps running with the window closed (not when the owner chose Quit)."""
        return self.close_to_tray and not self._quitting

    def quit(self) -> None:
        self._quitting = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if self.stays_in_tray:
            event.ignore()
            self.hide()
            self.hidden_to_tray.emit()
            return
        if self.chat.worker is not None:
            self.chat.worker.stop()
            self.chat.worker.wait()
        self.tasks.shutdown()
        self.day.shutdown()  # the pages with threads of their own
        self.ingest.shutdown()
        super().closeEvent(event)
