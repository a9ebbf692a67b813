"""Planning runs: triggers from config, the first run after a start, and backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deskbridge.sdk.connection import Schedule
from deskbridge.service.backoff import Backoff
from deskbridge.service.scheduling import crontab_weekdays, first_run, make_trigger
from deskbridge.warehouse.status import ConnectionStatus

NOW = datetime(2024, 3, 6, 12, 0, tzinfo=UTC)  # a Wednesday


def last(
    status: str | None, started: datetime | None, backoff: datetime | None = None
) -> ConnectionStatus:
    return ConnectionStatus("desk", status, started, None, 0, None, {}, backoff_until=backoff)


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("*", "*"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("0", "sun"),
        ("7", "sun"),
        ("5-7", "sun,fri,sat"),
        ("*/2", "sun,tue,thu,sat"),
        ("1,3", "mon,wed"),
        ("mon-fri", "mon-fri"),
    ],
)
def test_crontab_weekdays_count_sunday_as_zero(field: str, expected: str) -> None:
    """Crontab weekday numbers (0 and 7 are Sunday) become APScheduler weekday names."""
    assert crontab_weekdays(field) == expected


def test_cron_trigger_fires_on_crontab_weekdays() -> None:
    """'30 6 * * 1-5' fires at 06:30 UTC on weekdays only."""
    trigger = make_trigger(Schedule(cron="30 6 * * 1-5"))
    friday = datetime(2024, 3, 8, 7, 0, tzinfo=UTC)
    assert trigger.get_next_fire_time(None, friday) == datetime(2024, 3, 11, 6, 30, tzinfo=UTC)


def test_bad_cron_line_is_named() -> None:
    """A cron line without five fields fails with a message that says so."""
    with pytest.raises(ValueError, match="expected 5 fields"):
        make_trigger(Schedule(cron="*/5 * *"))


@pytest.mark.parametrize(
    ("schedule", "previous", "expected"),
    [
        (Schedule(every="1h"), last(None, None), NOW),  # never ran
        (
            Schedule(every="1h"),
            last("success", NOW - timedelta(minutes=20)),
            NOW + timedelta(minutes=40),
        ),
        (
            Schedule(every="1h"),
            last("success", NOW - timedelta(hours=7)),
            NOW,
        ),  # 7 slots missed: one run
        (
            Schedule(every="1h"),
            last("interrupted", NOW - timedelta(minutes=5)),
            NOW,
        ),  # resume at once
        (
            Schedule(every="1h"),
            last("failed", NOW - timedelta(minutes=5), NOW + timedelta(minutes=3)),
            NOW + timedelta(minutes=3),
        ),  # still backing off
        (
            Schedule(cron="0 2 * * *"),
            last("success", datetime(2024, 3, 6, 2, 0, 1, tzinfo=UTC)),
            datetime(2024, 3, 7, 2, 0, tzinfo=UTC),
        ),
        (
            Schedule(cron="0 2 * * *"),
            last("success", datetime(2024, 3, 3, 2, 0, 1, tzinfo=UTC)),
            NOW,
        ),
    ],
)
def test_first_run_after_a_start(
    schedule: Schedule, previous: ConnectionStatus, expected: datetime
) -> None:
    """A missed slot runs once at start, however many were missed; otherwise the next slot."""
    assert first_run(schedule, previous, NOW) == expected


def test_backoff_doubles_up_to_its_cap() -> None:
    """1, 2, 4, 8 then capped at 10 seconds; none without failures."""
    backoff = Backoff(base_s=1, max_s=10)
    assert [backoff.delay(n) for n in range(6)] == [0, 1, 2, 4, 8, 10]
    assert backoff.delay(10_000) == 10
    assert backoff.until(2, NOW) == NOW + timedelta(seconds=2)
    assert backoff.until(0, NOW) is None
