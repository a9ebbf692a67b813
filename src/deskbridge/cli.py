"""The ``deskbridge`` command line."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from . import logs, registry
from .config import Settings, load_settings
from .errors import DeskbridgeError
from .redact import scrub

app = typer.Typer(help="Move helpdesk data between helpdesks and into a DuckDB warehouse.", no_args_is_help=True)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="Config file (default: ./config.toml if present).")
]
DbOpt = Annotated[Path | None, typer.Option("--db", help="Warehouse file (overrides [warehouse] path).")]


def _settings(config: Path | None) -> Settings:
    path = config or Path(os.environ.get("DESKBRIDGE_CONFIG", "config.toml"))
    try:
        return load_settings(path if (config or path.exists()) else None)
    except DeskbridgeError as exc:
        _fail(str(exc))


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {scrub(message)}", highlight=False)
    raise typer.Exit(code)


def _db(settings: Settings, db: Path | None) -> Path:
    return db or settings.warehouse.path


@app.callback()
def _main(
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "warning",
    log_json: Annotated[bool | None, typer.Option("--log-json/--log-text", help="Log format.")] = None,
) -> None:
    logs.configure(log_level, log_json)


@app.command()
def sync(
    names: Annotated[list[str] | None, typer.Argument(help="Connections to sync (default: all).")] = None,
    full_refresh: Annotated[bool, typer.Option("--full-refresh", help="Ignore cursors; re-pull everything.")] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Pull each connection's changes into the warehouse."""
    from .runner import run_syncs

    settings = _settings(config)
    chosen = names or list(settings.connections)
    unknown = [n for n in chosen if n not in settings.connections]
    if unknown:
        _fail(f"unknown connection {unknown[0]!r}; configured: {', '.join(settings.connections) or 'none'}")
    ok = asyncio.run(run_syncs(settings, chosen, _db(settings, db), full_refresh=full_refresh, console=console))
    raise typer.Exit(0 if ok else 1)


@app.command()
def status(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Last runs, cursor lag and row counts per connection."""
    from .render import status_tables
    from .warehouse import Warehouse

    settings = _settings(config)
    path = _db(settings, db)
    if not path.exists():
        _fail(f"{path}: no warehouse yet; run 'deskbridge sync' first")
    with Warehouse(path) as wh:
        for table in status_tables(wh.con):
            console.print(table)


@app.command()
def check(config: ConfigOpt = None) -> None:
    """Connectivity and authentication for every connection."""
    from .runner import check_all

    settings = _settings(config)
    results = asyncio.run(check_all(settings))
    table = Table("connection", "type", "result")
    for name, kind, ok, message in results:
        table.add_row(name, kind, f"[green]ok[/] {message}" if ok else f"[red]failed[/] {message}")
    console.print(table)
    raise typer.Exit(0 if all(r[2] for r in results) else 1)


@app.command()
def connectors() -> None:
    """List installed connector plugins."""
    table = Table("name", "title", "credentials")
    for plugin in registry.plugins().values():
        table.add_row(plugin.name, plugin.title, ", ".join(plugin.credentials) or "(see README)")
    console.print(table)


@app.command()
def sandbox(
    vendor: Annotated[str, typer.Argument(help="Vendor emulator to serve.")],
    port: Annotated[int, typer.Option(help="Loopback port (0: any free port).")] = 0,
    tickets: Annotated[int, typer.Option(help="Tickets to seed.")] = 300,
    seed: Annotated[int, typer.Option(help="Random seed for the data set.")] = 7,
    latency_ms: Annotated[float, typer.Option(help="Latency added to every request.")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the connection details as one JSON line.")] = False,
) -> None:
    """Serve a vendor emulator on 127.0.0.1 until stopped, to rehearse a migration."""
    from .emulation import Knobs
    from .sandbox import bind, build_emulator, describe, serve_forever

    try:
        emulator = build_emulator(vendor, seed=seed, tickets=tickets, knobs=Knobs(latency_ms=latency_ms))
    except DeskbridgeError as exc:
        _fail(str(exc))
    sock = bind(port)
    info = describe(emulator, sock.getsockname()[1])
    if as_json:
        print(json.dumps(info), flush=True)
    else:
        console.print(f"[bold]{vendor}[/] sandbox on {info['base_url']} ({tickets} tickets, seed {seed})")
        for key, value in info["credentials"].items():
            console.print(f"  {key} = {value}")
        console.print(f"  admin: {info['admin_url']}/truth, /mutate?n=10, /knobs, /fault, /stats")
        console.print("Ctrl-C to stop.")
    sys.stdout.flush()
    serve_forever(emulator, sock)


@app.command()
def demo(
    db: Annotated[Path, typer.Option("--db", help="Warehouse file.")] = Path("deskbridge.duckdb"),
    tickets: Annotated[int, typer.Option(help="Tickets per sandbox.")] = 300,
    changes: Annotated[int, typer.Option(help="Agent changes made between the two syncs.")] = 40,
) -> None:
    """Sandboxes on loopback -> full sync -> agents change things -> incremental sync -> queries."""
    from .demo import run_demo

    ok = run_demo(db, tickets=tickets, changes=changes, console=console)
    raise typer.Exit(0 if ok else 1)


if __name__ == "__main__":  # pragma: no cover
    app()
