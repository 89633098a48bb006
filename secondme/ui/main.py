"""`secondme-app`: the desktop entry point. Loads the services, then opens the chat window."""

from __future__ import annotations

import sys


def main() -> int:
    from PySide6.QtWidgets import QApplication, QMessageBox

    from secondme.app import build
    from secondme.errors import SecondMeError
    from secondme.ui.chat_window import ChatWindow

    app = QApplication(sys.argv)
    app.setApplicationName("SecondMe")
    try:
        services = build()
        window = ChatWindow(services.assistant())
    except SecondMeError as error:
        QMessageBox.critical(None, "SecondMe", str(error))
        return 1
    window.show()
    code = app.exec()
    services.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
