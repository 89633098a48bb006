"""Settings and the first-run dialog: model, persona, data folder, key, check-ins, voice and hotkeys, looks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QTime, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from secondme import config as config_module
from secondme.app import check_endpoint
from secondme.config import Config
from secondme.paths import choose_data_dir
from secondme.ui.tasks import BackgroundTasks

MODEL_CHOICES = ("Built-in model", "GGUF file", "Endpoint URL")
THEMES = ("system", "light", "dark")


def read(widget: QWidget) -> Any:
    """The value a field widget holds, as config.json keeps it."""
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    if isinstance(widget, QSpinBox):
        return widget.value()
    if isinstance(widget, QTimeEdit):
        return widget.time().toString("HH:mm")
    if isinstance(widget, QComboBox):
        return widget.currentText()
    if isinstance(widget, QPlainTextEdit):
        return widget.toPlainText().strip()
    assert isinstance(widget, QLineEdit)
    return widget.text().strip()


def field(value: Any, choices: tuple[str, ...] = ()) -> QWidget:
    """A widget for a config value of this type, holding it."""
    if choices:
        combo = QComboBox()
        combo.addItems(choices)
        combo.setCurrentText(str(value))
        return combo
    if isinstance(value, bool):
        box = QCheckBox()
        box.setChecked(value)
        return box
    if isinstance(value, int):
        spin = QSpinBox(maximum=100000)
        spin.setValue(value)
        return spin
    return QLineEdit(str(value))


class SettingsForm(QWidget):
    """Every setting the app offers; `values()` are config keys to save, `data_folder()` the chosen dir."""

    tested = Signal(str)

    def __init__(self, config: Config, data_dir: Path, key_location: str, tasks: BackgroundTasks) -> None:
        super().__init__()
        self.tasks, self.data_dir = tasks, data_dir
        self.fields: dict[str, QWidget] = {}
        layout = QVBoxLayout(self)
        layout.addWidget(self._model_group(config))
        self.fields["owner.about"] = QPlainTextEdit(config.owner.about, maximumHeight=80)
        layout.addWidget(self._group("Persona", [("owner.name", "Your name", field(config.owner.name)),
                                                 ("owner.about", "About you", self.fields["owner.about"])]))
        layout.addWidget(self._storage_group(data_dir, key_location))
        companion = config.companion
        layout.addWidget(self._group("Check-ins", [
            ("companion.enabled", "Check in on me", field(companion.enabled)),
            ("companion.wake_minutes", "Consider a check-in every (minutes)", field(companion.wake_minutes)),
            ("companion.quiet_start", "Quiet from", QTimeEdit(QTime.fromString(companion.quiet_start, "HH:mm"))),
            ("companion.quiet_end", "Quiet until", QTimeEdit(QTime.fromString(companion.quiet_end, "HH:mm")))]))
        layout.addWidget(self._group("Voice, hotkeys and looks", [
            ("voice.enabled", "Voice conversations", field(config.voice.enabled)),
            ("voice.hotkey", "Push-to-talk hotkey", field(config.voice.hotkey)),
            ("ui.capture_hotkey", "\u201cRemember\u2026\u201d hotkey", field(config.ui.capture_hotkey)),
            ("ui.close_to_tray", "Closing the window keeps SecondMe in the tray", field(config.ui.close_to_tray)),
            ("ui.theme", "Theme", field(config.ui.theme, THEMES))]))
        layout.addStretch(1)
        self._model_mode_changed()

    def _group(self, title: str, rows: list[tuple[str, str, QWidget]]) -> QGroupBox:
        box = QGroupBox(title)
        form = QFormLayout(box)
        for key, label, widget in rows:
            if key:
                self.fields[key] = widget
            form.addRow(label, widget)
        return box

    def _model_group(self, config: Config) -> QGroupBox:
        model = config.model
        self.model_mode = QComboBox()
        self.model_mode.addItems(MODEL_CHOICES)
        self.model_mode.setCurrentIndex(2 if model.endpoint else 1 if model.path else 0)
        self.model_mode.currentIndexChanged.connect(self._model_mode_changed)
        self.gguf = QLineEdit(model.path, placeholderText="/path/to/model.gguf")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose_gguf)
        self.endpoint = QLineEdit(model.endpoint, placeholderText="http://localhost:8080/v1")
        self.test = QPushButton("Test connection")
        self.test.clicked.connect(self.test_connection)
        self.test_result = QLabel()
        self.test_result.setObjectName("muted")
        self.test_result.setWordWrap(True)
        gguf_row, endpoint_row = QHBoxLayout(), QHBoxLayout()
        gguf_row.addWidget(self.gguf, 1)
        gguf_row.addWidget(browse)
        endpoint_row.addWidget(self.endpoint, 1)
        endpoint_row.addWidget(self.test)
        box = self._group("Model", [("", "Answers come from", self.model_mode),
                                    ("model.endpoint_model", "Endpoint model name", field(model.endpoint_model))])
        form = box.layout()
        assert isinstance(form, QFormLayout)
        form.insertRow(1, "GGUF file", gguf_row)
        form.insertRow(2, "Endpoint URL", endpoint_row)
        form.addRow("", self.test_result)
        return box

    def _storage_group(self, data_dir: Path, key_location: str) -> QGroupBox:
        self.folder = QLineEdit(str(data_dir))
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose_folder)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        note = QLabel("A new data folder is used from the next start; nothing is moved.")
        note.setObjectName("muted")
        key = QLabel(key_location)
        key.setWordWrap(True)
        box = self._group("Storage", [("", "Encryption key", key), ("", "", note)])
        form = box.layout()
        assert isinstance(form, QFormLayout)
        form.insertRow(0, "Data folder", row)
        return box

    def _model_mode_changed(self) -> None:
        mode = self.model_mode.currentIndex()
        self.gguf.setEnabled(mode == 1)
        self.endpoint.setEnabled(mode == 2)
        self.test.setEnabled(mode == 2)

    def _choose_gguf(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a GGUF model", "", "GGUF models (*.gguf)")
        if path:
            self.gguf.setText(path)

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose the data folder", self.folder.text())
        if path:
            self.folder.setText(path)

    def test_connection(self) -> None:
        url, model = self.endpoint.text().strip(), read(self.fields["model.endpoint_model"])
        self.test.setEnabled(False)
        self.test_result.setText("Testing…")
        self.tasks.run(lambda: check_endpoint(url, model), lambda answer: self._tested(f"Connected: {answer}"),
                       lambda message: self._tested(f"Failed: {message}"))

    def _tested(self, message: str) -> None:
        self.test.setEnabled(self.model_mode.currentIndex() == 2)
        self.test_result.setText(message)
        self.tested.emit(message)

    def values(self) -> dict[str, Any]:
        mode = self.model_mode.currentIndex()
        chosen = {"model.path": self.gguf.text().strip() if mode == 1 else "",
                  "model.endpoint": self.endpoint.text().strip() if mode == 2 else ""}
        return chosen | {key: read(widget) for key, widget in self.fields.items()}

    def data_folder(self) -> Path:
        return Path(self.folder.text().strip() or self.data_dir).expanduser()

    def save(self) -> Config:
        """Write the settings (config.json in the current data dir; the data-folder choice beside)."""
        saved = config_module.set_values(self.data_dir, self.values())
        if self.data_folder().resolve() != self.data_dir.resolve():
            choose_data_dir(self.data_folder())
        return saved


def scrolled(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(widget)
    return area


class SettingsPage(QWidget):
    """The settings form and Save; `saved(config)` after writing (most settings apply on restart)."""

    saved = Signal(object)

    def __init__(self, config: Config, data_dir: Path, key_location: str, tasks: BackgroundTasks) -> None:
        super().__init__()
        self.tasks = tasks
        self.form = SettingsForm(config, data_dir, key_location, tasks)
        self.save = QPushButton("Save")
        self.save.setObjectName("primary")
        self.save.clicked.connect(self.save_settings)
        self.note = QLabel("The model, data folder and hotkeys change on the next start.")
        self.note.setObjectName("muted")
        row = QHBoxLayout()
        row.addWidget(self.note, 1)
        row.addWidget(self.save)
        layout = QVBoxLayout(self)
        layout.addWidget(scrolled(self.form), 1)
        layout.addLayout(row)

    def save_settings(self) -> None:
        self.save.setEnabled(False)
        self.tasks.run(self.form.save, self._saved, self._failed)

    def _saved(self, config: Config) -> None:
        self.save.setEnabled(True)
        self.note.setText("Saved. The model, data folder and hotkeys change on the next start.")
        self.saved.emit(config)

    def _failed(self, message: str) -> None:
        self.save.setEnabled(True)
        self.note.setText(f"Not saved: {message}")


class FirstRunDialog(QDialog):
    """Shown when no config file exists yet: the same form, and Start writes it."""

    def __init__(self, data_dir: Path, key_location: str = "created when SecondMe starts") -> None:
        super().__init__()
        self.setWindowTitle("Welcome to SecondMe")
        self.resize(640, 720)
        self.tasks = BackgroundTasks(self)
        self.form = SettingsForm(config_module.Config(), data_dir, key_location, self.tasks)
        intro = QLabel("<h2>Welcome to SecondMe</h2><p>Your private second self: your memories and the model "
                       "stay on this computer. Check the settings below; you can change them later.</p>")
        intro.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Start")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(scrolled(self.form), 1)
        layout.addWidget(buttons)

    def accept(self) -> None:
        self.form.save()  # a small JSON file: written before the app goes on to build its services
        self.tasks.shutdown()
        super().accept()
