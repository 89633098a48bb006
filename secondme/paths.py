"""Where SecondMe keeps its data: the platform's user data dir, or SECONDME_HOME."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from secondme.errors import StoreError

APP_NAME = "SecondMe"


def pointer_file() -> Path:
    """Where the desktop app's choice of another data dir is kept (outside any data dir)."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "data-dir.txt"


def choose_data_dir(path: Path, pointer: Path | None = None) -> None:
    """Use `path` as the data dir from the next start on (SECONDME_HOME still wins); nothing is moved."""
    pointer = pointer or pointer_file()
    pointer.parent.mkdir(parents=True, exist_ok=True)
    pointer.write_text(str(Path(path).expanduser().resolve()), encoding="utf-8")


def data_dir(pointer: Path | None = None) -> Path:
    """The data dir, created on first use: SECONDME_HOME, else the chosen one, else the platform's."""
    override = os.environ.get("SECONDME_HOME")
    pointer = pointer or pointer_file()
    chosen = pointer.read_text(encoding="utf-8").strip() if not override and pointer.is_file() else ""
    path = Path(override or chosen).expanduser() if override or chosen else Path(platformdirs.user_data_dir(APP_NAME))
    return make_private(path)


def make_private(path: Path) -> Path:
    """Create the data dir if needed, the user's alone (0700); from now on this process creates its files
    0600 and folders 0700 (umask 077), whichever library writes them: SecondMe writes only to its data dir."""
    path.mkdir(parents=True, exist_ok=True)  # before the umask: missing parents (~/.local/share) stay ordinary
    os.umask(0o077)
    if path.stat().st_mode & 0o077:
        try:
            path.chmod(0o700)
        except OSError as error:
            raise StoreError(f"cannot make the data dir {path} private (chmod 700): {error}") from error
    return path
