"""What an ingest reaches: links out of the folder, credential files and named pipes are left out with a
warning (real files, links and FIFOs in temp folders; the real Ingestor, store and CLI)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from secondme.app import Services, build
from secondme.ingestion import Ingestor
from secondme.scope import Scope, credential
from secondme.watching import Watcher
from tests.conftest import REPO

SECRETS = ("hunter2", "root:x:0:0", "MIIEvQIBADANBg", "kdbx-master", "AKIAIOSFODNN7")
PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nMIIEvQIBADANBg hunter2\n-----END OPENSSH PRIVATE KEY-----\n"


def stored_texts(services: Services) -> list[str]:
    ids = [i for (i,) in services.store.query("SELECT id FROM records ORDER BY rowid")]
    return [record.text for record in services.store.records(ids)]


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    """Two real notes (English, Chinese) among a link to a key outside, a link to a folder outside, a link to a
    system-like file outside, an SSH key, a .pem, a key under a harmless name, a password database and a FIFO."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "id_rsa.txt").write_text("my ssh passphrase is hunter2\n", encoding="utf-8")
    (outside / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    (outside / "more").mkdir()
    (outside / "more" / "notes.md").write_text("# Elsewhere\n\nthe key is AKIAIOSFODNN7\n", encoding="utf-8")
    folder = tmp_path / "vault"
    (folder / "日记").mkdir(parents=True)
    (folder / "Shopping.md").write_text("# Shopping\n\nBuy oat milk and lemons.\n", encoding="utf-8")
    (folder / "日记" / "周一.md").write_text("# 周一\n\n今天和妹妹去公园散步。\n", encoding="utf-8")
    (folder / "key.txt").symlink_to(outside / "id_rsa.txt")
    (folder / "passwd.txt").symlink_to(outside / "passwd")
    (folder / "elsewhere").symlink_to(outside / "more")
    (folder / "id_ed25519").write_text(PRIVATE_KEY, encoding="utf-8")
    (folder / "server.pem").write_text(PRIVATE_KEY, encoding="utf-8")
    (folder / "backup notes.txt").write_text(PRIVATE_KEY, encoding="utf-8")
    (folder / "密钥.txt").write_text(PRIVATE_KEY, encoding="utf-8")
    (folder / "Passwords.kdbx").write_text("kdbx-master hunter2\n", encoding="utf-8")
    (folder / "credentials.json").write_text('{"aws_secret": "hunter2"}\n', encoding="utf-8")
    (folder / ".env").write_text("API_KEY=hunter2\n", encoding="utf-8")  # hidden: never read from a folder
    os.mkfifo(folder / "pipe.md")
    return folder


LEFT_OUT = {"key.txt": "a link to", "passwd.txt": "a link to", "elsewhere": "a link to",
            "id_ed25519": "private key or credentials (named like one)",
            "server.pem": "private key or credentials (named like one)",
            "backup notes.txt": "private key or credentials (it holds a private key)",
            "密钥.txt": "private key or credentials (it holds a private key)",
            "Passwords.kdbx": "private key or credentials (named like one)",
            "credentials.json": "private key or credentials (named like one)",
            "pipe.md": "a named pipe, not a regular file"}


def test_a_folder_keeps_its_notes_and_leaves_out_links_out_keys_and_pipes(vault: Path):
    services = build()
    report = Ingestor(services.store).ingest([vault])
    texts = stored_texts(services)
    services.close()
    assert report.errors == [] and report.files == 2
    assert any("oat milk" in t for t in texts) and any("妹妹" in t for t in texts)
    assert not [t for t in texts if any(secret in t for secret in SECRETS)]
    for name, why in LEFT_OUT.items():
        [line] = [w for w in report.warnings if w.startswith(f"{vault / name}: left out")]
        assert why in line
    assert "--follow-links" in next(w for w in report.warnings if w.startswith(f"{vault / 'key.txt'}:"))
    assert "give the file itself" in next(w for w in report.warnings if w.startswith(f"{vault / 'server.pem'}:"))


def test_following_links_reads_outside_files_but_still_no_keys(vault: Path):
    services = build()
    report = Ingestor(services.store, scope=Scope(follow_links=True)).ingest([vault])
    texts = stored_texts(services)
    services.close()
    assert any("root:x:0:0" in t for t in texts) and any("AKIAIOSFODNN7" in t for t in texts)
    assert not [t for t in texts if "hunter2" in t]  # id_rsa.txt is a key by its name, wherever it lies
    assert any(w.startswith(f"{vault / 'key.txt'}: left out: it looks like a private key") for w in report.warnings)


def test_files_named_on_their_own_are_asked_for(vault: Path):
    services = build()
    report = Ingestor(services.store).ingest([vault / "key.txt", vault / "backup notes.txt"])
    texts = stored_texts(services)
    services.close()
    assert report.warnings == [] and report.errors == [] and report.files == 2
    assert any("hunter2" in t for t in texts)


def test_a_fifo_named_on_its_own_is_an_error_not_a_hang(vault: Path):
    services = build()
    report = Ingestor(services.store).ingest([vault / "pipe.md", vault / "Shopping.md"])
    services.close()
    assert report.errors == [f"{vault / 'pipe.md'}: a named pipe, not a regular file; nothing read"]
    assert report.files == 1


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "secondme", "ingest", *args], cwd=REPO, env=os.environ.copy(),
                          capture_output=True, text=True, timeout=timeout)


