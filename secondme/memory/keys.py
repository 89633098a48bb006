"""The data encryption key: created once, kept in the OS keyring or an encrypted keyring file."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import keyring
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail
from keyring.errors import KeyringError

from secondme.errors import KeyStorageError

SERVICE = "SecondMe"
KEYRING_FILE = "keyring.cfg"
# Used only when SECONDME_KEYRING_PASSPHRASE is unset: it keeps the key from casual reading, no more.
BUILT_IN_PASSPHRASE = "SecondMe file keyring: set SECONDME_KEYRING_PASSPHRASE for real protection"
_FALLBACK_MODULES = ("keyrings.cryptfile", "keyrings.alt")  # file keyrings that would prompt or leak

_cache: dict[tuple[str, str, str], KeyInfo] = {}  # the file keyring costs ~0.3 s of Argon2 per read


@dataclass(frozen=True)
class KeyInfo:
    """The 32-byte data key and a line saying where it is kept, for `secondme status`."""

    key: bytes
    backend: str


def key_username(data_dir: Path) -> str:
    """The keyring username of a data dir's key: one key per data dir."""
    return "data-key:" + hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]


def _is_system(backend: KeyringBackend) -> bool:
    if isinstance(backend, (fail.Keyring, chainer.ChainerBackend)) or backend.priority <= 0:
        return False
    return not type(backend).__module__.startswith(_FALLBACK_MODULES)


def system_backend() -> KeyringBackend | None:
    """The OS keyring (Secret Service, macOS Keychain, Windows Credential Locker), if there is one."""
    chosen = keyring.get_keyring()
    candidates = chosen.backends if isinstance(chosen, chainer.ChainerBackend) else [chosen]
    return next((b for b in candidates if _is_system(b)), None)


def _file_backend(data_dir: Path) -> tuple[KeyringBackend, str]:
    from keyrings.cryptfile.cryptfile import CryptFileKeyring

    path = data_dir / KEYRING_FILE
    passphrase = os.environ.get("SECONDME_KEYRING_PASSPHRASE", "")
    if passphrase:
        where = "passphrase from SECONDME_KEYRING_PASSPHRASE"
    else:
        passphrase = BUILT_IN_PASSPHRASE
        where = "passphrase built in: protects only against casual reading; set SECONDME_KEYRING_PASSPHRASE"
    backend = CryptFileKeyring()
    backend.file_path = str(path)
    try:
        backend.keyring_key = passphrase  # set before any use, so it never prompts
    except ValueError:
        raise KeyStorageError(f"cannot unlock the keyring file {path}: wrong SECONDME_KEYRING_PASSPHRASE?") from None
    return backend, f"encrypted file keyring (keyrings.cryptfile) at {path}; {where}"


def _backend(data_dir: Path, choice: str) -> tuple[KeyringBackend, str]:
    if choice == "file":
        return _file_backend(data_dir)
    if choice not in ("system", "auto"):
        raise KeyStorageError(f"SECONDME_KEYRING must be 'system', 'file' or unset, not {choice!r}")
    backend = system_backend()
    if backend is not None:
        return backend, f"OS keyring ({backend.name})"
    if choice == "system":
        raise KeyStorageError(
            "SECONDME_KEYRING=system but no OS keyring is available (no Secret Service, Keychain or "
            "Credential Locker); unset it to use an encrypted keyring file instead"
        )
    return _file_backend(data_dir)


def load_or_create_key(data_dir: Path) -> KeyInfo:
    """The data dir's key from the keyring; a new random one is stored there on first run."""
    choice = os.environ.get("SECONDME_KEYRING", "").strip().lower() or "auto"
    cache_key = (choice, str(data_dir.resolve()), os.environ.get("SECONDME_KEYRING_PASSPHRASE", ""))
    if cache_key in _cache:
        return _cache[cache_key]
    backend, description = _backend(data_dir, choice)
    username = key_username(data_dir)
    try:
        stored = backend.get_password(SERVICE, username)
        if stored is None:
            backend.set_password(SERVICE, username, base64.b64encode(secrets.token_bytes(32)).decode())
            stored = backend.get_password(SERVICE, username)
    except KeyringError as error:
        raise KeyStorageError(f"the keyring ({description}) failed: {error}") from error
    if stored is None:
        raise KeyStorageError(f"the keyring ({description}) did not keep the data key")
    try:
        key = base64.b64decode(stored, validate=True)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise KeyStorageError(f"the data key in the keyring ({description}) is damaged")
    info = KeyInfo(key=key, backend=description)
    _cache[cache_key] = info
    return info
