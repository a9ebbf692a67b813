"""``deskbridge demo``: the whole pipeline against sandboxes on loopback, in well under a minute."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from . import registry
from .config import ConnectionConfig
from .runner import sync_with_progress
from .sandbox import build_emulator, sandbox_connection, start_in_thread
from .warehouse import Warehouse

QUERIES = {
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


def run_demo(db: Path, *, tickets: int, changes: int, console: Console) -> bool:
    started = time.perf_counter()
    vendors = registry.complete()
    sandboxes = [start_in_thread(build_emulator(v, tickets=tickets)) for v in vendors]
    try:
        for box in sandboxes:
            console.print(f"[bold]{box.emulator.vendor}[/] sandbox on {box.base_url} ({tickets} tickets)")
        conns = [sandbox_connection(box.emulator, box.base_url) for box in sandboxes]
        with Warehouse(db) as wh:
            console.rule("1. sync (first run pulls everything; a rerun of the demo is incremental)")
            ok = asyncio.run(_sync_all(wh, conns, console))
            console.rule(f"2. agents make {changes} changes in each helpdesk")
            for box in sandboxes:
                for line in box.emulator.mutate(changes)[:5]:
                    console.print(f"  {box.emulator.vendor}: {line}", highlight=False)
                console.print(f"  {box.emulator.vendor}: … {changes} changes in all")
            console.rule("3. incremental sync")
            ok &= asyncio.run(_sync_all(wh, conns, console))
            console.rule("4. what analysts see")
            for title, sql in QUERIES.items():
                console.print(_table(wh, title, sql))
    finally:
        for box in sandboxes:
            box.stop()
    console.print(f"Warehouse: {db.resolve()}  (open it with: duckdb {db})   [{time.perf_counter() - started:.1f}s]")
    return ok


async def _sync_all(wh: Warehouse, conns: list[ConnectionConfig], console: Console) -> bool:
    results = [await sync_with_progress(wh, conn, False, console) for conn in conns]
    return all(r is not None for r in results)


def _table(wh: Warehouse, title: str, sql: str) -> Table:
    cursor = wh.con.execute(sql)
    table = Table(*(d[0] for d in cursor.description), title=title)
    for row in cursor.fetchall():
        table.add_row(*("" if v is None else str(v) for v in row))
    return table
