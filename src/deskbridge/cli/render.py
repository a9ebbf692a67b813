"""Rich tables for the console."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import duckdb
from rich.table import Table

from deskbridge.warehouse.status import ConnectionStatus, connection_status, recent_runs


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
    for st in connection_status(con):
        c = st.counts
        conns.add_row(
            st.connection,
            st.last_status or "-",
            _ago(st.lag_s),
            str(st.consecutive_failures),
            _next(st),
            *(str(c[e]) for e in ("tickets", "notes", "time_entries", "people", "attachments")),
        )
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
    for run_id, name, status, started, ended, req, rec, _counts, error in recent_runs(con):
        secs = f"{(ended - started).total_seconds():.1f}" if ended else "-"
        runs.add_row(
            str(run_id),
            name,
            status,
            f"{started:%Y-%m-%d %H:%M:%S}",
            secs,
            str(req),
            str(rec),
            (error or "")[:80],
        )
    cursors = Table("connection", "stream", "cursor", "moved", title="Cursors")
    for name, stream, state, moved in con.execute(
        "SELECT connection, stream, state, updated_at FROM sync_state ORDER BY 1, 2"
    ).fetchall():
        cursors.add_row(name, stream, _short(state), f"{moved:%Y-%m-%d %H:%M:%S}")
    return [conns, cursors, runs, *held_table(con), *push_tables(con)]


def held_table(con: duckdb.DuckDBPyConnection) -> list[Table]:
    """Deletions held for an operator (none: no table)."""
    rows = con.execute(
        "SELECT connection, entity, count(*), min(reason) FROM suspected_deletions WHERE state = 'held' "
        "GROUP BY ALL ORDER BY 1, 2"
    ).fetchall()
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
    for link, started, status, counts, failing, skipped in con.execute(
        """SELECT r.link, r.started_at, r.status, r.counts,
                  (SELECT count(*) FROM push_failures f WHERE f.link = r.link AND f.resolved_at IS NULL),
                  (SELECT count(*) FROM push_skips s WHERE s.link = r.link)
           FROM push_runs r WHERE r.push_id IN (SELECT max(push_id) FROM push_runs WHERE NOT dry_run GROUP BY link)
           ORDER BY 1"""
    ).fetchall():
        done = sum(
            v
            for k, v in json.loads(counts or "{}").items()
            if k.endswith(".done") and k.split(".")[0] in OPS
        )
        pushes.add_row(
            link, f"{started:%Y-%m-%d %H:%M:%S}", status, str(done), str(failing), str(skipped)
        )
    failures = Table(
        "link", "entity", "target", "source id", "attempts", "reason", title="Refused writes"
    )
    for row in con.execute(
        "SELECT link, entity, target, source_id, attempts, reason FROM push_failures WHERE resolved_at IS NULL "
        "ORDER BY last_failed_at DESC LIMIT 20"
    ).fetchall():
        failures.add_row(*(str(v) for v in row[:5]), str(row[5])[:90])
    return [pushes, failures] if pushes.row_count else []


def _short(state: Any) -> str:
    text = str(state)
    return text if len(text) < 70 else text[:67] + "..."
