"""``deskbridge status``: last runs, cursors, held deletions and pushes, as rich tables."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import duckdb
from rich.table import Table

from deskbridge.cli import common
from deskbridge.cli.common import ConfigOpt, DbOpt, console
from deskbridge.sdk.errors import WarehouseLocked
from deskbridge.warehouse import status as report
from deskbridge.warehouse.reports import read_only
from deskbridge.warehouse.status import ConnectionStatus
from deskbridge.warehouse.store import Warehouse


def status(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Last runs, cursor lag, row counts and backoff per connection."""
    from deskbridge.warehouse.snapshot import snapshot_path

    settings = common.settings(config)
    path = common.require_warehouse(common.db_path(settings, db))
    try:
        with Warehouse(path) as wh:
            tables = status_tables(wh.con)
    except WarehouseLocked:
        snap = snapshot_path(path)
        if not snap.exists():
            raise
        console.print(f"[yellow]{path} is being written (a run is in progress); showing {snap}[/]")
        with read_only(snap) as con:
            tables = status_tables(con)
    for table in tables:
        console.print(table)


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit} ago"
    return f"{seconds:.0f}s ago"


def _next(st: ConnectionStatus) -> str:
    if st.backoff_until is not None and st.backoff_until > datetime.now(UTC):
        return f"backing off until {st.backoff_until:%Y-%m-%d %H:%M:%S}"
    return f"{st.next_run_at:%Y-%m-%d %H:%M:%S}" if st.next_run_at else "-"


def status_tables(con: duckdb.DuckDBPyConnection) -> list[Table]:
    """Every table ``deskbridge status`` prints, in order."""
    return [
        _connections_table(con),
        _cursors_table(con),
        _runs_table(con),
        *held_table(con),
        *push_tables(con),
    ]


def _connections_table(con: duckdb.DuckDBPyConnection) -> Table:
    conns = Table(
        "connection",
        "last run",
        "last success",
        "failures in a row",
        "next run (serve)",
        "tickets",
        "notes",
        "time entries",
        "people",
        "attachments",
        title="Connections",
    )
    for st in report.connection_status(con):
        c = st.counts
        conns.add_row(
            st.connection,
            st.last_status or "-",
            _ago(st.lag_s),
            str(st.consecutive_failures),
            _next(st),
            *(str(c[e]) for e in ("tickets", "notes", "time_entries", "people", "attachments")),
        )
    return conns


def _runs_table(con: duckdb.DuckDBPyConnection) -> Table:
    runs = Table(
        "run",
        "connection",
        "status",
        "started",
        "seconds",
        "requests",
        "reconcile",
        "error",
        title="Recent runs",
    )
    for run_id, name, outcome, started, ended, req, rec, _counts, error in report.recent_runs(con):
        secs = f"{(ended - started).total_seconds():.1f}" if ended else "-"
        runs.add_row(
            str(run_id),
            name,
            outcome,
            f"{started:%Y-%m-%d %H:%M:%S}",
            secs,
            str(req),
            str(rec),
            (error or "")[:80],
        )
    return runs


def _cursors_table(con: duckdb.DuckDBPyConnection) -> Table:
    cursors = Table("connection", "stream", "cursor", "moved", title="Cursors")
    for name, stream, state, moved in report.cursors(con):
        cursors.add_row(name, stream, _short(state), f"{moved:%Y-%m-%d %H:%M:%S}")
    return cursors


def held_table(con: duckdb.DuckDBPyConnection) -> list[Table]:
    """Deletions held for an operator (none: no table)."""
    rows = report.held_summary(con)
    if not rows:
        return []
    held = Table(
        "connection", "entity", "held", "why", "what to do", title="Deletions held (not applied)"
    )
    for name, entity, n, reason in rows:
        held.add_row(
            name,
            entity,
            str(n),
            reason or "",
            f"deskbridge deletes list {name}; then confirm or reject",
        )
    return [held]


def push_tables(con: duckdb.DuckDBPyConnection) -> list[Table]:
    """Last push per link, and the rows targets refused (retried every run until they go through)."""
    from deskbridge.push.executor import OPS

    pushes = Table(
        "link",
        "last push",
        "status",
        "writes",
        "open failures",
        "skipped (all time)",
        title="Links",
    )
    for link, started, outcome, counts, failing, skipped in report.last_pushes(con):
        done = sum(
            v
            for k, v in json.loads(counts or "{}").items()
            if k.endswith(".done") and k.split(".")[0] in OPS
        )
        pushes.add_row(
            link, f"{started:%Y-%m-%d %H:%M:%S}", outcome, str(done), str(failing), str(skipped)
        )
    failures = Table(
        "link", "entity", "target", "source id", "attempts", "reason", title="Refused writes"
    )
    for row in report.open_failures(con):
        failures.add_row(*(str(v) for v in row[:5]), str(row[5])[:90])
    return [pushes, failures] if pushes.row_count else []


def _short(state: Any) -> str:
    text = str(state)
    return text if len(text) < 70 else text[:67] + "..."
