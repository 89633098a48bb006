"""Test-wide guards: every test gets its own SECONDME_HOME and may not reach past loopback."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
TEST_DATA = Path(__file__).resolve().parent / "data"
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no display on CI machines


class NetworkRefused(OSError):
    """Raised when code under test tries to reach a non-loopback address."""


def _is_loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
    elif isinstance(address, (str, bytes)):
        return True  # AF_UNIX path
    else:
        return False
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def connect(self: socket.socket, address: object) -> None:
        if not _is_loopback(address):
            raise NetworkRefused(f"test tried to connect to {address!r}")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        if not _is_loopback(address):
            raise NetworkRefused(f"test tried to connect to {address!r}")
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


@pytest.fixture(autouse=True)
def secondme_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data dir per test; keys go to the file keyring with a test passphrase."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("SECONDME_HOME", str(home))
    monkeypatch.setenv("SECONDME_KEYRING", "file")
    monkeypatch.setenv("SECONDME_KEYRING_PASSPHRASE", "test-passphrase")
    monkeypatch.delenv("SECONDME_MODEL", raising=False)
    monkeypatch.delenv("SECONDME_ENDPOINT", raising=False)
    return home


def _bundled(name: str) -> Path:
    import os

    from secondme.models.bundled import ensure_model

    cache = Path(os.environ.get("SECONDME_TEST_CACHE", Path.home() / ".cache" / "secondme-tests"))
    return ensure_model(name, cache / "models")


@pytest.fixture(scope="session")
def small_gguf() -> Path:
    """The real built-in small GGUF (0.5B), assembled once into a cache shared by the test run."""
    return _bundled("small")


@pytest.fixture(scope="session")
def answer_gguf() -> Path:
    """The real built-in answer GGUF (1.5B, `secondme[answer]`): the one that consolidates memory,
    which the 0.5B cannot do well (it copies its prompt instead of summarising)."""
    return _bundled("answer")


@pytest.fixture
def qt_no_leaks(qapp):  # noqa: ANN001, ANN201 - pytest-qt's QApplication
    """Fails the test if it leaves a new top-level widget alive (list it before pytest-qt's qtbot, so
    this check runs after qtbot has closed and deleted the widgets it was given)."""
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    before = {id(w) for w in QApplication.topLevelWidgets()}
    yield
    for _ in range(3):
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QApplication.processEvents()
    leaked = [w for w in QApplication.topLevelWidgets() if id(w) not in before]
    names = [f"{type(w).__name__} {w.objectName() or w.windowTitle()!r}" for w in leaked]
    for widget in leaked:
        widget.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not leaked, f"top-level widgets left alive: {names}"


@pytest.fixture
def hash_store(tmp_path: Path):  # noqa: ANN201
    """A real MemoryStore in tmp_path with a fixed key and the hash embedder (fast tests of the core)."""
    from secondme.memory.crypto import Cipher
    from secondme.memory.store import MemoryStore
    from tests.fakes import HashEmbedder

    opened = MemoryStore(tmp_path / "data", Cipher(bytes(range(32))), HashEmbedder())
    yield opened
    opened.close()

