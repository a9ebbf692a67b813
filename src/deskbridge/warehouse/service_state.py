"""What ``deskbridge serve`` remembers per connection across restarts: next run and backoff.

After a failed run the service waits ``Backoff.delay(failures)`` before the next attempt,
doubling with each failure in a row up to a cap. The wait is stored in ``service_state`` so a
restart keeps backing off and ``deskbridge status`` can show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
from sqlmodel import Field, SQLModel


class ServiceState(SQLModel, table=True):
    """Per connection, what `deskbridge serve` plans: the next run, and backoff after failures."""

    __tablename__ = "service_state"
    connection: str = Field(primary_key=True, description="Connection name.")
    next_run_at: datetime | None = Field(
        default=None, description="When `deskbridge serve` plans the next run (UTC)."
    )
    backoff_until: datetime | None = Field(
        default=None,
        description="After failures in a row: no run before this time (UTC); null when healthy.",
    )
    updated_at: datetime = Field(description="When the service last wrote this row (UTC).")


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff after failed runs: ``base_s``, doubled per failure, at most ``max_s``."""

    base_s: float = 60.0
    max_s: float = 3600.0

    def delay(self, failures: int) -> float:
        if failures <= 0:
            return 0.0
        return min(self.base_s * 2 ** min(failures - 1, 40), self.max_s)

    def until(self, failures: int, ended_at: datetime | None) -> datetime | None:
        """No run before this, after ``failures`` in a row, the last ending at ``ended_at``."""
        if failures <= 0 or ended_at is None:
            return None
        return ended_at + timedelta(seconds=self.delay(failures))


def save(
    con: duckdb.DuckDBPyConnection,
    connection: str,
    next_run_at: datetime | None,
    backoff_until: datetime | None,
    now: datetime,
) -> None:
    con.execute(
        "INSERT OR REPLACE INTO service_state VALUES (?, ?, ?, ?)",
        [connection, next_run_at, backoff_until, now],
    )


def load(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[datetime | None, datetime | None]]:
    """``{connection: (next_run_at, backoff_until)}``; empty for a warehouse without the table."""
    try:
        rows = con.execute(
            "SELECT connection, next_run_at, backoff_until FROM service_state"
        ).fetchall()
    except duckdb.CatalogException:
        return {}
    return {name: (next_run, backoff) for name, next_run, backoff in rows}
