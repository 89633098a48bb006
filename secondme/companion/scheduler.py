"""APScheduler wiring: the periodic wake-up, a job at each follow-up, the digest, all kept in SQLite.

Jobs live in `<data dir>/scheduler.db` (APScheduler 3.11's SQLAlchemy job store), so they survive
a restart; jobs missed while the app was closed run once on the next start (coalesced, with no
misfire limit), not one by one. Jobs run one at a time on the scheduler's single worker thread.
A job names a module-level function and the data dir; the scheduler running for that data dir
in this process does the work.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from secondme.companion.clock import parse_clock_time
from secondme.companion.followups import FollowUp
from secondme.companion.wakeup import Companion, Decision

log = logging.getLogger(__name__)
JOBS_FILE = "scheduler.db"
OBSERVE_EVERY = timedelta(minutes=5)
_running: dict[str, CompanionScheduler] = {}
_running_lock = threading.Lock()


def run_job(key: str, kind: str, arg: str = "") -> None:
    """What every stored job calls: hand the work to this process's scheduler for that data dir."""
    with _running_lock:
        scheduler = _running.get(key)
    if scheduler is None:
        log.warning("no companion scheduler for %s: job %s skipped", key, kind)
        return
    scheduler.run(kind, arg)


class CompanionScheduler:
    """Start it once per process (`start()`), `shutdown()` it on exit."""

    def __init__(self, companion: Companion, data_dir: Path, wake_every: timedelta | None = None,
                 observe_every: timedelta = OBSERVE_EVERY) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        from apscheduler.schedulers.background import BackgroundScheduler

        self.companion = companion
        self.key = str(data_dir.resolve())
        self.path = data_dir / JOBS_FILE
        self.wake_every = wake_every or timedelta(minutes=max(1, companion.config.wake_minutes))
        self.observe_every = observe_every
        self.on_decision: list[Callable[[Decision], None]] = []
        self.ran: list[str] = []  # kinds of the jobs run, in order (for status and tests)
        self._scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{self.path}")},
            executors={"default": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
            timezone=companion.clock.tz,
        )

    # -- jobs ------------------------------------------------------------------------------------

    def _args(self, kind: str, arg: str = "") -> list[str]:
        return [self.key, kind, arg]

    def _keep(self, job_id: str, trigger: str, fields: dict[str, Any], same: Callable[[Any], bool]) -> None:
        """Add a periodic job, or keep the stored one (and its missed run) when its trigger is unchanged."""
        job = self._scheduler.get_job(job_id)
        if job is not None and same(job.trigger) and list(job.args) == self._args(job_id):
            return
        self._scheduler.add_job(run_job, trigger, id=job_id, args=self._args(job_id), replace_existing=True, **fields)

    def _ensure_periodic(self) -> None:
        self._keep("wake", "interval", {"seconds": self.wake_every.total_seconds()},
                   lambda t: getattr(t, "interval", None) == self.wake_every)
        self._keep("observe", "interval", {"seconds": self.observe_every.total_seconds()},
                   lambda t: getattr(t, "interval", None) == self.observe_every)
        config = self.companion.config
        if config.digest:
            at = parse_clock_time(config.digest_time, "companion.digest_time")
            self._keep("digest", "cron", {"hour": at.hour, "minute": at.minute},
                       lambda t: str(t) == f"cron[hour='{at.hour}', minute='{at.minute}']")
        elif self._scheduler.get_job("digest"):
            self._scheduler.remove_job("digest")

    def schedule_followup(self, followup: FollowUp) -> None:
        """A job at the follow-up's due time (in real time) that wakes the companion up."""
        if followup.status != "pending":
            return
        job_id = f"followup:{followup.id}"
        if self._scheduler.get_job(job_id) is None:
            self._scheduler.add_job(run_job, "date", id=job_id, args=self._args("followup", followup.id),
                                    run_date=self.companion.clock.to_real(followup.due_at), replace_existing=True)

    def schedule_retry(self, moment: datetime) -> None:
        self._scheduler.add_job(run_job, "date", id="retry", args=self._args("retry"),
                                run_date=self.companion.clock.to_real(moment), replace_existing=True)

    def jobs(self) -> list[tuple[str, datetime | None]]:
        """(job id, next run time in real time) of every stored job."""
        return [(job.id, job.next_run_time) for job in self._scheduler.get_jobs()]

    # -- running ---------------------------------------------------------------------------------

    def start(self, paused: bool = False) -> None:
        """Load the stored jobs, add what is missing (periodic jobs, one per pending follow-up), run.
        Jobs whose time passed while no scheduler ran fire once now."""
        with _running_lock:
            _running[self.key] = self
        self._scheduler.start(paused=True)
        self._ensure_periodic()
        self.companion.on_followup.append(self.schedule_followup)
        self.companion.observe(refresh=False)  # follow-ups said while no scheduler ran (no model call)
        for followup in self.companion.followups.pending():
            self.schedule_followup(followup)
        if not paused:
            self._scheduler.resume()

    def pause(self) -> None:
        """Hold the jobs (e.g. while the owner chats); missed runs happen once on resume()."""
        self._scheduler.pause()

    def resume(self) -> None:
        self._scheduler.resume()

    def run(self, kind: str, arg: str = "") -> Decision | None:
        """Do one job's work now (the scheduler calls this; so can a test)."""
        self.ran.append(kind)
        try:
            if kind == "observe":
                self.companion.observe()
                return None
            if kind in ("digest", "wake"):
                self.companion.send_digest()  # also catches a digest missed while the app was closed
                if kind == "digest":
                    return None
            decision = self.companion.wake()
        except Exception:  # noqa: BLE001 - a failing job must not stop the scheduler
            log.exception("companion job %s failed", kind)
            return None
        if decision.retry_at is not None and decision.rule in ("quiet_hours", "min_gap"):
            self.schedule_retry(decision.retry_at)
        for callback in self.on_decision:
            callback(decision)
        return decision

    def shutdown(self, wait: bool = True) -> None:
        if self.schedule_followup in self.companion.on_followup:
            self.companion.on_followup.remove(self.schedule_followup)
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
        with _running_lock:
            if _running.get(self.key) is self:
                del _running[self.key]
