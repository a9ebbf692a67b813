"""An analyst's process: query the snapshot in a loop and check every read is one consistent state.

Usage: python snapshot_reader.py SNAPSHOT STOP_FILE RESULT_JSON. Runs until STOP_FILE exists,
then writes a summary (queries, errors, violations, snapshots seen) to RESULT_JSON. It connects
afresh for every read: within one process, DuckDB shares one database instance per path while
any connection to it is open, so a held connection would pin the old snapshot.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

VIEWS = (
    "current_tickets",
    "backlog_daily",
    "ticket_response_times",
    "agent_hours_weekly",
    "notes_per_ticket",
    "sync_freshness",
)
# Each must be zero in any consistent state the service publishes.
CHECKS = {
    "runs still running": "SELECT count(*) FROM sync_runs WHERE status = 'running'",
    "live notes of tickets not live": """
        SELECT count(*) FROM notes n WHERE n.deleted_at IS NULL AND NOT EXISTS (
            SELECT 1 FROM tickets t WHERE t.connection = n.connection AND t.source_id = n.ticket_id
              AND t.deleted_at IS NULL)""",
    "connections whose last run is not a success": """
        SELECT count(*) FROM sync_freshness WHERE last_status <> 'success'""",
    "rows written by a run after the last success": """
        SELECT count(*) FROM (SELECT run_id FROM tickets UNION ALL SELECT run_id FROM notes) r
        WHERE r.run_id > (SELECT max(run_id) FROM sync_runs WHERE status = 'success')""",
}


def read_once(con: duckdb.DuckDBPyConnection, summary: dict[str, Any]) -> None:
    con.execute("BEGIN TRANSACTION")  # one read snapshot for all the checks
    try:
        for name, sql in CHECKS.items():
            (n,) = con.execute(sql).fetchone()  # type: ignore[misc]
            summary["queries"] += 1
            if n:
                summary["violations"].append(f"{name}: {n}")
        for view in VIEWS:
            con.execute(f"SELECT count(*) FROM {view}").fetchone()
            summary["queries"] += 1
        (at,) = con.execute("SELECT value FROM meta WHERE key = 'snapshot_at'").fetchone()  # type: ignore[misc]
        summary["queries"] += 1
        summary["snapshots"][at] = con.execute("SELECT count(*) FROM tickets").fetchone()[0]  # type: ignore[index]
    finally:
        con.execute("COMMIT")


def main(snapshot: Path, stop: Path, result: Path) -> None:
    summary: dict[str, Any] = {
        "queries": 0,
        "iterations": 0,
        "errors": [],
        "violations": [],
        "snapshots": {},
    }
    while not stop.exists():
        if not snapshot.exists():
            time.sleep(0.05)
            continue
        try:
            con = duckdb.connect(str(snapshot), read_only=True)
            try:
                read_once(con, summary)
            finally:
                con.close()
        except Exception as exc:  # every error counts against the service
            summary["errors"].append(f"{type(exc).__name__}: {exc}")
        summary["iterations"] += 1
    result.write_text(json.dumps(summary))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
