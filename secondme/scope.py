"""Which files an ingest reads: folders walked in name order, links kept inside them, keys and pipes left out.

A file named on its own was asked for: it is read even when it looks like a key or is a link (but a
named pipe, socket or device never is: reading one would hang). A file found by walking a folder is
left out, with a warning that says how to include it, when it looks like a private key or credentials,
when a link leads out of the folder (unless links are to be followed), or when it is not a regular file.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

SKIPPED_NAMES = {".git", ".obsidian", ".trash", "node_modules", "__pycache__"}
_CREDENTIAL_NAME = re.compile(
    r"id_(rsa|dsa|ecdsa|ed25519)(_sk)?(?!.*\.pub$).*"  # SSH keys, not their .pub halves
    r"|.+\.(pem|key|p12|pfx|ppk|jks|keystore|kdbx|kdb|gpg)|\.env(\..+)?|.+\.env|[._]netrc|\.pgpass"
    r"|credentials(\.json)?|.*client_secret.*\.json|service[-_]account.*\.json",
    re.IGNORECASE)
_PRIVATE_KEY = re.compile(rb"(-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|PuTTY-User-Key-File-)")
_KINDS = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"))


@dataclass
class Selection:
    """The files to read, in order; warnings for the files left out; errors for paths that cannot be read."""

    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def hidden(name: str) -> bool:
    """Hidden files and folders, and tools' folders: never walked into or read."""
    return name in SKIPPED_NAMES or name.startswith(".")


def special(path: Path) -> str:
    """What the file at `path` is when it is not a regular one ("a named pipe"...); "" for a regular file."""
    mode = path.stat().st_mode
    if stat.S_ISREG(mode):
        return ""
    return next((kind for test, kind in _KINDS if test(mode)), "not a regular file")


def credential(path: Path) -> str:
    """Why the (regular) file looks like a private key or credentials, or ""."""
    names = (path.name, os.path.basename(os.path.realpath(path))) if path.is_symlink() else (path.name,)
    if any(_CREDENTIAL_NAME.fullmatch(name) for name in names):
        return "named like one"
    try:
        with path.open("rb") as handle:
            head = handle.read(256)
    except OSError:
        return ""  # the ingest will say why it cannot be read
    return "it holds a private key" if _PRIVATE_KEY.match(head.lstrip(b"\xef\xbb\xbf \t\r\n")) else ""


def _inside(target: str, folder: str) -> bool:
    return target == folder or target.startswith(folder.rstrip(os.sep) + os.sep)


@dataclass(frozen=True)
class Scope:
    """How far an ingest reaches. `follow_links` lets links lead out of the folders walked. With `roots` (the
    watched folders) every path given lies in one of them and is judged as a file found there, not asked for."""

    follow_links: bool = False
    roots: tuple[Path, ...] = ()

    def select(self, paths: Iterable[Path]) -> Selection:
        """The files `paths` name or hold, in order, with what was left out and why."""
        chosen = Selection()
        for path in paths:
            root = next((r for r in self.roots if path == r or r in path.parents), None)
            if path.is_dir():
                chosen.files += self._walk(path, root or path, chosen)
            elif root is not None:
                if self._found(path, os.path.realpath(root), chosen):
                    chosen.files.append(path)
            elif path.exists() and (kind := special(path)):
                chosen.errors.append(f"{path}: {kind}, not a regular file; nothing read")
            else:
                chosen.files.append(path)  # asked for; a missing file is reported when it is read
        return chosen

    def _walk(self, folder: Path, boundary: Path, chosen: Selection) -> list[Path]:
        """The files under `folder` to read, in name order; links may lead anywhere inside `boundary`."""
        inside, seen, found = os.path.realpath(boundary), set(), []
        for top, folders, names in os.walk(folder, followlinks=True):
            real = os.path.realpath(top)
            if real in seen:  # a loop of links
                folders[:] = []
                continue
            seen.add(real)
            folders[:] = sorted(name for name in folders if self._enter(Path(top, name), inside, chosen))
            found += [Path(top, name) for name in sorted(names) if self._found(Path(top, name), inside, chosen)]
        return sorted(found)

    def _enter(self, folder: Path, inside: str, chosen: Selection) -> bool:
        if hidden(folder.name):
            return False
        if not folder.is_symlink():
            return True
        target = os.path.realpath(folder)
        if _inside(target, inside):
            return False  # walked where it is
        return self._may_leave(folder, target, inside, chosen)

    def _found(self, path: Path, inside: str, chosen: Selection) -> bool:
        """Whether a file met in a folder is to be read; a warning when it is left out for a reason worth telling."""
        if hidden(path.name) or not path.exists():  # hidden, or a broken link
            return False
        if path.is_symlink() and not _inside(target := os.path.realpath(path), inside) \
                and not self._may_leave(path, target, inside, chosen):
            return False
        if kind := special(path):
            chosen.warnings.append(f"{path}: left out: {kind}, not a regular file")
            return False
        if why := credential(path):
            chosen.warnings.append(f"{path}: left out: it looks like a private key or credentials ({why}); "
                                   "to ingest it anyway, give the file itself, not its folder")
            return False
        return True

    def _may_leave(self, path: Path, target: str, inside: str, chosen: Selection) -> bool:
        if not self.follow_links:
            chosen.warnings.append(f"{path}: left out: a link to {target}, outside {inside}; "
                                   "ingest with --follow-links to follow links out of the folder")
        return self.follow_links
