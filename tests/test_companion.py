"""The proactive companion with a controllable clock, real SQLite and the real scheduler; a fake
ChatModel where the test is about the rules (tests/test_companion_model.py has the real model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from secondme.app import Services, build
from secondme.companion.clock import Clock
from secondme.companion.followups import extract
from secondme.companion.wakeup import Companion
from secondme.config import CompanionConfig, Config
from secondme.core.types import NewRecord, Sensitivity
from tests.companion_fake import CompanionModel
from tests.conftest import REPO
from tests.fakes import HashEmbedder

TZ = ZoneInfo("Europe/Stockholm")
MONDAY_18 = datetime(2026, 5, 4, 18, 0, tzinfo=TZ)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in May 2026 (4 May is a Monday)."""
    return datetime(2026, 5, day, hour, minute, tzinfo=TZ)


@pytest.fixture
def model() -> CompanionModel:
    return CompanionModel()


@pytest.fixture
def services(secondme_home: Path, model: CompanionModel) -> Iterator[Services]:
    config = Config(companion=CompanionConfig(timezone="Europe/Stockholm"))
    built = build(config, secondme_home, HashEmbedder(), model)
    built.clock = Clock(TZ, MONDAY_18)
    yield built
    built.close()


def say(services: Services, text: str, when: datetime) -> None:
    """The owner writes `text` in a chat at `when` (the chat engine stores it as it does)."""
    services.clock.set(when)
    services.assistant().ask(text)


def note(services: Services, text: str, when: datetime, sensitivity: Sensitivity = Sensitivity.NORMAL) -> None:
    services.store.add([NewRecord(text, when, "markdown", f"n{when.timestamp()}", "note", f"/notes/{text[:9]}.md",
                                  sensitivity=sensitivity)])


# -- follow-ups from text ------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "event", "topic", "due"), [
    ("I'm going to the hospital tomorrow morning", "I'm going to the hospital", "hospital", at(5, 12)),
    ("dentist Thursday 3pm", "dentist", "dentist", at(7, 17)),
    ("interview next Monday", "interview", "interview", at(11, 18)),
    ("fly to Tokyo on the 12th", "fly to Tokyo", "fly tokyo", at(12, 18)),
    ("Dinner with Ana at 20:00 today", "Dinner with Ana", "dinner ana", at(5, 10)),  # late: the next morning
    ("We meet Tomas for lunch on May 6th.", "We meet Tomas for lunch", "meet tomas", at(6, 15)),
    ("Dentist on Thursday at 3pm, then call Mia", "Dentist, then call Mia", "dentist call", at(7, 17)),
])
def test_events_become_follow_ups_at_a_sensible_time_after_them(text: str, event: str, topic: str,
                                                                  due: datetime) -> None:
    (draft,) = extract(text, MONDAY_18)
    assert (draft.event, draft.topic, draft.when.due) == (event, topic, due)


def test_relative_dates_are_read_against_the_message_time_not_now() -> None:
    friday = datetime(2026, 1, 2, 9, 0, tzinfo=TZ)
    (draft,) = extract("Dentist tomorrow at 10am", friday)
    assert draft.when.start == datetime(2026, 1, 3, 10, 0, tzinfo=TZ)


@pytest.mark.parametrize("text", [
    "What am I doing tomorrow?", "I swim every Tuesday", "On Monday I went climbing", "This morning I slept in",
    "last Thursday was the dentist", "I love Tokyo", "We had a great dinner at Luigi's tonight",
])
def test_questions_habits_and_the_past_are_not_follow_ups(text: str) -> None:
    assert extract(text, MONDAY_18) == []


def test_follow_ups_come_from_notes_but_not_from_secondme_or_other_people(services: Services) -> None:
    note(services, "Dentist Thursday 3pm", MONDAY_18)
    services.store.add([NewRecord("Ana: I fly to Rome tomorrow", MONDAY_18, "sms", "s1", "message", "sms:ana",
                                  speaker="Ana")])
    found = services.companion().observe(MONDAY_18, refresh=False).followups
    assert [f.topic for f in found] == ["dentist"]


# -- the hospital scenario -----------------------------------------------------------------------

