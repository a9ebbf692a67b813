"""What ``deskbridge status`` reports: last runs, cursor lag, row counts and backoff per connection."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from deskbridge.sdk.canonical import SYNCED_ENTITIES
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
    last_worker: str | None = None  # host:pid of the process that ran the last run

    @property
    def lag_s(self) -> float | None:
        if self.last_success is None:
            return None
        return (datetime.now(UTC) - self.last_success).total_seconds()


def connection_status(con: duckdb.DuckDBPyConnection) -> list[ConnectionStatus]:
    return [status_of(con, name) for name in synced_connections(con)]


def synced_connections(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every connection that has run at least once, by name."""
    return [
        r[0] for r in con.execute("SELECT DISTINCT connection FROM sync_runs ORDER BY 1").fetchall()
    ]


def cursor_connections(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every connection that holds a cursor, by name."""
    return [
        r[0]
        for r in con.execute("SELECT DISTINCT connection FROM sync_state ORDER BY 1").fetchall()
    ]


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
        failures += status == "failed"  # an interrupted run (Ctrl-C, shutdown) is no failure
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
        _worker(con, last[4]),
    )


def _worker(con: duckdb.DuckDBPyConnection, run_id: int | None) -> str | None:
    """Who ran ``run_id``; None for a snapshot older than the column."""
    if run_id is None:
        return None
    try:
        row = con.execute("SELECT worker FROM sync_runs WHERE run_id = ?", [run_id]).fetchone()
    except duckdb.BinderException:
        return None
    return row[0] if row else None


@dataclass(frozen=True)
class RunRecord:
    """One sync run as ``sync_runs`` holds it, with the figures an operator reads off it."""

    run_id: int
    connection: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    full_refresh: bool
    counts: dict[str, int]
    requests: int
    reconcile_requests: int
    error: str | None

    @property
    def duration_s(self) -> float | None:
        return (self.ended_at - self.started_at).total_seconds() if self.ended_at else None

    def per_entity(self, kind: str) -> dict[str, int]:
        """Counts like ``tickets.changed`` for one ``kind`` (read, changed, deleted), by entity."""
        return {
            key.rsplit(".", 1)[0]: n for key, n in self.counts.items() if key.endswith(f".{kind}")
        }

    @property
    def written(self) -> int:
        return sum(self.per_entity("changed").values())

    @property
    def deleted(self) -> int:
        return sum(self.per_entity("deleted").values())


_RUN_COLUMNS = (
    "run_id, connection, status, started_at, ended_at, full_refresh, counts, requests, "
    "reconcile_requests, error"
)


def _record(row: tuple[Any, ...]) -> RunRecord:
    run_id, connection, status, started, ended, full, counts, requests, reconcile, error = row
    parsed = json.loads(counts) if isinstance(counts, str) else counts
    return RunRecord(
        run_id, connection, status, started, ended, full, parsed or {}, requests, reconcile, error
    )


def recent_runs(
    con: duckdb.DuckDBPyConnection, limit: int = 10, connection: str | None = None
) -> list[RunRecord]:
    """The latest ``limit`` runs, newest first, of one connection or of all."""
    rows = con.execute(
        f"SELECT {_RUN_COLUMNS} FROM sync_runs WHERE ? IS NULL OR connection = ? "
        "ORDER BY run_id DESC LIMIT ?",
        [connection, connection, limit],
    ).fetchall()
    return [_record(row) for row in rows]


def run_record(con: duckdb.DuckDBPyConnection, run_id: int) -> RunRecord | None:
    """One run by its id (None if there is no such run)."""
    row = con.execute(f"SELECT {_RUN_COLUMNS} FROM sync_runs WHERE run_id = ?", [run_id]).fetchone()
    return _record(row) if row else None


def cursors(
    con: duckdb.DuckDBPyConnection, connection: str | None = None
) -> list[tuple[str, str, Any, datetime]]:
    """(connection, stream, cursor state, when it last moved) for every cursor, or one connection's."""
    return con.execute(
        "SELECT connection, stream, state, updated_at FROM sync_state "
        "WHERE ? IS NULL OR connection = ? ORDER BY 1, 2",
        [connection, connection],
    ).fetchall()


def held_summary(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int, str | None]]:
    """(connection, entity, how many, one reason) for the deletions held for an operator."""
    return con.execute(
        "SELECT connection, entity, count(*), min(reason) FROM suspected_deletions "
        "WHERE state = 'held' GROUP BY ALL ORDER BY 1, 2"
    ).fetchall()


def last_pushes(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    """Per link, its last real push: (link, started, status, counts JSON, open failures, skips,
    error of a failed push)."""
    return con.execute(
        """SELECT r.link, r.started_at, r.status, r.counts,
                  (SELECT count(*) FROM push_failures f
                   WHERE f.link = r.link AND f.resolved_at IS NULL),
                  (SELECT count(*) FROM push_skips s WHERE s.link = r.link), r.error
           FROM push_runs r
           WHERE r.push_id IN (SELECT max(push_id) FROM push_runs WHERE NOT dry_run GROUP BY link)
           ORDER BY 1"""
    ).fetchall()


def open_failures(con: duckdb.DuckDBPyConnection, limit: int = 20) -> list[tuple[Any, ...]]:
    """The latest writes a target refused and no later push put through."""
    return con.execute(
        "SELECT link, entity, target, source_id, attempts, reason FROM push_failures "
        "WHERE resolved_at IS NULL ORDER BY last_failed_at DESC LIMIT ?",
        [limit],
    ).fetchall()
