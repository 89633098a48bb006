"""Nothing leaves the machine: the real `secondme ingest`, `search` and `ask` run as a user runs them, under a
socket audit hook and strace, with HOME in a temp dir that they must leave as they found it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from secondme.assets import sample_notes_dir

# `python -m secondme ARGS` behind an audit hook that logs, then refuses, every name lookup and every socket
# connect or send that is not AF_UNIX. Native code (onnxruntime's C++, chromadb's Rust, llama.cpp) goes
# round such hooks: strace is what sees it.
AUDITED = """
import os, runpy, socket, sys
LOOKUPS = {"socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr", "socket.getnameinfo"}
SENDS = {"socket.connect", "socket.sendto", "socket.sendmsg"}
log = open(os.environ["SECONDME_TEST_AUDIT"], "a", encoding="utf-8")
def refuse(event, args):
    if event in LOOKUPS or (event in SENDS and args[0].family != socket.AF_UNIX):
        log.write(f"{event} {args!r}\\n")
        log.flush()
        raise PermissionError(f"{event} refused: SecondMe must not use the network")
sys.addaudithook(refuse)
sys.argv[0] = "secondme"
runpy.run_module("secondme", run_name="__main__", alter_sys=True)
"""
TRACED_CALLS = "connect,sendto,sendmsg,sendmmsg"
# Variables that make onnxruntime keep its telemetry quiet on its own (CI servers, its own switch): a user's
# shell has none of them, so neither do the commands under test.
QUIETING = ("ORT_DISABLE_TELEMETRY", "ORT_RUNNING_UNIT_TESTS", "CI", "TF_BUILD", "GITHUB_ACTIONS", "GITLAB_CI",
            "CIRCLECI", "TRAVIS", "JENKINS_URL", "CODEBUILD_BUILD_ID", "BUILDKITE", "TEAMCITY_VERSION", "APPVEYOR",
            "BITBUCKET_BUILD_NUMBER")
CLIMBING_ZH = "攀岩.md"


@cache
def strace() -> str | None:
    """strace, if it is installed and may trace here (ptrace is often forbidden in containers)."""
    found = shutil.which("strace")
    if found and subprocess.run([found, "-f", "-qq", "-o", os.devnull, "true"], capture_output=True).returncode == 0:
        return found
    return None


@dataclass
class User:
    """A user's home in a temp dir (HOME, XDG_* and TMPDIR inside it) and where the commands' logs go."""

    home: Path
    logs: Path
    env: dict[str, str]

    @property
    def own_cache(self) -> Path:
        return self.home / ".cache" / "SecondMe"

    def listing(self) -> dict[str, tuple[int, int]]:
        """Every path under HOME but SecondMe's own cache, with its size and mtime (directories: -1, 0)."""
        found = {}
        for path in self.home.rglob("*"):
            if path == self.own_cache or self.own_cache in path.parents:
                continue
            info = path.lstat()
            found[str(path.relative_to(self.home))] = (-1, 0) if path.is_dir() else (info.st_size, info.st_mtime_ns)
        return found

    def secondme(self, *args: str) -> str:
        """Run `secondme ARGS` audited (and under strace where it works); its stdout."""
        command = [sys.executable, "-c", AUDITED, *args]
        if strace():
            trace = self.logs / f"strace-{len(list(self.logs.glob('strace-*')))}.log"
            command = [strace(), "-f", "-qq", "-e", f"trace={TRACED_CALLS}", "-e", "signal=none", "-o", str(trace),
                       *command]
        done = subprocess.run(command, capture_output=True, text=True, env=self.env, timeout=900)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def audited(self) -> list[str]:
        """What the audit hook refused, over every command run so far."""
        log = self.logs / "audit.log"
        return log.read_text(encoding="utf-8").splitlines() if log.exists() else []

    def network_calls(self) -> list[str]:
        """The IPv4/IPv6 connects and sends (DNS is one: port 53) that strace saw, over every command run so far."""
        lines = [line for trace in sorted(self.logs.glob("strace-*.log")) for line in trace.read_text().splitlines()]
        return [line for line in lines if "AF_INET" in line or "htons(53)" in line]

    def assert_nothing_left(self, before: dict[str, tuple[int, int]]) -> None:
        assert self.audited() == []
        assert self.network_calls() == []
        after = self.listing()
        changed = sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))
        assert changed == [], f"written outside the data dir and SecondMe's cache: {changed}"
        if not strace():
            pytest.skip("strace is missing or may not trace here: only Python's own sockets were audited, not "
                        "native code (onnxruntime, chromadb, llama.cpp)")


@pytest.fixture
def user(tmp_path: Path) -> User:
    home, logs = tmp_path / "user", tmp_path / "logs"
    dirs = {"XDG_CACHE_HOME": ".cache", "XDG_CONFIG_HOME": ".config", "XDG_DATA_HOME": ".local/share",
            "XDG_STATE_HOME": ".local/state", "XDG_RUNTIME_DIR": "run", "TMPDIR": "tmp"}
    for name in dirs.values():
        (home / name).mkdir(parents=True, mode=0o700)
    logs.mkdir()
    env = {name: value for name, value in os.environ.items() if name not in QUIETING}
    env.update({name: str(home / where) for name, where in dirs.items()})
    env.update(HOME=str(home), SECONDME_TEST_AUDIT=str(logs / "audit.log"))
    return User(home, logs, env)


def ingest_notes(user: User, tmp_path: Path) -> None:
    """The sample notes and a Chinese one, ingested."""
    notes = tmp_path / "notes"
    shutil.copytree(sample_notes_dir(), notes)
    (notes / CLIMBING_ZH).write_text("# 攀岩\n\n我每周四晚上去城东的岩舍攀岩馆练抱石。\n", encoding="utf-8")
    assert "0 error(s)" in user.secondme("ingest", str(notes))


def test_ingest_and_search_use_no_network_and_write_only_the_data_dir(user: User, tmp_path: Path):
    before = user.listing()
    ingest_notes(user, tmp_path)
    hits = json.loads(user.secondme("search", "bouldering gym", "--json"))
    assert hits[0]["origin"].endswith("Climbing.md")
    hits = json.loads(user.secondme("search", "攀岩馆", "--json"))
    assert hits[0]["origin"].endswith(CLIMBING_ZH)
    user.assert_nothing_left(before)


@pytest.mark.model
def test_ask_uses_no_network_and_writes_only_the_data_dir(user: User, tmp_path: Path, small_gguf: Path):
    user.env["SECONDME_MODEL"] = str(small_gguf)
    before = user.listing()
    ingest_notes(user, tmp_path)
    answer = json.loads(user.secondme("ask", "--json", "What is the name of the climbing gym I go to?"))
    assert "Blockhaus" in answer["answer"]
    answer = json.loads(user.secondme("ask", "--json", "我每周四去哪里攀岩？"))
    assert answer["answer"]
    user.assert_nothing_left(before)
