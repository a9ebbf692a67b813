"""``deskbridge demo``: the whole pipeline against sandboxes on loopback, in well under a minute."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from deskbridge import registry
from deskbridge.cli import common
from deskbridge.cli.sync import sync_with_progress
from deskbridge.sdk.connection import ConnectionConfig
from deskbridge.sdk.errors import DeskbridgeError
from deskbridge.warehouse.reports import Report, analyst_reports, first_ticket_twin
from deskbridge.warehouse.status import synced_connections
from deskbridge.warehouse.store import Warehouse


def demo(
    db: Annotated[Path, typer.Option("--db", help="Warehouse file (a new one each demo).")] = Path(
        "deskbridge-demo.duckdb"
    ),
    tickets: Annotated[int, typer.Option(help="Tickets per sandbox.")] = 300,
    changes: Annotated[int, typer.Option(help="Agent changes made between the two syncs.")] = 40,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve", help="Then keep the sandboxes up and run the service with its status page."
        ),
    ] = False,
    health_port: Annotated[
        int, typer.Option(help="With --serve: the status page's port on 127.0.0.1.")
    ] = 8765,
) -> None:
    """Sandboxes on loopback -> full sync -> agents change things -> incremental sync -> queries -> a two-way link."""
    port = health_port if serve else None
    if port is not None:
        from deskbridge.cli.serve import require_free

        require_free(port)
    try:
        ok = run_demo(db, tickets=tickets, changes=changes, console=common.console, serve_on=port)
    except DeskbridgeError as exc:
        common.fail(str(exc))
    raise typer.Exit(0 if ok else 1)


def run_demo(
    db: Path, *, tickets: int, changes: int, console: Console, serve_on: int | None = None
) -> bool:
    """Run the whole demo, printing each step; returns whether every sync and push succeeded.

    ``serve_on``: then serve the sandboxes on a schedule, with the status page on that port,
    until Ctrl-C.
    """
    # here, not at the top: serving the sandboxes needs uvicorn, which other commands never load
    from deskbridge.sandbox import build_emulator, sandbox_connection, start_in_thread

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
            for report in analyst_reports(wh.con):
                console.print(_table(report))
            console.rule(
                "5. two-way link kayako_demo <-> trackit_demo (open tickets): twin, edit, sync back"
            )
            ok &= asyncio.run(_link_demo(wh, conns, console))
        console.rule("6. ask it yourself")
        _show_query(db, console)
        console.print(f"Warehouse: {db.resolve()}   [{time.perf_counter() - started:.1f}s]")
        if serve_on is None:
            console.print(
                "See it run as a service: deskbridge demo --serve, then open "
                "http://127.0.0.1:8765/ for the status page (and /metrics for Prometheus)",
                highlight=False,
                markup=False,
            )
        else:
            _serve(db, conns, serve_on, console)
    finally:
        for box in sandboxes:
            box.stop()
    return ok


DEMO_QUERY = (
    "SELECT connection, count(*) AS tickets, count(*) FILTER "
    "(WHERE status_category IN ('new', 'open', 'pending')) AS unresolved "
    "FROM tickets WHERE deleted_at IS NULL GROUP BY ALL ORDER BY 1"
)


def _show_query(db: Path, console: Console) -> None:
    """What an analyst types next, and what it answers: ``deskbridge query`` on this warehouse."""
    from deskbridge.cli.query import answer_table
    from deskbridge.warehouse.reports import query

    console.print(f'$ deskbridge query --db {db} "{DEMO_QUERY}"', highlight=False, markup=False)
    console.print(answer_table(query(db, DEMO_QUERY)))


def _serve(db: Path, conns: list[ConnectionConfig], port: int, console: Console) -> None:
    """The service over the sandboxes, every connection each 30 s, until Ctrl-C."""
    from deskbridge.config import LinkConfig, Settings
    from deskbridge.sdk.connection import Schedule
    from deskbridge.service.backoff import Backoff
    from deskbridge.service.daemon import Service, ServiceOptions

    every = Schedule(every="30s")
    scheduled = {c.name: c.model_copy(update={"schedule": every}) for c in conns}
    link = LinkConfig.model_validate({"name": "demo_link", **DEMO_LINK})
    settings = Settings(connections=scheduled, links={link.name: link})
    options = ServiceOptions(None, port, Backoff(30.0, 300.0), stop_timeout_s=10.0)
    console.print(
        f"Status page: http://127.0.0.1:{port}/   metrics: http://127.0.0.1:{port}/metrics\n"
        "The service syncs each sandbox every 30 s; Ctrl-C stops it.",
        highlight=False,
        markup=False,
    )
    asyncio.run(Service(settings, db, options).run())


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
    twin = first_ticket_twin(wh.con, link.name)
    if twin:  # an agent edits a twin on Track-It!, through its API
        async with build_connector(settings.connections["trackit_demo"]) as trackit:
            await trackit.write(
                WriteOp.UPDATE_FIELDS, twin, {"subject": "Printer fixed after a driver update"}
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
            names = set(synced_connections(wh.con))
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


def _table(report: Report) -> Table:
    table = Table(*report.columns, title=report.title)
    for row in report.rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    return table
