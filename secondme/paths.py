"""Where SecondMe keeps its data: the platform's user data dir, or SECONDME_HOME."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "SecondMe"


def data_dir() -> Path:
    """The data dir, created on first use."""
    override = os.environ.get("SECONDME_HOME")
    path = Path(override).expanduser() if override else Path(platformdirs.user_data_dir(APP_NAME))
    path.mkdir(parents=True, exist_ok=True)
    return path
