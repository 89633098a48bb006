"""The `secondme` CLI as a user runs it: real embedder, real SQLite and chromadb, real small GGUF."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from secondme.assets import sample_notes_dir
from secondme.cli import main

NOTES = sample_notes_dir()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def status(capsys: pytest.CaptureFixture[str]) -> dict:
    code, out, _ = run(capsys, "status", "--json")
    assert code == 0
    return json.loads(out)


def search_ids(capsys: pytest.CaptureFixture[str], query: str) -> list[dict]:
    code, out, _ = run(capsys, "search", query, "--json")
    assert code == 0
    return json.loads(out)


def test_ingest_is_idempotent_and_search_finds_notes(capsys):
    code, out, _ = run(capsys, "ingest", str(NOTES))
    assert code == 0 and "0 error(s)" in out
    first = status(capsys)["records"]
    assert first >= 12
    code, out, _ = run(capsys, "ingest", str(NOTES))
    assert code == 0 and "0 new record(s)" in out
    assert status(capsys)["records"] == first
    hits = search_ids(capsys, "bouldering gym")
    assert hits[0]["origin"].endswith("Climbing.md")


def test_changed_file_replaces_only_its_changed_parts(capsys, tmp_path: Path):
    note = tmp_path / "plants.md"
    head = "---\ndate: 2026-03-01\n---\n"
    note.write_text(head + "# Plants\n\nThe fern needs water on Fridays.\n\n# Balcony\n\nTomatoes in May.\n",
                    encoding="utf-8")
    run(capsys, "ingest", str(note))
    before = {h["title"]: h["id"] for h in search_ids(capsys, "fern tomatoes")}
    note.write_text(head + "# Plants\n\nThe fern needs water on Sundays.\n\n# Balcony\n\nTomatoes in May.\n",
                    encoding="utf-8")
    code, out, _ = run(capsys, "ingest", str(note))
    assert code == 0 and "1 new record(s), 1 unchanged, 1 removed" in out
    after = {h["title"]: h["id"] for h in search_ids(capsys, "fern tomatoes")}
    assert after["plants > Balcony"] == before["plants > Balcony"]
    assert after["plants > Plants"] != before["plants > Plants"]
    assert status(capsys)["records"] == 2


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("empty.md", b"", "the file is empty"),
        ("photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary data"),
        ("huge-line.txt", b"a" * 1_000_000, "characters long"),
        ("latin1.md", "# Café\n\nNão há açúcar.\n".encode("latin-1"), "not valid UTF-8"),
    ],
)
def test_bad_file_is_a_clear_error_and_changes_nothing(capsys, tmp_path: Path, name, content, problem):
    run(capsys, "ingest", str(NOTES / "Tomas.md"))
    before = status(capsys)["records"]
    bad = tmp_path / name
    bad.write_bytes(content)
    code, out, err = run(capsys, "ingest", str(bad))
    assert code == 1
    assert f"error: {bad}" in err and problem in err and "Traceback" not in err
    assert status(capsys)["records"] == before


def test_remember_search_forget(capsys):
    code, out, _ = run(capsys, "remember", "The spare key is under the blue flowerpot")
    assert code == 0 and out.startswith("Remembered")
    [hit] = [h for h in search_ids(capsys, "where is the spare key") if "flowerpot" in h["text"]]
    code, out, _ = run(capsys, "forget", hit["id"])
    assert code == 0 and "Forgot 1 memory" in out
    assert not [h for h in search_ids(capsys, "spare key flowerpot") if h["id"] == hit["id"]]
    code, _, err = run(capsys, "forget", hit["id"])
    assert code == 1 and f"no memory with id {hit['id']}" in err


def test_config_set_get_and_bad_key(capsys, secondme_home: Path):
    assert run(capsys, "config", "set", "owner.name", "Maya")[0] == 0
    assert run(capsys, "config", "get", "owner.name")[1].strip() == "Maya"
    code, _, err = run(capsys, "config", "set", "model.n_ctx", "lots")
    assert code == 1 and err.count("\n") == 1 and "model.n_ctx" in err
    code, _, err = run(capsys, "config", "set", "model.colour", "red")
    assert code == 1 and "unknown setting 'model.colour'" in err
    assert json.loads((secondme_home / "config.json").read_text()) == {"owner": {"name": "Maya"}}


def test_missing_model_file_is_one_line_error(capsys, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SECONDME_MODEL", str(tmp_path / "nope.gguf"))
    code, _, err = run(capsys, "ask", "hello?")
    assert code == 1 and "nope.gguf does not exist" in err and err.count("\n") == 1


def test_status_names_the_key_storage_and_model(capsys, secondme_home: Path):
    info = status(capsys)
    assert info["data_dir"] == str(secondme_home)
    assert "keyrings.cryptfile" in info["key_storage"] and "SECONDME_KEYRING_PASSPHRASE" in info["key_storage"]
    assert "model" in info and info["records"] == 0


def test_secret_note_text_is_not_on_disk_in_plain_form(capsys, secondme_home: Path):
    assert run(capsys, "ingest", str(NOTES))[0] == 0
    needles = [b"levothyroxine", b"thyroid", b"Okafor", "levothyroxine".encode("utf-16-le")]
    for path in secondme_home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for needle in needles:
                assert needle not in data, f"{needle!r} found in {path}"


@pytest.mark.model
def test_real_model_answers_from_notes_and_cites_the_right_record(capsys, monkeypatch, small_gguf: Path):
    monkeypatch.setenv("SECONDME_MODEL", str(small_gguf))
    assert run(capsys, "ingest", str(NOTES))[0] == 0
    [gym] = [h for h in search_ids(capsys, "climbing gym") if h["origin"].endswith("Climbing.md")][:1]
    code, out, _ = run(capsys, "ask", "What is the name of the climbing gym I go to?", "--json")
    assert code == 0
    result = json.loads(out)
    assert "Blockhaus" in result["answer"]
    assert gym["id"] in [c["id"] for c in result["citations"]]
    assert all({"id", "source", "snippet"} <= set(c) for c in result["citations"])


@pytest.mark.model
def test_ingest_and_ask_work_with_only_loopback(small_gguf: Path, secondme_home: Path):
    """Run the whole path in a network namespace that has nothing but loopback."""
    unshare = shutil.which("unshare")
    if not unshare or subprocess.run([unshare, "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("unshare -n is not permitted here; the in-process loopback guard still applies")
    env = {**os.environ, "SECONDME_MODEL": str(small_gguf)}
    script = (f"ip link set lo up 2>/dev/null; {sys.executable} -m secondme ingest '{NOTES}' && "
              f"{sys.executable} -m secondme ask --json 'What does my sister Ines do for work?'")
    done = subprocess.run([unshare, "-n", "sh", "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "nurse" in result["answer"]
    assert any(c["source"].endswith("Family.md") for c in result["citations"])


@pytest.mark.model
def test_ingesting_a_note_with_a_plan_finds_follow_ups_and_leaves_the_model_to_the_background(
        capsys, monkeypatch, tmp_path: Path, small_gguf: Path):
    monkeypatch.setenv("SECONDME_MODEL", str(tmp_path / "missing.gguf"))  # loading a model would fail the ingest
    monkeypatch.setenv("SECONDME_NOW", "2026-11-24T19:00:00")
    note = tmp_path / "notes" / "plans.md"
    note.parent.mkdir()
    note.write_text("---\ndate: 2026-11-24\n---\n# Plans\n\nDentist on Thursday at 3pm.\n", encoding="utf-8")
    code, _, err = run(capsys, "ingest", str(note.parent))
    assert code == 0 and "in the background" in err and "working-memory refresh" in err
    code, out, _ = run(capsys, "followups", "--json")
    [followup] = json.loads(out)
    assert (followup["topic"], followup["event"]) == ("dentist", "Thursday 26 November at 15:00")
    monkeypatch.setenv("SECONDME_MODEL", str(small_gguf))
    assert run(capsys, "working-memory", "refresh")[0] == 0
    code, out, _ = run(capsys, "working-memory", "--json")
    plans = json.loads(out)["memory"]["user"]["plans"]
    assert [p["what"] for p in plans] == ["Dentist"]
    code, _, err = run(capsys, "ingest", str(note.parent))  # nothing new: no model call, no message
    assert code == 0 and "working memory" not in err
