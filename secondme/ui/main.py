"""`secondme-app`: the desktop entry point. Prepares the model off the Qt thread, then opens the chat."""

from __future__ import annotations

import sys
from typing import Any


def main() -> int:
    if "--version" in sys.argv[1:]:  # answered before Qt, a model or a window is loaded
        from secondme import __version__

        print(f"secondme-app {__version__}")
        return 0
    from PySide6.QtWidgets import QApplication, QMessageBox, QProgressDialog

    from secondme.app import build
    from secondme.errors import SecondMeError
    from secondme.progress import Progress
    from secondme.ui.chat_window import ChatWindow
    from secondme.ui.tasks import StreamWorker, progress_stream
    from secondme.ui.tray import CheckinTray, open_in_chat

    app = QApplication(sys.argv)
    app.setApplicationName("SecondMe")
    try:
        services = build()
    except SecondMeError as error:
        QMessageBox.critical(None, "SecondMe", str(error))
        return 1
    dialog = QProgressDialog("Preparing the model…", "", 0, 0)
    dialog.setCancelButton(None)
    dialog.setWindowTitle("SecondMe")
    dialog.show()
    result: list[Any] = []
    windows: list[ChatWindow] = []
    background: list[Any] = []
    schedulers: list[Any] = []
    worker = StreamWorker(lambda: progress_stream(services.assistant, result), lambda: result[-1])

    def on_progress(event: Progress) -> None:
        dialog.setLabelText(f"{event.stage}: {event.note or 'preparing'}")
        dialog.setMaximum(100 if event.total else 0)
        if event.total:
            dialog.setValue(int(100 * event.done / event.total))

    def on_ready(assistant: Any) -> None:
        dialog.close()
        background.append(services.background_consolidation())
        background[0].start()
        windows.append(ChatWindow(assistant, background=background[0]))
        windows[0].show()
        companion = services.companion()  # check-ins: the scheduler runs in the background, the tray shows them
        tray = CheckinTray(companion.inbox)
        tray.opened.connect(lambda checkin: open_in_chat(windows[0], checkin))
        schedulers.append((services.companion_scheduler(companion), tray))
        schedulers[0][0].start()

    def on_failed(message: str) -> None:
        dialog.close()
        QMessageBox.critical(None, "SecondMe", message)
        app.exit(1)

    worker.item.connect(on_progress)
    worker.finished.connect(on_ready)
    worker.failed.connect(on_failed)
    worker.start()
    code = app.exec()
    worker.wait()
    for scheduler, tray in schedulers:
        scheduler.shutdown()
        tray.close()
    for job in background:
        job.close()
    services.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
