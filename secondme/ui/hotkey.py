"""The global "Remember…" shortcut: pynput where it works (X11, Windows, macOS), else only inside the app."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal


class GlobalHotkey(QObject):
    """Listens system-wide for a hotkey in pynput's notation ("<ctrl>+<alt>+m"); `pressed` comes on the Qt
    thread. `active` is False where pynput is missing or cannot reach the display server (Wayland, no
    display): then only the in-app shortcut works."""

    pressed = Signal()

    def __init__(self, hotkey: str) -> None:
        super().__init__()
        self.error = ""
        self._listener: Any = None
        try:
            from pynput import keyboard  # an optional extra: it needs an X server on Linux

            self._listener = keyboard.GlobalHotKeys({hotkey: self.pressed.emit})
            self._listener.start()
        except Exception as error:  # noqa: BLE001 - ImportError, or no display reachable
            self.error = f"{type(error).__name__}: {error}"
            self._listener = None

    @property
    def active(self) -> bool:
        return self._listener is not None

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None


def qt_sequence(hotkey: str) -> str:
    """pynput's "<ctrl>+<alt>+m" as Qt's "Ctrl+Alt+M"."""
    names = {"ctrl": "Ctrl", "alt": "Alt", "shift": "Shift", "cmd": "Meta", "super": "Meta", "space": "Space"}
    parts = [part.strip("<>") for part in hotkey.split("+") if part]
    return "+".join(names.get(part.lower(), part.upper() if len(part) == 1 else part.capitalize()) for part in parts)
