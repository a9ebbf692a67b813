"""Read-only views of a warehouse for people: the analysts' sample queries, a read-only opener."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

ANALYST_QUERIES = {
    "Tickets per vendor and canonical status": """
        SELECT connection, status_category, count(*) AS tickets
        FROM tickets WHERE deleted_at IS NULL GROUP BY ALL ORDER BY 1, 2""",
    "Hours per agent per week (top 10)": """
        SELECT t.connection, coalesce(p.name, t.worker_name) AS agent,
               date_trunc('week', t.work_time)::DATE AS week,
               round(sum(t.seconds_worked) / 3600, 1) AS hours,
               round(sum(t.seconds_billable) / 3600, 1) AS billable
        FROM time_entries t LEFT JOIN people p
          ON p.connection = t.connection AND p.source_id = t.worker_id
        WHERE t.deleted_at IS NULL GROUP BY ALL ORDER BY week DESC, hours DESC LIMIT 10""",
    "What the second sync changed": """
        SELECT h.connection, h.source_id AS ticket, h.subject, h.status, h.priority
        FROM ticket_history h
        WHERE h.run_id IN (SELECT max(run_id) FROM sync_runs GROUP BY connection)
        ORDER BY h.seen_at DESC LIMIT 10""",
    "Sync runs": """
        SELECT run_id, connection, status, requests, reconcile_requests,
               round(epoch(ended_at - started_at), 2) AS seconds
        FROM sync_runs ORDER BY run_id""",
}


@dataclass(frozen=True)
class Report:
    """One query's answer, ready to print: a title, the column names and the rows."""

    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def analyst_reports(con: duckdb.DuckDBPyConnection) -> list[Report]:
    """What an analyst asks of a fresh warehouse: tickets by status, hours, changes, runs."""
    return [_report(con, title, sql) for title, sql in ANALYST_QUERIES.items()]


def _report(con: duckdb.DuckDBPyConnection, title: str, sql: str) -> Report:
    cursor = con.execute(sql)
    columns = tuple(d[0] for d in cursor.description or ())
    return Report(title, columns, cursor.fetchall())


def first_ticket_twin(con: duckdb.DuckDBPyConnection, link: str) -> str | None:
    """The lowest side-b id of a ticket the link copied from side a (None before any copy)."""
    row = con.execute(
        "SELECT min(b_id) FROM crosswalk WHERE link = ? AND entity = 'tickets' AND origin = 'a'",
        [link],
    ).fetchone()
    return row[0] if row else None


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The file at ``path``, opened read-only in UTC (it may be a snapshot a writer replaces)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        yield con
    finally:
        con.close()


def query(path: Path, sql: str) -> Report:
    """The answer to ``sql`` on the file at ``path``, opened read-only."""
    with read_only(path) as con:
        return _report(con, "query", sql)


def query_on(con: duckdb.DuckDBPyConnection, sql: str) -> Report:
    """The answer to ``sql`` on an open read-only connection (a lake snapshot)."""
    return _report(con, "query", sql)
