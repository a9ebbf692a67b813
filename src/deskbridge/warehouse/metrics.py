"""What ``/metrics`` and the status page show beyond the service's memory: run and link figures.

Read while the service holds the warehouse open (at start and after each run), so a scrape or a
page view never has to open it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

import duckdb

from deskbridge.warehouse.status import RunRecord, recent_runs

BACKLOG_DAYS = 14


@dataclass(frozen=True)
class RunFigures:
    """One connection's last finished run: duration, rows written and requests by kind."""

    connection: str
    duration_s: float | None
    rows_written: int
    requests: dict[str, int]  # incremental, reconcile, write


@dataclass(frozen=True)
class LinkFigures:
    """One link: writes done by real pushes, writes still failing, records skipped, pending twins,
    and how its last real push ended (``None`` before the first), with the error of a failed one."""

    link: str
    a: str
    b: str
    writes: int
    failures: int
    skips: int
    pending: int
    last_status: str | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class Figures:
    """Everything read from the warehouse for one scrape or page view."""

    runs: dict[str, RunFigures] = field(default_factory=dict)
    links: dict[str, LinkFigures] = field(default_factory=dict)
    recent: list[RunRecord] = field(default_factory=list)
    backlog: list[tuple[date, int]] = field(default_factory=list)


def read(
    con: duckdb.DuckDBPyConnection,
    connections: list[str],
    links: dict[str, tuple[str, str]],
    write_kinds: frozenset[str],
) -> Figures:
    """The figures of ``connections`` and ``links`` (name -> (side a, side b)).

    ``write_kinds`` are the push action kinds that write to a helpdesk (``push.actions.OPS``).
    """
    writes = link_writes(con, write_kinds)
    found = {name: _link(con, name, sides, writes.get(name, 0)) for name, sides in links.items()}
    runs = {name: _run(con, name, links, writes) for name in connections}
    return Figures(runs, found, recent_runs(con, 10), backlog(con))


def _run(
    con: duckdb.DuckDBPyConnection,
    name: str,
    links: dict[str, tuple[str, str]],
    writes: dict[str, int],
) -> RunFigures:
    row = con.execute(
        "SELECT epoch(ended_at - started_at), counts, requests, reconcile_requests "
        "FROM sync_runs WHERE connection = ? AND ended_at IS NOT NULL "
        "ORDER BY run_id DESC LIMIT 1",
        [name],
    ).fetchone()
    write = sum(writes.get(link, 0) for link, sides in links.items() if name in sides)
    if row is None:
        return RunFigures(name, None, 0, {"incremental": 0, "reconcile": 0, "write": write})
    counts = json.loads(row[1]) if isinstance(row[1], str) else (row[1] or {})
    changed = sum(v for k, v in counts.items() if k.endswith((".changed", ".deleted")))
    requests = {"incremental": row[2] or 0, "reconcile": row[3] or 0, "write": write}
    return RunFigures(name, float(row[0]), changed, requests)


def link_writes(con: duckdb.DuckDBPyConnection, write_kinds: frozenset[str]) -> dict[str, int]:
    """Per link, the writes every real push of it did (``*.done`` counts of create/update ops)."""
    rows = con.execute("SELECT link, counts FROM push_runs WHERE NOT dry_run").fetchall()
    out: dict[str, int] = {}
    for link, counts in rows:
        found = json.loads(counts) if isinstance(counts, str) else (counts or {})
        done = sum(
            v for k, v in found.items() if k.endswith(".done") and k.split(".")[0] in write_kinds
        )
        out[link] = out.get(link, 0) + done
    return out


def _link(
    con: duckdb.DuckDBPyConnection, name: str, sides: tuple[str, str], writes: int
) -> LinkFigures:
    row = con.execute(
        "SELECT (SELECT count(*) FROM push_failures WHERE link = $1 AND resolved_at IS NULL), "
        "(SELECT count(*) FROM push_skips WHERE link = $1), "
        "(SELECT count(*) FROM crosswalk WHERE link = $1 AND state = 'pending')",
        [name],
    ).fetchone()
    failures, skips, pending = row if row else (0, 0, 0)
    last = con.execute(
        "SELECT status, error FROM push_runs WHERE link = ? AND NOT dry_run "
        "ORDER BY push_id DESC LIMIT 1",
        [name],
    ).fetchone()
    status, error = last if last else (None, None)
    return LinkFigures(name, sides[0], sides[1], writes, failures, skips, pending, status, error)


def backlog(con: duckdb.DuckDBPyConnection, days: int = BACKLOG_DAYS) -> list[tuple[date, int]]:
    """Per day of the last ``days`` (UTC), the tickets open at its end: created, not yet resolved.

    A ticket closed without a resolution time (some vendors give none) counts as closed all along.
    """
    return con.execute(
        """SELECT d::DATE, (SELECT count(*) FROM tickets t
                            WHERE t.deleted_at IS NULL AND t.created_at < d + INTERVAL 1 DAY
                              AND (t.resolved_at >= d + INTERVAL 1 DAY
                                   OR (t.resolved_at IS NULL AND coalesce(t.status_category, '')
                                       NOT IN ('resolved', 'closed'))))
           FROM generate_series(current_date - (? - 1) * INTERVAL 1 DAY, current_date::TIMESTAMP,
                                INTERVAL 1 DAY) AS g(d)
           ORDER BY 1""",
        [days],
    ).fetchall()
