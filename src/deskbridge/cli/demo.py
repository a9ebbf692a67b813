"""``deskbridge demo``: the whole pipeline against sandboxes on loopback, in well under a minute."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from deskbridge import registry
from deskbridge.cli.sync import sync_with_progress
from deskbridge.sandbox import build_emulator, sandbox_connection, start_in_thread
from deskbridge.sdk.connection import ConnectionConfig
from deskbridge.sdk.errors import DeskbridgeError
from deskbridge.warehouse.store import Warehouse

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
    _fresh(db)
    vendors = registry.complete()
    sandboxes = [start_in_thread(build_emulator(v, tickets=tickets)) for v in vendors]
    try:
        for box in sandboxes:
            console.print(
                f"[bold]{box.emulator.vendor}[/] sandbox on {box.base_url} ({tickets} tickets)"
            )
        conns = [sandbox_connection(box.emulator, box.base_url) for box in sandboxes]
        with Warehouse(db) as wh:
            console.rule("1. first sync: everything")
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
            console.rule(
                "5. two-way link kayako_demo <-> trackit_demo (open tickets): twin, edit, sync back"
            )
            ok &= asyncio.run(_link_demo(wh, conns, console))
    finally:
        for box in sandboxes:
            box.stop()
    console.print(
        f"Warehouse: {db.resolve()}  (open it with: duckdb {db})   [{time.perf_counter() - started:.1f}s]"
    )
    return ok


DEMO_LINK = {
    "a": "kayako_demo",
    "b": "trackit_demo",
    "direction": "both",
    "conflict": {"status": "a"},
    "author": {"a": "staff:1", "b": "technician:1"},
    "filters": {"status_category": ["new", "open", "pending"]},
}


async def _link_demo(wh: Warehouse, conns: list[ConnectionConfig], console: Console) -> bool:
    """Push the link, let an agent edit a twin on Track-It!, pull and push again, then once more (no echo)."""
    from deskbridge.config import LinkConfig, Settings
    from deskbridge.pull.engine import build_connector
    from deskbridge.push.executor import push_link
    from deskbridge.push.run import run_link
    from deskbridge.sdk.contract import WriteOp

    link = LinkConfig.model_validate({"name": "demo_link", **DEMO_LINK})
    settings = Settings(connections={c.name: c for c in conns}, links={link.name: link})
    first = await push_link(wh, settings, link)
    twin = wh.con.execute(
        "SELECT min(b_id) FROM crosswalk WHERE link = 'demo_link' AND entity = 'tickets' AND origin = 'a'"
    ).fetchone()
    if twin and twin[0]:  # an agent edits a twin on Track-It!, through its API
        async with build_connector(settings.connections["trackit_demo"]) as trackit:
            await trackit.write(
                WriteOp.UPDATE_FIELDS, twin[0], {"subject": "Printer fixed after a driver update"}
            )
    second = await run_link(wh, settings, link)
    third = await run_link(wh, settings, link)
    table = Table("push", "writes", "refused", "what", title="Link demo_link")
    for label, result in (
        ("first: twin open tickets both ways", first),
        ("after one edit on Track-It!", second),
        ("again (no echo)", third),
    ):
        kinds = ", ".join(
            f"{k.removesuffix('.done')} {v}"
            for k, v in sorted(result.counts.items())
            if k.endswith(".done")
        )
        table.add_row(
            label, str(result.writes), str(len(result.failures)), kinds or "nothing to do"
        )
    console.print(table)
    return not (first.failures or second.failures or third.failures)


def _fresh(db: Path) -> None:
    """The sandboxes start afresh each demo, so does its warehouse: never one that holds real data."""
    if not db.exists():
        return
    try:
        with Warehouse(db) as wh:
            names = {
                r[0] for r in wh.con.execute("SELECT DISTINCT connection FROM sync_runs").fetchall()
            }
    except Exception as exc:  # not a warehouse at all
        raise DeskbridgeError(
            f"{db}: exists and is not a deskbridge demo warehouse ({exc}); pass --db"
        ) from None
    if names - {f"{v}_demo" for v in registry.complete()}:
        raise DeskbridgeError(
            f"{db}: holds connections {', '.join(sorted(names))}, not a demo's; pass --db"
        )
    for path in (db, db.with_name(db.name + ".wal")):
        path.unlink(missing_ok=True)


async def _sync_all(wh: Warehouse, conns: list[ConnectionConfig], console: Console) -> bool:
    results = [await sync_with_progress(wh, conn, False, console) for conn in conns]
    return all(r is not None for r in results)


def _table(wh: Warehouse, title: str, sql: str) -> Table:
    cursor = wh.con.execute(sql)
    table = Table(*(d[0] for d in cursor.description), title=title)
    for row in cursor.fetchall():
        table.add_row(*("" if v is None else str(v) for v in row))
    return table
