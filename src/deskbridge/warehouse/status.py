"""What ``deskbridge status`` reports: last runs, cursor lag, row counts and backoff per connection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from deskbridge.sdk.models import SYNCED_ENTITIES
from deskbridge.warehouse import service_state


@dataclass(frozen=True)
class ConnectionStatus:
    connection: str
    last_status: str | None
    last_started: datetime | None
    last_success: datetime | None
    consecutive_failures: int
    last_error: str | None
    counts: dict[str, int]
    last_run_id: int | None = None
    last_ended: datetime | None = None
    next_run_at: datetime | None = None  # as planned by ``deskbridge serve``
    backoff_until: datetime | None = None

    @property
    def lag_s(self) -> float | None:
        if self.last_success is None:
            return None
        return (datetime.now(UTC) - self.last_success).total_seconds()


def connection_status(con: duckdb.DuckDBPyConnection) -> list[ConnectionStatus]:
    names = [
        r[0] for r in con.execute("SELECT DISTINCT connection FROM sync_runs ORDER BY 1").fetchall()
    ]
    return [status_of(con, name) for name in names]


def status_of(con: duckdb.DuckDBPyConnection, name: str) -> ConnectionStatus:
    """One connection's status; all empty for a connection that never ran."""
    runs = con.execute(
        "SELECT status, started_at, ended_at, error, run_id FROM sync_runs WHERE connection = ? "
        "ORDER BY run_id DESC",
        [name],
    ).fetchall()
    failures = 0
    for status, *_ in runs:
        if status == "success":
            break
        failures += status in ("failed", "interrupted")
    success = next((r[2] for r in runs if r[0] == "success"), None)
    counts = {
        entity: con.execute(
            f"SELECT count(*) FROM {entity} WHERE connection = ? AND deleted_at IS NULL", [name]
        ).fetchone()[0]  # type: ignore[index]
        for entity in SYNCED_ENTITIES
    }
    last: Any = runs[0] if runs else (None, None, None, None, None)
    next_run, backoff = service_state.load(con).get(name, (None, None))
    return ConnectionStatus(
        name,
        last[0],
        last[1],
        success,
        failures,
        last[3],
        counts,
        last[4],
        last[2],
        next_run,
        backoff,
    )


def recent_runs(con: duckdb.DuckDBPyConnection, limit: int = 10) -> list[tuple[Any, ...]]:
    return con.execute(
        "SELECT run_id, connection, status, started_at, ended_at, requests, reconcile_requests, counts, error "
        "FROM sync_runs ORDER BY run_id DESC LIMIT ?",
        [limit],
    ).fetchall()
