"""Settings: frozen dataclasses read from config.json in the data dir, with env overrides.

`secondme config set model.path ~/models/x.gguf` writes the file; SECONDME_MODEL (a GGUF path
or a built-in model name) and SECONDME_ENDPOINT (an OpenAI-compatible URL) override it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from secondme.errors import ConfigError

CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class ModelConfig:
    """Which chat model answers. An endpoint wins over a path; a path wins over `bundled`."""

    bundled: str = "auto"  # "auto" (answer model if installed, else small), "answer" or "small"
    path: str = ""
    endpoint: str = ""
    endpoint_model: str = ""
    api_key: str = ""
    n_ctx: int = 4096
    threads: int = 0  # 0: all cores
    max_tokens: int = 400
    temperature: float = 0.0
    seed: int = 0


@dataclass(frozen=True)
class MemoryConfig:
    """Where memories are kept and how many go into a prompt."""

    chroma_url: str = ""  # empty: a local chromadb under the data dir
    top_k: int = 6
    # summaries among them at most: raw records carry the details answers need (LoCoMo answer F1
    # with the 1.5B: 13.9 with no limit, 16.8 with 2; bench/locomo_answers.py)
    prompt_summaries: int = 2


@dataclass(frozen=True)
class OwnerConfig:
    """Who SecondMe is the second self of."""

    name: str = ""
    about: str = ""


@dataclass(frozen=True)
class CompanionConfig:
    """Proactive check-ins: when SecondMe may reach out on its own, and how often (local times HH:MM)."""

    enabled: bool = True
    wake_minutes: int = 60  # how often the scheduler wakes SecondMe up to consider a check-in
    quiet_start: str = "22:00"  # no check-in from here ...
    quiet_end: str = "08:00"  # ... to here (equal times: no quiet hours)
    max_unanswered: int = 3  # unanswered check-ins in a row, then silence until the user writes
    min_gap_minutes: int = 180  # between check-ins, doubled for each one still unanswered
    timezone: str = ""  # IANA name, e.g. Europe/Stockholm; empty: the system's
    digest: bool = False  # a morning message summarising yesterday (opt-in)
    digest_time: str = "08:30"


@dataclass(frozen=True)
class VoiceConfig:
    """Talking to SecondMe: off by default; the push-to-talk hotkey is in pynput's notation."""

    enabled: bool = False
    hotkey: str = "<ctrl>+<alt>+v"
    speak_answers: bool = False


@dataclass(frozen=True)
class UiConfig:
    """The desktop app: theme ("system", "light" or "dark"), closing to the tray, the capture hotkey."""

    theme: str = "system"
    close_to_tray: bool = True
    capture_hotkey: str = "<ctrl>+<alt>+m"


@dataclass(frozen=True)
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    owner: OwnerConfig = field(default_factory=OwnerConfig)
    companion: CompanionConfig = field(default_factory=CompanionConfig)
    voice: VoiceConfig = field(default_factory=VoiceConfig)
    ui: UiConfig = field(default_factory=UiConfig)


def _coerce(current: Any, raw: Any, key: str) -> Any:
    try:
        if isinstance(current, bool):
            return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes", "on")
        if isinstance(current, int):
            return int(raw)
        if isinstance(current, float):
            return float(raw)
    except ValueError as error:
        raise ConfigError(f"{key}: {raw!r} is not a {type(current).__name__}") from error
    return str(raw)


def _with(config: Config, key: str, raw: Any) -> Config:
    section_name, _, name = key.partition(".")
    section = getattr(config, section_name, None)
    if section is None or name not in {f.name for f in fields(section)}:
        raise ConfigError(f"unknown setting {key!r}; known: {', '.join(known_keys())}")
    value = _coerce(getattr(section, name), raw, key)
    return replace(config, **{section_name: replace(section, **{name: value})})


def known_keys() -> list[str]:
    config = Config()
    return [f"{s.name}.{f.name}" for s in fields(config) for f in fields(getattr(config, s.name))]


def _read_file(data_dir: Path) -> dict[str, Any]:
    path = data_dir / CONFIG_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError(f"{path}: not valid JSON ({error})") from error
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return data


def load(data_dir: Path, environ: dict[str, str] | None = None) -> Config:
    """The config file's settings, then the environment's overrides."""
    env = os.environ if environ is None else environ
    config = Config()
    for section, values in _read_file(data_dir).items():
        for name, raw in (values or {}).items():
            config = _with(config, f"{section}.{name}", raw)
    model = env.get("SECONDME_MODEL", "")
    if model in ("answer", "small"):
        config = _with(_with(config, "model.bundled", model), "model.path", "")
    elif model:
        config = _with(config, "model.path", model)
    if env.get("SECONDME_ENDPOINT"):
        config = _with(config, "model.endpoint", env["SECONDME_ENDPOINT"])
    return config


def exists(data_dir: Path) -> bool:
    """Whether a config file was ever written (the desktop app's first run is when it was not)."""
    return (data_dir / CONFIG_FILE).exists()


def set_value(data_dir: Path, key: str, raw: Any) -> Config:
    """Validate and persist one setting; returns the file's resulting config."""
    return set_values(data_dir, {key: raw})


def set_values(data_dir: Path, values: dict[str, Any]) -> Config:
    """Validate and persist several settings at once (none is written if one is invalid)."""
    stored = _read_file(data_dir)
    config = Config()
    for section, items in stored.items():
        for name, value in (items or {}).items():
            config = _with(config, f"{section}.{name}", value)
    for key, raw in values.items():
        config = _with(config, key, raw)
    for key in values:
        section_name, _, name = key.partition(".")
        stored.setdefault(section_name, {})[name] = getattr(getattr(config, section_name), name)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / CONFIG_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(stored, indent=2), encoding="utf-8")
    tmp.replace(path)
    return config


def as_dict(config: Config) -> dict[str, Any]:
    return asdict(config)