def test_hospital_tomorrow_morning_brings_a_check_in_tuesday_noon_and_none_before(
        services: Services, model: CompanionModel) -> None:
    say(services, "I'm going to the hospital tomorrow morning", MONDAY_18)
    companion = services.companion()
    scheduler = services.companion_scheduler(companion)
    scheduler.start(paused=True)  # the real scheduler and job store; the test moves the clock itself
    try:
        (followup,) = companion.followups.pending()
        jobs = dict(scheduler.jobs())
        assert followup.due_at.astimezone(TZ) == at(5, 12)
        assert jobs[f"followup:{followup.id}"] == services.clock.to_real(at(5, 12))
        moment = at(4, 19)
        while moment < at(5, 12):
            services.clock.set(moment)
            decision = scheduler.run("wake")
            assert decision is not None and not decision.reach_out, moment
            moment += timedelta(hours=1)
        assert model.calls["decision"] == 0 and companion.inbox.all() == []
        services.clock.set(at(5, 12))
        decision = scheduler.run("followup", followup.id)
    finally:
        scheduler.shutdown()
    assert decision is not None and decision.reach_out and "hospital" in decision.message
    (checkin,) = companion.inbox.all()
    assert checkin.message == decision.message and not checkin.answered
    assert companion.memory.current().doc["self"]["last_said"] == decision.message


def test_a_check_in_opens_a_conversation_the_reply_continues(services: Services) -> None:
    say(services, "I'm going to the hospital tomorrow morning", MONDAY_18)
    companion = services.companion()
    checkin = companion.wake(at(5, 12)).checkin
    assert checkin is not None
    services.clock.set(at(5, 13))
    from secondme.core.assistant import Conversation

    conversation = Conversation(checkin.conversation_id, [{"role": "assistant", "content": checkin.message}])
    services.assistant().ask("It went fine, thanks!", conversation)
    origins = {o for (o,) in services.store.query("SELECT origin FROM records WHERE source = 'conversation'")}
    assert f"conversation:{checkin.conversation_id}" in origins
    turns = services.store.query("SELECT id FROM records WHERE origin = ? ORDER BY rowid",
                                 (f"conversation:{checkin.conversation_id}",))
    assert len(turns) == 3 and services.store.get(turns[0][0]).source_id == f"conversation:{checkin.conversation_id}#0"
    assert companion.inbox.all()[0].answered
    assert companion.wake(at(5, 14)).rule == "nothing_due"


# -- the rules -----------------------------------------------------------------------------------

def test_no_check_in_in_quiet_hours_it_waits_for_their_end(services: Services, model: CompanionModel) -> None:
    say(services, "My flight to Tokyo leaves tomorrow at 5am", MONDAY_18)
    companion = services.companion()
    scheduler = services.companion_scheduler(companion)
    scheduler.start(paused=True)
    try:
        (followup,) = companion.followups.pending()
        assert followup.due_at.astimezone(TZ) == at(5, 7)  # inside the quiet hours (22:00 to 08:00)
        services.clock.set(at(4, 23))
        assert scheduler.run("wake").rule == "nothing_due"  # type: ignore[union-attr]
        for moment in (at(5, 7), at(5, 7, 30), at(5, 7, 59)):
            services.clock.set(moment)
            decision = scheduler.run("followup" if moment == at(5, 7) else "wake")
            assert decision is not None
            assert (decision.reach_out, decision.rule, decision.retry_at) == (False, "quiet_hours", at(5, 8))
        assert dict(scheduler.jobs())["retry"] == services.clock.to_real(at(5, 8))
        services.clock.set(at(5, 8))
        decision = scheduler.run("retry")
    finally:
        scheduler.shutdown()
    assert decision is not None and decision.reach_out and "Tokyo" in decision.message
    assert model.calls["decision"] == 1


def test_three_unanswered_check_ins_then_none_until_the_user_writes(services: Services,
                                                                     model: CompanionModel) -> None:
    for n, thing in enumerate(["dentist", "hairdresser", "mechanic", "plumber"]):
        note(services, f"The {thing} is coming tomorrow at 9am", at(4, 9 + n))
    companion = services.companion()
    sent = []
    for moment in [at(5, 11), at(5, 14), at(5, 20), at(6, 9), at(6, 21)]:  # gaps: 3 h, then 6 h, then 12 h
        decision = companion.wake(moment)
        if decision.reach_out:
            sent.append(decision.followup.topic if decision.followup else "")
    assert sent == ["dentist", "hairdresser", "mechanic"]
    decision = companion.wake(at(6, 21))
    assert (decision.reach_out, decision.rule) == (False, "backoff")
    assert model.calls["decision"] == 3
    say(services, "Sorry, busy days! All fine.", at(6, 21, 30))
    decision = companion.wake(at(7, 0, 45) + timedelta(hours=9))  # 09:45, past the quiet hours
    assert decision.reach_out and decision.followup is not None and decision.followup.topic == "plumber"


