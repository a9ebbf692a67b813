"""When a connection runs: triggers from its ``schedule``, and the first run after a start.

Intervals count from the previous run; cron lines are standard five-field crontab lines
evaluated in UTC (day-of-week 0 and 7 are Sunday, as in crontab). Jitter delays each run by a
random amount up to the given duration, so many installations do not call a vendor at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from deskbridge.sdk.connection import ConnectionConfig, Schedule
from deskbridge.sdk.durations import parse_duration
from deskbridge.sdk.errors import ConfigError
from deskbridge.warehouse.status import ConnectionStatus

WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def scheduled(
    connections: dict[str, ConnectionConfig], names: list[str] | None
) -> dict[str, ConnectionConfig]:
    """The chosen connections that have a schedule, each checked; ConfigError names a bad one."""
    chosen = {n: connections[n] for n in names or connections if connections[n].schedule}
    if not chosen:
        raise ConfigError('no connection has a schedule; add e.g. schedule = { every = "15m" }')
    for name, conn in chosen.items():
        try:
            make_trigger(conn.schedule)  # type: ignore[arg-type]
        except ValueError as exc:
            raise ConfigError(f"connections.{name}.schedule: {exc}") from None
    return chosen


def make_trigger(schedule: Schedule, *, jitter: bool = True) -> BaseTrigger:
    """The trigger for ``schedule``; raises ValueError naming what is wrong with a cron line."""
    spread = int(parse_duration(schedule.jitter)) if jitter else 0
    if schedule.every is not None:
        return IntervalTrigger(
            seconds=parse_duration(schedule.every), timezone=UTC, jitter=spread or None
        )
    fields = (schedule.cron or "").split()
    if len(fields) != 5:
        raise ValueError(
            f"cron: expected 5 fields (minute hour day month weekday), got {schedule.cron!r}"
        )
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=crontab_weekdays(weekday),
        timezone=UTC,
        jitter=spread or None,
    )


def crontab_weekdays(field: str) -> str:
    """A crontab day-of-week field in APScheduler's terms (which counts 0 as Monday)."""
    if field == "*" or any(c.isalpha() for c in field):
        return field
    days: set[int] = set()
    for part in field.split(","):
        span, _, step = part.partition("/")
        first, last = (0, 6) if span == "*" else _span(span)
        days.update(d % 7 for d in range(first, last + 1, int(step or 1)))
    return ",".join(WEEKDAYS[d] for d in sorted(days))


def _span(text: str) -> tuple[int, int]:
    first, _, last = text.partition("-")
    lo, hi = int(first), int(last or first)
    if not (0 <= lo <= hi <= 7):
        raise ValueError(f"cron: day of week {text!r} is not within 0-7")
    return lo, hi


def describe(schedule: Schedule) -> str:
    kind = f"every {schedule.every}" if schedule.every else f"cron '{schedule.cron}' (UTC)"
    return kind if parse_duration(schedule.jitter) == 0 else f"{kind}, jitter {schedule.jitter}"


def first_run(schedule: Schedule, last: ConnectionStatus, now: datetime) -> datetime:
    """When to run first after a start: now if slots were missed (once), else the next slot.

    A connection that never ran, or whose last run did not succeed, runs now; backoff after
    failures still applies.
    """
    due = now
    if last.last_status == "success" and last.last_started is not None:
        due = _next_slot(schedule, last.last_started)
    if last.backoff_until is not None:
        due = max(due, last.backoff_until)
    return max(due, now)


def _next_slot(schedule: Schedule, after: datetime) -> datetime:
    if schedule.every is not None:
        return after + timedelta(seconds=parse_duration(schedule.every))
    slot = make_trigger(schedule, jitter=False).get_next_fire_time(
        None, after + timedelta(microseconds=1)
    )
    return slot or after