def test_cli_warns_and_stores_only_the_notes(vault: Path):
    done = cli(str(vault))
    assert done.returncode == 0, done.stderr
    for name in LEFT_OUT:
        assert f"warning: {vault / name}: left out" in done.stderr
    assert "2 file(s)" in done.stdout
    services = build()
    texts = stored_texts(services)
    services.close()
    assert len(texts) == 2 and not [t for t in texts if any(secret in t for secret in SECRETS)]


def test_cli_follow_links_flag_and_an_explicit_fifo(vault: Path):
    done = cli("--follow-links", str(vault))
    assert done.returncode == 0, done.stderr
    assert "a link to" not in done.stderr
    piped = cli(str(vault / "pipe.md"), timeout=120)  # a hang would time out here
    assert piped.returncode == 1
    assert "a named pipe, not a regular file; nothing read" in piped.stderr
    services = build()
    texts = stored_texts(services)
    services.close()
    assert any("root:x:0:0" in t for t in texts) and not [t for t in texts if "hunter2" in t]


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[tuple[Path, Services, Watcher]]:
    folder = tmp_path / "watched"
    folder.mkdir()
    (folder / "Existing.md").write_text("# Existing\n\nThere before the watch.\n", encoding="utf-8")
    services = build()
    with Watcher(services.store, [folder], quiet=0.2) as watcher:
        yield folder.resolve(), services, watcher
    services.close()


def test_a_watched_folder_leaves_out_new_keys_and_links_out(watched, tmp_path: Path):
    folder, services, watcher = watched
    watcher.ingest_all()
    secret = tmp_path / "secret.txt"
    secret.write_text("the vault code is hunter2\n", encoding="utf-8")
    (folder / "id_rsa").write_text(PRIVATE_KEY, encoding="utf-8")
    (folder / "secret.txt").symlink_to(secret)
    (folder / "Monday.md").write_text("# Monday\n\nCalled the plumber.\n", encoding="utf-8")
    warnings: list[str] = []
    deadline = time.monotonic() + 30
    while not any("plumber" in t for t in stored_texts(services)) or len(warnings) < 2:
        assert time.monotonic() < deadline, f"timed out; warnings so far: {warnings}"
        if report := watcher.step():
            warnings += report.warnings
        time.sleep(0.1)
    assert any(w.startswith(f"{folder / 'id_rsa'}: left out: it looks like a private key") for w in warnings)
    assert any(w.startswith(f"{folder / 'secret.txt'}: left out: a link to") for w in warnings)
    assert not [t for t in stored_texts(services) if "hunter2" in t]


@pytest.mark.parametrize("name, content, looks", [
    ("id_rsa", "x", True), ("id_ed25519", "x", True), ("id_ecdsa_sk", "x", True), ("id_rsa.pub", "ssh-rsa AAAA", False),
    ("server.pem", "x", True), ("tls.KEY", "x", True), ("cert.p12", "x", True), ("vault.kdbx", "x", True),
    ("prod.env", "x", True), (".env.local", "x", True), ("_netrc", "x", True), ("credentials", "x", True),
    ("credentials.json", "{}", True), ("environment.md", "# env", False), ("monkey.md", "# keys", False),
    ("钥匙.md", "# 钥匙\n\n放在门口。", False), ("备份.txt", "\ufeff  " + PRIVATE_KEY, True),
    ("rsa.txt", "-----BEGIN RSA PRIVATE KEY-----\n", True),
    ("pgp.txt", "-----BEGIN PGP PRIVATE KEY BLOCK-----\n", True),
    ("cert.txt", "-----BEGIN CERTIFICATE-----\n", False), ("putty.txt", "PuTTY-User-Key-File-3: ssh-rsa\n", True),
])
def test_what_looks_like_a_credential(tmp_path: Path, name: str, content: str, looks: bool):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert bool(credential(path)) is looks