def test_growing_gap_between_unanswered_check_ins(services: Services) -> None:
    for n, thing in enumerate(["dentist", "hairdresser", "mechanic"]):
        note(services, f"The {thing} is coming tomorrow at 9am", at(4, 9 + n))
    companion = services.companion()
    assert companion.wake(at(5, 11)).reach_out
    decision = companion.wake(at(5, 13))
    assert (decision.rule, decision.retry_at) == ("min_gap", at(5, 14))
    assert companion.wake(at(5, 14)).reach_out
    assert companion.wake(at(5, 19)).rule == "min_gap"  # two unanswered: six hours
    assert companion.wake(at(5, 20)).reach_out


def test_at_most_one_unanswered_check_in_per_topic(services: Services) -> None:
    note(services, "Dentist tomorrow at 9am", at(4, 9))
    note(services, "Dentist again on Wednesday 10am, for the filling", at(4, 10))
    companion = services.companion()
    assert companion.wake(at(5, 11)).reach_out
    decision = companion.wake(at(6, 15))
    assert (decision.reach_out, decision.rule) == (False, "topic")
    say(services, "The dentist was fine", at(6, 16))
    assert companion.wake(at(6, 19, 30)).reach_out


def test_a_secret_follow_up_is_never_sent_and_never_shown_to_the_model(services: Services,
                                                                         model: CompanionModel) -> None:
    note(services, "Appointment at the fertility clinic tomorrow at 10am", MONDAY_18, Sensitivity.SECRET)
    companion = services.companion()
    for hour in range(8, 24):
        assert not companion.wake(at(5, hour)).reach_out
    (followup,) = companion.followups.all()
    assert (followup.status, followup.sensitivity) == ("secret", Sensitivity.SECRET)
    assert companion.inbox.all() == [] and model.calls["decision"] == 0
    assert not any("fertility" in prompt for prompt in model.prompts)
    assert "fertility" not in json.dumps(companion.memory.current().doc)


def test_a_message_that_would_name_a_secret_is_not_sent(services: Services, model: CompanionModel) -> None:
    note(services, "My fertility treatment is a secret", at(4, 9), Sensitivity.SECRET)
    note(services, "Doctor tomorrow at 9am", at(4, 10))
    model.message = "How was the doctor, any news on the fertility treatment?"
    decision = services.companion().wake(at(5, 12))
    assert (decision.reach_out, decision.rule) == (False, "secret")
    assert services.companion().inbox.all() == []


def test_everyday_words_of_a_secret_do_not_silence_other_check_ins(services: Services,
                                                                    model: CompanionModel) -> None:
    note(services, "Appointment at the fertility clinic tomorrow at 10am", at(4, 9), Sensitivity.SECRET)
    note(services, "Hospital tomorrow morning", at(4, 10))
    model.message = "Hi Maya, how did the hospital appointment go?"
    decision = services.companion().wake(at(5, 12))
    assert decision.reach_out and decision.followup is not None and decision.followup.topic == "hospital"


def test_the_owner_can_mute_a_topic_or_everything(services: Services) -> None:
    note(services, "Dentist tomorrow at 9am", at(4, 9))
    note(services, "Job interview tomorrow at 10am", at(4, 10))
    companion = services.companion()
    companion.mutes.mute("dentist", MONDAY_18)
    decision = companion.wake(at(5, 13))
    assert decision.reach_out and decision.followup is not None and decision.followup.topic == "job interview"
    companion.mutes.mute("", MONDAY_18)
    note(services, "Haircut tomorrow at 9am", at(5, 14))
    assert companion.wake(at(6, 18)).rule == "muted"
    companion.mutes.unmute("")
    assert companion.wake(at(6, 18)).rule != "muted"


def test_the_model_may_decline_and_is_not_asked_again(services: Services, model: CompanionModel) -> None:
    note(services, "Dentist tomorrow at 9am", at(4, 9))
    model.reach_out = False
    companion = services.companion()
    assert companion.wake(at(5, 12)).rule == "model"
    assert companion.wake(at(5, 13)).rule == "nothing_due"
    assert model.calls["decision"] == 1 and companion.followups.all()[0].status == "declined"


