"""`secondme-app`: the desktop entry point. First run, then the model prepared off the Qt thread, then the
main window, the tray, the check-in scheduler, background consolidation and the "Remember…" hotkey."""

from __future__ import annotations

import sys
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QMessageBox, QProgressDialog

from secondme import offline
from secondme.progress import Progress


class Together:
    """Background work that gives the model up together while the owner chats (consolidation and
    the check-in scheduler: a wake-up waits until the answer is done, then runs once)."""

    def __init__(self, *parts: Any) -> None:
        self.parts = parts

    def pause(self) -> None:
        for part in self.parts:
            part.pause()

    def resume(self) -> None:
        for part in self.parts:
            part.resume()


class Startup(QObject):
    """Shows the model's preparation, then opens everything; its slots run on the Qt thread."""

    def __init__(self, app: QApplication, services: Any) -> None:
        super().__init__()
        from secondme.ui.tasks import StreamWorker, progress_stream

        self.app, self.services = app, services
        self.window: Any = None
        self.parts: list[Any] = []  # background consolidation, scheduler, tray, hotkey: closed at exit
        self.dialog = QProgressDialog("Preparing the model…", "", 0, 0)
        self.dialog.setCancelButton(None)
        self.dialog.setWindowTitle("SecondMe")
        result: list[Any] = []
        self.worker = StreamWorker(lambda: progress_stream(services.assistant, result), lambda: result[-1])
        self.worker.item.connect(self.progress)
        self.worker.finished.connect(self.ready)
        self.worker.failed.connect(self.failed)

    def start(self) -> None:
        self.dialog.show()
        self.worker.start()

    def progress(self, event: Progress) -> None:
        self.dialog.setLabelText(f"{event.stage}: {event.note or 'preparing'}")
        self.dialog.setMaximum(100 if event.total else 0)
        if event.total:
            self.dialog.setValue(int(100 * event.done / event.total))

    def ready(self, assistant: Any) -> None:
        from secondme.ui.main_window import MainWindow
        from secondme.ui.tray import CheckinTray, open_in_chat

        services, config = self.services, self.services.config
        background = services.background_consolidation()
        background.start()
        companion = services.companion()  # check-ins: the scheduler runs in the background, the tray shows them
        scheduler = services.companion_scheduler(companion)
        scheduler.start()
        tray = CheckinTray(companion.inbox, self.app.windowIcon())
        window = MainWindow(services, assistant, Together(background, scheduler),
                            config.ui.close_to_tray and tray.available)
        tray.opened.connect(lambda checkin: open_in_chat(window, checkin))
        tray.show_requested.connect(window.show_chat)
        tray.capture_requested.connect(self.capture)
        tray.quit_requested.connect(window.quit)
        window.hidden_to_tray.connect(lambda: tray.notify("SecondMe", "Still here, in the tray."))
        self.window = window
        self.parts = [background, scheduler, tray, self._hotkey(window, config.ui.capture_hotkey)]
        window.show()
        self.dialog.close()  # after the window shows, so the app never has no window

    def _hotkey(self, window: Any, hotkey: str) -> Any:
        from secondme.ui.hotkey import GlobalHotkey, qt_sequence

        QShortcut(QKeySequence(qt_sequence(hotkey)), window, activated=self.capture)
        listener = GlobalHotkey(hotkey)
        listener.pressed.connect(self.capture)
        return listener

    def capture(self) -> None:
        from secondme.ui.capture import RememberDialog

        dialog = RememberDialog(self.services.store, self.services.clock.now, self.window.tasks, self.window)
        dialog.remembered.connect(lambda _: self.window.memory.search.search())
        dialog.finished.connect(dialog.deleteLater)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def failed(self, message: str) -> None:
        self.dialog.close()
        QMessageBox.critical(None, "SecondMe", message)
        self.app.exit(1)

    def close(self) -> None:
        self.worker.wait()
        background, scheduler, tray, hotkey = self.parts or (None, None, None, None)
        for stop in (getattr(hotkey, "stop", None), getattr(scheduler, "shutdown", None),
                     getattr(tray, "close", None), getattr(background, "close", None)):
            if stop is not None:
                stop()


def first_run(home: Any) -> bool:
    """The first-run dialog when no config file exists; False if the owner cancelled it."""
    from secondme import config as config_module
    from secondme.ui.settings_page import FirstRunDialog

    if config_module.exists(home):
        return True
    return bool(FirstRunDialog(home).exec())


def main() -> int:
    offline.apply()
    if "--version" in sys.argv[1:]:  # answered before a window, the data dir or a model is touched
        from secondme import __version__

        print(f"secondme-app {__version__}")
        return 0
    from secondme.app import build
    from secondme.errors import SecondMeError
    from secondme.paths import data_dir
    from secondme.ui.theme import apply_theme, follow_system

    app = QApplication(sys.argv)
    app.setApplicationName("SecondMe")
    app.setDesktopFileName("secondme")
    app.setQuitOnLastWindowClosed(False)  # the tray keeps SecondMe running; Quit is in its menu
    apply_theme(app)
    if not first_run(data_dir()):
        return 0
    try:
        services = build()
    except SecondMeError as error:
        QMessageBox.critical(None, "SecondMe", str(error))
        return 1
    apply_theme(app, services.config.ui.theme)
    follow_system(app, services.config.ui.theme)
    startup = Startup(app, services)
    startup.start()
    app.lastWindowClosed.connect(lambda: None if startup.window and startup.window.stays_in_tray else app.quit())
    code = app.exec()
    startup.close()
    services.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
