"""The project's own exceptions: each carries a message fit to show the user as one line."""

from __future__ import annotations


class SecondMeError(Exception):
    """Base class: the CLI prints str(error) on one line and exits non-zero."""


class ConfigError(SecondMeError):
    """A setting is missing or invalid."""


class ModelError(SecondMeError):
    """A model could not be found, verified, loaded or reached."""


class MissingExtraError(ModelError):
    """An optional library is not installed; the message names the extra to install."""

    def __init__(self, library: str, extra: str) -> None:
        super().__init__(f"{library} is not installed: pip install 'secondme[{extra}]'")


class StoreError(SecondMeError):
    """The memory store could not do what was asked."""


class KeyStorageError(SecondMeError):
    """The encryption key could not be created or read."""


class IngestError(SecondMeError):
    """A file could not be ingested; the message names the file and the problem."""