def test_follow_ups_expire_and_forgotten_records_drop_theirs(services: Services) -> None:
    note(services, "Dentist tomorrow at 9am", at(4, 9))
    note(services, "Vet tomorrow at 10am", at(4, 10))
    companion = services.companion()
    companion.observe(at(4, 11), refresh=False)
    vet = next(f for f in companion.followups.all() if f.topic == "vet")
    services.store.forget(vet.record_id)
    assert companion.wake(at(8, 12)).rule == "nothing_due"
    assert sorted(f.status for f in companion.followups.all()) == ["dropped", "expired"]


# -- working memory ------------------------------------------------------------------------------

def test_working_memory_is_updated_after_conversations_and_versioned(services: Services,
                                                                      model: CompanionModel) -> None:
    say(services, "I'm going to the hospital tomorrow morning", MONDAY_18)
    companion = services.companion()
    observed = companion.observe(at(4, 18, 5))
    assert observed.memory is not None and model.calls["memory"] == 1
    doc = companion.memory.current().doc
    assert "hospital" in doc["user"]["doing"]
    assert doc["user"]["plans"] == [{"what": "I'm going to the hospital", "when": "Tuesday 5 May, morning"}]
    companion.observe(at(4, 18, 10))
    assert model.calls["memory"] == 1  # nothing new: no model call
    companion.wake(at(5, 12))
    me = companion.memory.current().doc["self"]
    assert me["last_said"] and me["user_answered"] is False and me["unanswered_in_row"] == 1
    assert [v.author for v in reversed(companion.memory.history())] == ["model", "system"]


def test_a_failed_working_memory_update_is_retried_later(services: Services, model: CompanionModel) -> None:
    say(services, "Busy week at work", MONDAY_18)
    broken = CompanionModel()
    broken.complete_json = lambda *a, **k: "not json"  # type: ignore[method-assign]
    failing = Companion(services.store, lambda: broken, CompanionConfig(), services.clock)
    assert failing.observe(at(4, 19)).error
    assert services.companion().observe(at(4, 20)).memory is not None


# -- the CLI -------------------------------------------------------------------------------------

def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    from secondme.cli import main

    code = main(list(args))
    return code, capsys.readouterr().out


