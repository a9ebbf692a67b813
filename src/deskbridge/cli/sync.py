"""``deskbridge sync``, ``check``, ``connectors`` and ``state reset``: the connections' commands."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.console import Console
from rich.table import Table

from deskbridge import registry
from deskbridge.cli import common
from deskbridge.cli.common import ConfigOpt, DbOpt, console
from deskbridge.cli.progress import sync_progress
from deskbridge.config import LinkConfig, Settings
from deskbridge.pull.engine import RunResult, build_connector, sync
from deskbridge.sdk.connection import ConnectionConfig
from deskbridge.sdk.errors import ConfigError, DeskbridgeError
from deskbridge.sdk.redact import scrub
from deskbridge.warehouse.snapshot import publish, snapshot_path
from deskbridge.warehouse.status import cursor_connections
from deskbridge.warehouse.store import Warehouse

state_app = typer.Typer(
    help="Cursor state: where each connection's next sync starts.", no_args_is_help=True
)


def sync_cmd(
    names: Annotated[
        list[str] | None, typer.Argument(help="Connections to sync (default: all).")
    ] = None,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Ignore cursors; re-pull everything.")
    ] = False,
    push: Annotated[
        bool,
        typer.Option("--push", help="Then push each link between the synced connections too."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Pull, then print and save the links' push plans.")
    ] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Pull each connection's changes into the warehouse and publish the analysts' snapshot.

    Nothing is written to a helpdesk: links with changes waiting are listed with the command
    that pushes them. `sync --push` pushes them in the same run.
    """
    settings = common.settings(config)
    chosen = names or list(settings.connections)
    common.require_connections(settings, chosen)
    path = common.db_path(settings, db)
    problem = asyncio.run(preflight(settings, chosen))
    if problem:
        common.fail(problem)
    try:
        ok = asyncio.run(
            run_syncs(settings, chosen, path, full_refresh=full_refresh, console=console)
        )
    except KeyboardInterrupt:
        common.fail("interrupted; what was committed is kept: rerun to resume", 130)
    links = [link for link in settings.links.values() if {link.a, link.b} <= set(chosen)]
    if ok and links and (push or dry_run):
        from deskbridge.cli.push import push_links  # the push machinery only when pushing

        ok = asyncio.run(
            push_links(settings, links, path, dry_run=dry_run, pull=False, console=console)
        )
    elif ok and links:
        print_waiting(settings, links, path)
    raise typer.Exit(0 if ok else 1)


def print_waiting(settings: Settings, links: list[LinkConfig], db: Path) -> None:
    """One line per link whose planner has changes waiting: how many, and the command to push them."""
    from deskbridge.push.executor import plan_link

    with Warehouse(
        db, memory_limit=settings.warehouse.memory_limit, lock_wait_s=settings.warehouse.lock_wait_s
    ) as wh:
        waiting = {link.name: len(plan_link(wh, settings, link)) for link in links}
    for name, count in waiting.items():
        if count:
            noun = "change" if count == 1 else "changes"
            console.print(f"{count:,} {noun} to push: deskbridge push {name}", highlight=False)


def check(
    names: Annotated[list[str] | None, typer.Argument(help="Connections (default: all).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Connectivity and authentication for every connection (or the ones named)."""
    settings = common.settings(config)
    common.require_connections(settings, names or [])
    results = asyncio.run(check_all(settings, names))
    table = Table("connection", "type", "result")
    for name, kind, ok, message in results:
        table.add_row(name, kind, f"[green]ok[/] {message}" if ok else f"[red]failed[/] {message}")
    console.print(table)
    raise typer.Exit(0 if all(r[2] for r in results) else 1)


def connectors() -> None:
    """List installed connector plugins."""
    table = Table("name", "title", "credentials")
    for plugin in registry.plugins().values():
        table.add_row(plugin.name, plugin.title, ", ".join(plugin.credentials) or "(see README)")
    console.print(table)


@state_app.command("reset")
def state_reset(
    connection: Annotated[str, typer.Argument(help="Connection name.")],
    stream: Annotated[
        list[str] | None, typer.Option("--stream", help="Only this stream's cursor (repeatable).")
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Forget a connection's cursors: its next sync reads everything again (synced rows stay)."""
    from deskbridge.warehouse.resets import reset_state

    settings = common.settings(config)
    path = common.require_warehouse(common.db_path(settings, db), "nothing to reset")
    with Warehouse(path) as wh:
        if connection not in settings.connections and connection not in cursor_connections(wh.con):
            common.unknown("connection", connection, settings.connections)
        try:
            cleared = reset_state(wh.con, connection, tuple(stream or ()))
        except DeskbridgeError as exc:
            common.fail(str(exc))
    what = (
        f"removed the cursors of {', '.join(cleared)}"
        if cleared
        else "no cursors held; nothing removed"
    )
    console.print(f"state reset {connection}: {what}", highlight=False)


async def preflight(settings: Settings, names: list[str]) -> str | None:
    """The first config error (e.g. a credential not set) of ``names``, found before any run."""
    for name in names:
        try:
            await build_connector(settings.connections[name]).aclose()
        except ConfigError as exc:
            return str(exc)
    return None


async def run_syncs(
    settings: Settings, names: list[str], db: Path, *, full_refresh: bool, console: Console
) -> bool:
    """Sync ``names`` one after another; returns whether all succeeded."""
    ok, synced = True, False
    with Warehouse(
        db, memory_limit=settings.warehouse.memory_limit, lock_wait_s=settings.warehouse.lock_wait_s
    ) as wh:
        for name in names:
            result = await sync_with_progress(wh, settings.connections[name], full_refresh, console)
            ok &= result is not None
            synced |= result is not None
        if synced:
            publish_snapshot(wh, db, console)
    return ok


def publish_snapshot(wh: Warehouse, db: Path, console: Console) -> None:
    """Publish the analysts' snapshot after a run, as ``serve`` does; a failure is only reported."""
    target = snapshot_path(db)
    try:
        publish(wh.con, db, target)
    except (duckdb.Error, OSError, RuntimeError) as exc:
        console.print(f"[red]✗ snapshot[/] {target}: {scrub(str(exc))}", highlight=False)
        return
    console.print(f"snapshot published: {target}", highlight=False)


async def sync_with_progress(
    wh: Warehouse, conn: ConnectionConfig, full_refresh: bool, console: Console, **kwargs: object
) -> RunResult | None:
    with sync_progress(console, conn.name, conn.type) as progress:
        try:
            result = await sync(wh, conn, full_refresh=full_refresh, progress=progress, **kwargs)  # type: ignore[arg-type]
        except DeskbridgeError as exc:
            console.print(f"[red]✗ {conn.name}[/]: {scrub(str(exc))}", highlight=False)
            return None
    changed = {k: v for k, v in result.counts.items() if v and not k.endswith(".read")}
    console.print(
        f"[green]✓ {conn.name}[/] run {result.run_id}: {result.seconds:.1f}s, "
        f"requests {result.requests or {}}, changes {changed or 'none'}",
        highlight=False,
    )
    return result


async def check_all(
    settings: Settings, names: list[str] | None = None
) -> list[tuple[str, str, bool, str]]:
    results = []
    for name, conn in settings.connections.items():
        if names and name not in names:
            continue
        try:
            async with build_connector(conn) as connector:
                results.append((name, conn.type, True, await connector.check()))
        except DeskbridgeError as exc:
            results.append((name, conn.type, False, scrub(str(exc))))
    return results
