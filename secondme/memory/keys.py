"""The data encryption key: created once, kept in the OS keyring or an encrypted keyring file.

The key is found by the data dir's identity, a random id stored in the data dir itself (`data-dir-id`),
so a data dir that is moved or copied keeps opening. Call `load_or_create_key` under the data dir's
set-up lock (secondme.memory.first_run): two processes must not both create a key.
"""

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
from secondme.memory.backups import backups

SERVICE = "SecondMe"
KEYRING_FILE = "keyring.cfg"
ID_FILE = "data-dir-id"
DATA_FILES = ("memory.db", "memory.db-wal")  # written with the key, as are the backups of memory.db
# Used only when SECONDME_KEYRING_PASSPHRASE is unset: it keeps the key from casual reading, no more.
BUILT_IN_PASSPHRASE = "SecondMe file keyring: set SECONDME_KEYRING_PASSPHRASE for real protection"
_FALLBACK_MODULES = ("keyrings.cryptfile", "keyrings.alt")  # file keyrings that would prompt or leak

_cache: dict[tuple[str, str, str], KeyInfo] = {}  # the file keyring costs ~0.3 s of Argon2 per read


@dataclass(frozen=True)
class KeyInfo:
    """The 32-byte data key and a line saying where it is kept, for `secondme status`."""

    key: bytes
    backend: str


def key_username(data_dir_id: str) -> str:
    """The keyring username of a data dir's key: one key per data dir identity."""
    return "data-key:" + data_dir_id


def path_id(data_dir: Path) -> str:
    """The identity older versions gave a data dir, a hash of its path: their key is kept under it."""
    return hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]


def read_id(data_dir: Path) -> str | None:
    """The data dir's identity, None before its first run."""
    try:
        text = (data_dir / ID_FILE).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise KeyStorageError(f"cannot read the data dir identity {data_dir / ID_FILE}: {error}") from error
    if not text or len(text) > 64 or any(c not in "0123456789abcdef" for c in text):
        raise KeyStorageError(f"the data dir identity {data_dir / ID_FILE} is damaged: restore it from a backup")
    return text


def _write_id(data_dir: Path, data_dir_id: str) -> None:
    """Write the identity whole or not at all (a torn id would lose the key)."""
    tmp = data_dir / f"{ID_FILE}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(data_dir_id + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, data_dir / ID_FILE)


def holds_data(data_dir: Path) -> bool:
    """Whether the data dir keeps something written with its key (a new key must not be made then)."""
    stored = any((data_dir / name).is_file() and (data_dir / name).stat().st_size > 0 for name in DATA_FILES)
    return stored or bool(backups(data_dir))


def _missing_key(data_dir: Path, where: str) -> KeyStorageError:
    return KeyStorageError(
        f"the key of the data dir {data_dir} is missing ({where}), but its memory.db or backups hold data "
        f"written with it; no new key was made. Restore it: put back {data_dir / KEYRING_FILE} from a backup "
        "and use the same SECONDME_KEYRING_PASSPHRASE, or restore the OS keyring entry "
        f"'{SERVICE}' / '{key_username(read_id(data_dir) or path_id(data_dir))}' (a data dir made by an older "
        "version and moved since: run it once from its old path)"
    )


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
    if not path.exists() and holds_data(data_dir):  # checked first: unlocking would create an empty file
        raise _missing_key(data_dir, f"{path} does not exist")
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


def _stored_key(backend: KeyringBackend, data_dir: Path, description: str) -> str:
    """The stored key, found by the data dir's identity; made (with the identity) on first run only."""
    data_dir_id = read_id(data_dir)
    if data_dir_id is None:
        # A data dir of an older version keeps its key under the hash of its path: that becomes its id.
        legacy = path_id(data_dir)
        if backend.get_password(SERVICE, key_username(legacy)) is not None:
            data_dir_id = legacy
        elif holds_data(data_dir):
            raise _missing_key(data_dir, f"not in the {description}")
        else:
            data_dir_id = secrets.token_hex(16)
        _write_id(data_dir, data_dir_id)  # before the key: a crash in between leaves no orphaned key
    username = key_username(data_dir_id)
    stored = backend.get_password(SERVICE, username)
    if stored is None:
        if holds_data(data_dir):
            raise _missing_key(data_dir, f"not in the {description}")
        backend.set_password(SERVICE, username, base64.b64encode(secrets.token_bytes(32)).decode())
        stored = backend.get_password(SERVICE, username)
    if stored is None:
        raise KeyStorageError(f"the keyring ({description}) did not keep the data key")
    return stored


def load_or_create_key(data_dir: Path) -> KeyInfo:
    """The data dir's key from the keyring; a new random one is stored there on first run."""
    choice = os.environ.get("SECONDME_KEYRING", "").strip().lower() or "auto"
    cache_key = (choice, str(data_dir.resolve()), os.environ.get("SECONDME_KEYRING_PASSPHRASE", ""))
    if cache_key in _cache:
        return _cache[cache_key]
    backend, description = _backend(data_dir, choice)
    try:
        stored = _stored_key(backend, data_dir, description)
    except KeyringError as error:
        raise KeyStorageError(f"the keyring ({description}) failed: {error}") from error
    try:
        key = base64.b64decode(stored, validate=True)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise KeyStorageError(f"the data key in the keyring ({description}) is damaged")
    info = KeyInfo(key=key, backend=description)
    _cache[cache_key] = info
    return info