def test_cli_checkin_inbox_working_memory_and_mute(services: Services, model: CompanionModel,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("secondme.cli._services", lambda: services)
    services.close = lambda: None  # type: ignore[method-assign]  # one Services for every command
    note(services, "Dentist tomorrow at 9am", MONDAY_18)
    code, out = run_cli(capsys, "checkin", "--json", "--now", "2026-05-05T10:00:00+02:00")
    decision = json.loads(out)
    assert code == 0 and decision["reach_out"] is False and decision["rule"] == "nothing_due"
    assert decision["retry_at"] == "2026-05-05T11:00:00+02:00"
    code, out = run_cli(capsys, "checkin", "--json", "--now", "2026-05-05T11:30:00+02:00")
    decision = json.loads(out)
    assert decision["reach_out"] is True and "Dentist" in decision["message"]
    assert decision["followup"]["topic"] == "dentist"
    code, out = run_cli(capsys, "inbox", "--json")
    (listed,) = json.loads(out)
    assert listed["message"] == decision["message"] and listed["answered"] is False
    code, out = run_cli(capsys, "working-memory", "set", "user.mood", "calm")
    code, out = run_cli(capsys, "working-memory", "--json")
    shown = json.loads(out)
    assert shown["author"] == "user" and shown["memory"]["user"]["mood"] == "calm"
    code, out = run_cli(capsys, "working-memory", "history", "--json")
    assert [v["author"] for v in json.loads(out)][0] == "user"
    assert run_cli(capsys, "mute")[0] == 0
    code, out = run_cli(capsys, "followups", "--json", "--all")
    assert [f["status"] for f in json.loads(out)] == ["sent"]


def test_cli_chat_shows_the_check_in_and_the_reply_continues_it(services: Services,
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("secondme.cli._services", lambda: services)
    say(services, "I'm going to the hospital tomorrow morning", MONDAY_18)
    checkin = services.companion().wake(at(5, 12)).checkin
    assert checkin is not None
    services.clock.set(at(5, 13))
    replies = iter(["It went well", ""])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(replies))
    code, out = run_cli(capsys, "chat")
    assert code == 0 and checkin.message in out
    assert services.companion().inbox.all()[0].answered


# -- the scheduler across processes --------------------------------------------------------------

def test_jobs_survive_a_restart_and_missed_ones_run_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    script = [sys.executable, "-m", "tests.companion_fake"]
    wake_s, due_s = 4.0, 2.0
    planned = subprocess.run([*script, "plan", str(data), str(wake_s), str(due_s)], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=180)
    assert planned.returncode == -9, planned.stderr  # killed, no clean shutdown
    jobs = {job: datetime.fromisoformat(when) for job, when in json.loads(planned.stdout).items()}
    assert {"wake", "observe"} <= set(jobs) and sum(j.startswith("followup:") for j in jobs) == 2
    latest = max(jobs[j] for j in jobs if j != "observe")
    time.sleep(max(0.0, (latest - datetime.now(latest.tzinfo)).total_seconds()) + 2 * wake_s)  # the wake-up missed 2+
    ran = subprocess.run([*script, "run", str(data), str(wake_s), "1.5"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=180)
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout)
    assert sorted(report["ran"]) == ["followup", "followup", "wake"]  # missed wake-ups coalesced into one
    assert len(report["inbox"]) == 1 and report["calls"]["decision"] == 1  # one check-in, then the gap rule
    assert sorted(report["statuses"]) == ["pending", "sent"]
    assert report["jobs"] == ["observe", "retry", "wake"]  # date jobs done; periodic ones kept; a retry after the gap


# -- small pieces --------------------------------------------------------------------------------

def test_messages_keep_one_question_that_names_the_event() -> None:
    from secondme.companion.wakeup import names, tidy_message

    said = "Hi Maya, how was your day? How did the hospital visit go? I hope you rest well."
    assert tidy_message(said, "hospital") == "Hi Maya, how was your day? How did the hospital visit go?"
    assert tidy_message("How did it go? See you tomorrow.", "dentist") == "How did it go?"
    assert names("How were the dentists?", "dentist") and not names("How was your day?", "dentist")


def test_quiet_hours_across_midnight_and_the_clock() -> None:
    from secondme.companion.policy import Rules

    rules = Rules()
    assert rules.quiet_until(at(4, 23)) == at(5, 8) and rules.quiet_until(at(5, 3)) == at(5, 8)
    assert rules.quiet_until(at(5, 8)) is None and rules.quiet_until(at(5, 21, 59)) is None
    clock = Clock.from_env("2026-03-28T12:00", "Europe/Stockholm")  # the day before summer time starts
    assert clock.now() == datetime(2026, 3, 28, 12, tzinfo=TZ)
    later = datetime(2026, 3, 29, 12, tzinfo=TZ)  # 23 real hours later
    assert clock.to_real(later) - clock.to_real(clock.now()) == timedelta(hours=23)


def test_the_morning_digest_is_opt_in_once_a_day_and_leaves_secrets_out(services: Services,
                                                                       model: CompanionModel) -> None:
    services.store.add([NewRecord("Lunch with Ana about the Heron project", at(4, 12), "markdown", "d1", "note",
                                  "/notes/monday.md", place="Pasta Bar"),
                        NewRecord("My fertility treatment started", at(4, 15), "markdown", "d2", "note",
                                  "/notes/secret.md", sensitivity=Sensitivity.SECRET)])
    companion = services.companion()
    assert companion.send_digest(at(5, 9)) is None  # not asked for: companion.digest is off
    opted = Companion(services.store, lambda: model, CompanionConfig(digest=True, digest_time="08:30"),
                      services.clock)
    assert opted.send_digest(at(5, 8)) is None  # before digest_time
    digest = opted.send_digest(at(5, 8, 45))
    assert digest is not None and digest.kind == "digest"
    assert "Heron" in digest.message and "Pasta Bar" in digest.message and "fertility" not in digest.message
    assert opted.send_digest(at(5, 11)) is None  # once a day
    assert [c.kind for c in opted.inbox.all()] == ["digest"] and opted.inbox.unanswered() == []


def test_secondme_daemon_starts_keeps_its_jobs_and_stops_on_sigterm(secondme_home: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SECONDME_NOW": "2026-05-04T18:00"}
    daemon = subprocess.Popen([sys.executable, "-m", "secondme", "daemon"], cwd=REPO, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert daemon.stdout is not None
        lines = []
        while not any("companion running" in line for line in lines):
            line = daemon.stdout.readline()
            assert line, daemon.stderr.read() if daemon.stderr else "daemon ended"
            lines.append(line)
        daemon.send_signal(15)
        out, err = daemon.communicate(timeout=60)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert daemon.returncode == 0, err
    assert "Stopped." in out
    text = "".join(lines)
    assert "wake: next" in text and "observe: next" in text
    import sqlite3

    with sqlite3.connect(secondme_home / "scheduler.db") as db:
        assert {i for (i,) in db.execute("SELECT id FROM apscheduler_jobs")} == {"wake", "observe"}
