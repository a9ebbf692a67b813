"""Running syncs and checks for several connections, with progress on the console."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from deskbridge.config import Settings
from deskbridge.pull.engine import RunResult, build_connector, sync
from deskbridge.sdk.connection import ConnectionConfig
from deskbridge.sdk.errors import DeskbridgeError
from deskbridge.sdk.redact import scrub
from deskbridge.warehouse.store import Warehouse


async def run_syncs(
    settings: Settings, names: list[str], db: Path, *, full_refresh: bool, console: Console
) -> bool:
    """Sync ``names`` one after another; returns whether all succeeded."""
    ok = True
    with Warehouse(
        db, memory_limit=settings.warehouse.memory_limit, lock_wait_s=settings.warehouse.lock_wait_s
    ) as wh:
        for name in names:
            result = await sync_with_progress(wh, settings.connections[name], full_refresh, console)
            ok &= result is not None
    return ok


async def sync_with_progress(
    wh: Warehouse, conn: ConnectionConfig, full_refresh: bool, console: Console, **kwargs: object
) -> RunResult | None:
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed} rows"),
        TimeElapsedColumn(),
    )
    with Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal
    ) as bar:
        task = bar.add_task(f"{conn.name} ({conn.type})", total=None)

        def progress(stream: str, done: int, total: int | None) -> None:
            bar.update(task, description=f"{conn.name}: {stream}", completed=done, total=total)

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


async def check_all(settings: Settings) -> list[tuple[str, str, bool, str]]:
    results = []
    for name, conn in settings.connections.items():
        try:
            async with build_connector(conn) as connector:
                results.append((name, conn.type, True, await connector.check()))
        except DeskbridgeError as exc:
            results.append((name, conn.type, False, scrub(str(exc))))
    return results
