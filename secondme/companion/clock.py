"""The app's "now": the real time in the user's time zone, or a time set for demos and tests.

`SECONDME_NOW` (ISO 8601) fixes it for one command; a daemon started with it runs on from that
time. The scheduler runs on real time, so a time the app names is turned back into real time
(`to_real`) before a job is put at it.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from secondme.errors import ConfigError


def zone(name: str = "") -> tzinfo:
    """The named IANA time zone, or the system's own when the name is empty."""
    if not name:
        local = datetime.now().astimezone().tzinfo
        assert local is not None
        return local
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ConfigError(f"companion.timezone: unknown time zone {name!r}") from error


def parse_moment(text: str, tz: tzinfo) -> datetime:
    """An ISO 8601 time ("2026-05-04T18:00", "2026-05-04 18:00+02:00"); without an offset it is in `tz`."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise ConfigError(f"not an ISO 8601 time: {text!r} (e.g. 2026-05-04T18:00)") from error
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)


def parse_clock_time(text: str, key: str) -> time:
    """A local time of day "HH:MM" from the config."""
    try:
        hours, minutes = (int(part) for part in text.strip().split(":"))
        return time(hours, minutes)
    except ValueError as error:
        raise ConfigError(f"{key}: {text!r} is not a time of day HH:MM") from error


class Clock:
    """Tells the time in the user's time zone. Fixed, running from a set time, or the real time."""

    def __init__(self, tz: tzinfo | None = None, start: datetime | None = None, running: bool = False) -> None:
        self.tz = tz or zone()
        self._start = start.astimezone(UTC) if start else None  # arithmetic in UTC: DST-proof
        self._real_start = datetime.now(UTC)
        self.running = running or start is None

    @classmethod
    def from_env(cls, value: str, timezone: str = "", running: bool = False) -> Clock:
        """The clock SECONDME_NOW (`value`, may be empty) asks for."""
        tz = zone(timezone)
        return cls(tz, parse_moment(value, tz) if value.strip() else None, running)

    def at(self, moment: datetime) -> Clock:
        """A clock fixed at `moment`, in this clock's zone."""
        return Clock(self.tz, moment)

    def set(self, moment: datetime) -> None:
        """Stop the clock at `moment` (tests and demos move time this way)."""
        self._start, self._real_start, self.running = moment.astimezone(UTC), datetime.now(UTC), False

    @property
    def offset(self) -> timedelta:
        """How far the app's time is ahead of the real time."""
        return self._start - self._real_start if self._start else timedelta(0)

    def now(self) -> datetime:
        if self._start is None:
            return datetime.now(self.tz)
        if not self.running:
            return self._start.astimezone(self.tz)
        return (self._start + (datetime.now(UTC) - self._real_start)).astimezone(self.tz)

    def to_real(self, moment: datetime) -> datetime:
        """The real time at which the app's clock will show `moment` (for the scheduler)."""
        return (moment.astimezone(UTC) - self.offset).astimezone(self.tz)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)
