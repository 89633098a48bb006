"""Light and dark looks that follow the system's colour scheme: Fusion, a palette, one style sheet, the icon."""

from __future__ import annotations

from string import Template

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from secondme.assets import icon_path

COLORS = {
    "light": {"window": "#f6f7fb", "base": "#ffffff", "text": "#1d2130", "muted": "#6b7185", "accent": "#5b5ff0",
              "accent_text": "#ffffff", "border": "#dde0ea", "nav": "#eceef6", "user": "#e8e9ff", "bot": "#ffffff",
              "chip": "#eef0ff", "danger": "#c0392b"},
    "dark": {"window": "#1b1d24", "base": "#23262f", "text": "#e6e8ef", "muted": "#9aa0b4", "accent": "#7c80ff",
             "accent_text": "#ffffff", "border": "#343846", "nav": "#15171d", "user": "#2f3150", "bot": "#23262f",
             "chip": "#2c2f45", "danger": "#ff6b5b"},
}

_QSS = Template("""
QWidget { color: $text; }
QMainWindow, QDialog { background: $window; }
#nav { background: $nav; border: none; padding: 8px 4px; font-size: 10.5pt; }
#nav::item { padding: 9px 12px; border-radius: 8px; margin: 2px 6px; }
#nav::item:selected { background: $accent; color: $accent_text; }
QLineEdit, QPlainTextEdit, QTextEdit, QComboBox, QSpinBox, QTimeEdit, QDateEdit, QListWidget, QTableWidget,
QTextBrowser { background: $base; border: 1px solid $border; border-radius: 8px; padding: 4px; }
QPushButton { background: $base; border: 1px solid $border; border-radius: 8px; padding: 6px 14px; }
QPushButton:hover { border-color: $accent; }
QPushButton:disabled { color: $muted; }
QPushButton#primary { background: $accent; color: $accent_text; border: none; }
QPushButton#danger { color: $danger; }
QPushButton#chip { background: $chip; border: none; border-radius: 11px; padding: 3px 10px; font-size: 9pt; }
QPushButton#link { border: none; background: transparent; color: $muted; padding: 2px 6px; }
QPushButton#link:hover { color: $accent; }
QFrame#bubble_user { background: $user; border-radius: 12px; }
QFrame#bubble_assistant { background: $bot; border: 1px solid $border; border-radius: 12px; }
QLabel#muted { color: $muted; }
QLabel#title { font-size: 15pt; font-weight: 600; }
QScrollArea { border: none; background: transparent; }
QTabWidget::pane { border: 1px solid $border; border-radius: 8px; }
QHeaderView::section { background: $nav; border: none; padding: 4px; }
""")


def scheme(choice: str = "system") -> str:
    """"light" or "dark": the choice, or for "system" what the system prefers now."""
    if choice in COLORS:
        return choice
    hints = QApplication.styleHints()
    return "dark" if hints.colorScheme() == Qt.ColorScheme.Dark else "light"


def palette(colors: dict[str, str]) -> QPalette:
    pal = QPalette()
    roles = {QPalette.ColorRole.Window: "window", QPalette.ColorRole.Base: "base", QPalette.ColorRole.Text: "text",
             QPalette.ColorRole.WindowText: "text", QPalette.ColorRole.Button: "base",
             QPalette.ColorRole.ButtonText: "text", QPalette.ColorRole.Highlight: "accent",
             QPalette.ColorRole.HighlightedText: "accent_text", QPalette.ColorRole.AlternateBase: "window",
             QPalette.ColorRole.PlaceholderText: "muted", QPalette.ColorRole.ToolTipBase: "base",
             QPalette.ColorRole.ToolTipText: "text", QPalette.ColorRole.Link: "accent"}
    for role, name in roles.items():
        pal.setColor(role, QColor(colors[name]))
    return pal


def apply_theme(app: QApplication, choice: str = "system") -> str:
    """Style the whole app; the scheme applied."""
    name = scheme(choice)
    app.setStyle("Fusion")
    app.setPalette(palette(COLORS[name]))
    app.setStyleSheet(_QSS.substitute(COLORS[name]))
    font = QFont(app.font())
    font.setPointSizeF(max(font.pointSizeF(), 10.0))
    app.setFont(font)
    app.setWindowIcon(app_icon())
    app.setProperty("secondme_scheme", name)
    return name


def follow_system(app: QApplication, choice: str = "system") -> None:
    """Restyle when the system switches between light and dark (only while the choice is "system")."""
    if choice == "system":
        QApplication.styleHints().colorSchemeChanged.connect(lambda _: apply_theme(app, choice))


def colors() -> dict[str, str]:
    """The colours of the scheme applied now (light before any)."""
    app = QApplication.instance()
    name = app.property("secondme_scheme") if app is not None else None
    return COLORS[name if name in COLORS else "light"]


def app_icon() -> QIcon:
    icon = QIcon(str(icon_path("svg")))
    png = icon_path("png")
    if png.exists():
        icon.addFile(str(png))
    return icon
