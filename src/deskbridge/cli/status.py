"""``deskbridge status``: last runs, cursors, held deletions and pushes, as rich tables or JSON."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import duckdb
import typer
from rich.table import Table

from deskbridge.cli import common
from deskbridge.cli.common import ConfigOpt, DbOpt, console
from deskbridge.sdk.errors import WarehouseLocked
from deskbridge.warehouse import status as report
from deskbridge.warehouse.reports import read_only
from deskbridge.warehouse.status import ConnectionStatus, RunRecord
from deskbridge.warehouse.store import Warehouse

if TYPE_CHECKING:
    from deskbridge.warehouse.lake import LakeSpec

NameArg = Annotated[
    str | None, typer.Argument(help="Only this connection (default: every connection).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON, every field.")]
# Numbers in a cursor between these are epoch seconds (2001..2096): shown as an age, not a float.
_EPOCH_RANGE = (1e9, 4e9)


def status(
    name: NameArg = None, as_json: JsonOpt = False, config: ConfigOpt = None, db: DbOpt = None
) -> None:
    """Last runs, cursor lag, row counts and backoff per connection (or of one: status NAME)."""
    settings = common.settings(config)
    if name is not None:
        common.require_connections(settings, [name])
    lake = common.lake(settings) if db is None else None
    with reading(common.db_path(settings, db), quiet=as_json, lake=lake) as con:
        if as_json:
            print(dumps(status_json(con, name)))
            return
        for table in status_tables(con, name, workers=lake is not None):
            console.print(table)


def dumps(value: Any) -> str:
    """``value`` as indented JSON, moments in ISO 8601."""
    return json.dumps(
        value, indent=2, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v)
    )


@contextlib.contextmanager
def reading(
    path: Path, quiet: bool = False, lake: LakeSpec | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse to read; its snapshot while a run holds the warehouse (said unless quiet).

    A DuckLake warehouse is read at the snapshot of its last successful run: never locked.
    """
    from deskbridge.warehouse.snapshot import lake_snapshot, snapshot_path

    if lake is not None:
        with lake_snapshot(lake) as con:
            yield con
        return

    common.require_warehouse(path)
    try:
        with Warehouse(path) as wh:
            yield wh.con
            return
    except WarehouseLocked:
        snap = snapshot_path(path)
        if not snap.exists():
            raise
    if not quiet:
        console.print(f"[yellow]{path} is being written (a run is in progress); showing {snap}[/]")
    with read_only(snap) as con:
        yield con


def ago(seconds: float | None) -> str:
    """``5 s ago``, ``3 min ago``, ``2 h 10 min ago``, ``4 d 3 h ago``; ``never`` for None."""
    return "never" if seconds is None else f"{duration(seconds)} ago"


def duration(seconds: float) -> str:
    """A length of time in its two largest units: ``1.9 s``, ``3 min``, ``2 h 10 min``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    units = [(whole // 86400, "d"), (whole % 86400 // 3600, "h"), (whole % 3600 // 60, "min")]
    units.append((whole % 60, "s"))
    first = next(i for i, (n, _) in enumerate(units) if n)
    return " ".join(f"{n} {u}" for n, u in units[first : first + 2] if n)


def when(moment: datetime | None) -> str:
    """A moment as ``2026-12-06 08:16:04``, or ``-``."""
    return f"{moment:%Y-%m-%d %H:%M:%S}" if moment else "-"


def _next(st: ConnectionStatus) -> str:
    if st.backoff_until is not None and st.backoff_until > datetime.now(UTC):
        return f"backing off until {when(st.backoff_until)}"
    return when(st.next_run_at)


def _statuses(con: duckdb.DuckDBPyConnection, name: str | None) -> list[ConnectionStatus]:
    return [report.status_of(con, name)] if name else report.connection_status(con)


def status_tables(
    con: duckdb.DuckDBPyConnection, name: str | None = None, workers: bool = False
) -> list[Table]:
    """Every table ``deskbridge status`` prints, in order; one connection's if ``name``.

    ``workers``: say which serve worker ran each connection's last run (a shared lake).
    """
    statuses = _statuses(con, name)
    return [
        _connections_table(statuses, workers),
        _rows_table(statuses),
        _cursors_table(con, name),
        runs_table(report.recent_runs(con, connection=name)),
        *held_table(con, name),
        *([] if name else push_tables(con)),
    ]


def _table(*columns: str, title: str) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _connections_table(statuses: list[ConnectionStatus], workers: bool = False) -> Table:
    conns = _table(
        "connection",
        "last run",
        "last success",
        "failures in a row",
        "next run (serve)",
        *(["worker"] if workers else []),
        title="Connections",
    )
    for st in statuses:
        conns.add_row(
            st.connection,
            st.last_status or "-",
            ago(st.lag_s),
            str(st.consecutive_failures),
            _next(st),
            *([st.last_worker or "-"] if workers else []),
        )
    return conns


_ENTITIES = ("tickets", "notes", "time_entries", "people", "attachments")


def _rows_table(statuses: list[ConnectionStatus]) -> Table:
    rows = _table("connection", *(e.replace("_", " ") for e in _ENTITIES), title="Rows")
    for st in statuses:
        rows.add_row(st.connection, *(str(st.counts[e]) for e in _ENTITIES))
    return rows


def runs_table(runs: list[RunRecord], title: str = "Recent runs") -> Table:
    """Runs, newest first: counts, requests, and the first line of any error."""
    table = _table(
        "run",
        "connection",
        "status",
        "started",
        "duration",
        "written",
        "deleted",
        "requests",
        "error",
        title=title,
    )
    for run in runs:
        table.add_row(
            str(run.run_id),
            run.connection,
            run.status,
            when(run.started_at),
            duration(run.duration_s) if run.duration_s is not None else "-",
            str(run.written),
            str(run.deleted),
            str(run.requests + run.reconcile_requests),
            (run.error or "").splitlines()[0] if run.error else "",
        )
    return table


def _cursors_table(con: duckdb.DuckDBPyConnection, name: str | None) -> Table:
    cursors = _table("connection", "stream", "cursor", "moved", title="Cursors")
    now = datetime.now(UTC)
    for conn, stream, state, moved in report.cursors(con, name):
        cursors.add_row(conn, stream, cursor_text(state), ago((now - moved).total_seconds()))
    return cursors


def cursor_text(state: Any) -> str:
    """A cursor for people: epoch seconds as an age, nulls left out (``watermark: 3 min ago``)."""
    parsed = json.loads(state) if isinstance(state, str) else state
    if not isinstance(parsed, dict):
        return str(parsed)
    now = datetime.now(UTC).timestamp()
    parts = []
    for key, value in parsed.items():
        if value is None:
            continue
        epoch = isinstance(value, int | float) and _EPOCH_RANGE[0] <= value < _EPOCH_RANGE[1]
        parts.append(f"{key}: {ago(now - value) if epoch else value}")
    return ", ".join(parts) or "-"


def held_table(con: duckdb.DuckDBPyConnection, name: str | None = None) -> list[Table]:
    """Deletions held for an operator (none: no table)."""
    rows = [r for r in report.held_summary(con) if name in (None, r[0])]
    if not rows:
        return []
    held = _table(
        "connection", "entity", "held", "why", "what to do", title="Deletions held (not applied)"
    )
    for conn, entity, n, reason in rows:
        held.add_row(
            conn,
            entity,
            str(n),
            reason or "",
            f"deskbridge deletes list {conn}; then confirm or reject",
        )
    return [held]


def push_tables(con: duckdb.DuckDBPyConnection) -> list[Table]:
    """Last push per link, and the rows targets refused (retried every run until they go through)."""
    pushes = _table(
        "link",
        "last push",
        "status",
        "writes",
        "open failures",
        "skipped (all time)",
        "error",
        title="Links",
    )
    for link, started, outcome, counts, failing, skipped, error in report.last_pushes(con):
        pushes.add_row(
            link,
            when(started),
            outcome,
            str(_writes(counts)),
            str(failing),
            str(skipped),
            error or "",
        )
    failures = _table(
        "link", "entity", "target", "source id", "attempts", "reason", title="Refused writes"
    )
    for row in report.open_failures(con):
        failures.add_row(*(str(v) for v in row))
    return [pushes, failures] if pushes.row_count else []


def _writes(counts: str | None) -> int:
    from deskbridge.push.executor import OPS

    return sum(
        v
        for k, v in json.loads(counts or "{}").items()
        if k.endswith(".done") and k.split(".")[0] in OPS
    )


def status_json(con: duckdb.DuckDBPyConnection, name: str | None = None) -> dict[str, Any]:
    """What ``status --json`` prints: every connection's status with its cursors, recent runs, links."""
    cursors = report.cursors(con, name)
    connections = []
    for st in _statuses(con, name):
        entry = dataclasses.asdict(st) | {"lag_s": st.lag_s}
        entry["cursors"] = [
            {"stream": s, "state": json.loads(v) if isinstance(v, str) else v, "moved": m}
            for c, s, v, m in cursors
            if c == st.connection
        ]
        connections.append(entry)
    runs = [
        dataclasses.asdict(r) | {"duration_s": r.duration_s}
        for r in report.recent_runs(con, connection=name)
    ]
    held = [
        {"connection": c, "entity": e, "held": n, "reason": why}
        for c, e, n, why in report.held_summary(con)
        if name in (None, c)
    ]
    links = [
        {
            "link": k,
            "last_push": t,
            "status": s,
            "writes": _writes(w),
            "open_failures": f,
            "skipped": sk,
            "error": e,
        }
        for k, t, s, w, f, sk, e in ([] if name else report.last_pushes(con))
    ]
    return {"connections": connections, "runs": runs, "held_deletions": held, "links": links}
