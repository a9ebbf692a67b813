"""The ``deskbridge`` command line."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from deskbridge import registry
from deskbridge.cli import logs
from deskbridge.config import Settings, load_settings
from deskbridge.sdk.errors import DeskbridgeError
from deskbridge.sdk.redact import scrub

if TYPE_CHECKING:
    import duckdb

app = typer.Typer(
    help="Move helpdesk data between helpdesks and into a DuckDB warehouse.", no_args_is_help=True
)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Config file (default: ./config.toml if present)."),
]
DbOpt = Annotated[
    Path | None, typer.Option("--db", help="Warehouse file (overrides [warehouse] path).")
]
_LOGGING: dict[str, object] = {}


def _settings(config: Path | None) -> Settings:
    path = config or Path(os.environ.get("DESKBRIDGE_CONFIG", "config.toml"))
    try:
        return load_settings(path if (config or path.exists()) else None)
    except DeskbridgeError as exc:
        _fail(str(exc))


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(scrub(message))}", highlight=False)
    raise typer.Exit(code)


def _db(settings: Settings, db: Path | None) -> Path:
    return db or settings.warehouse.path


@app.callback()
def _main(
    log_level: Annotated[
        str | None,
        typer.Option(help="debug, info, warning or error (default: warning; info for serve)."),
    ] = None,
    log_json: Annotated[
        bool | None,
        typer.Option("--log-json/--log-text", help="Log format (default: JSON unless a terminal)."),
    ] = None,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="DESKBRIDGE_DEBUG",
            help="Show a traceback instead of the one-line error.",
        ),
    ] = False,
) -> None:
    _LOGGING.update(level=log_level, json=log_json, debug=debug)
    logs.configure(log_level or "warning", log_json)


@app.command()
def sync(
    names: Annotated[
        list[str] | None, typer.Argument(help="Connections to sync (default: all).")
    ] = None,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Ignore cursors; re-pull everything.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Pull, then only plan the links' pushes.")
    ] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Pull each connection's changes into the warehouse, then push each link between them."""
    from deskbridge.cli.push import push_links
    from deskbridge.cli.sync import run_syncs

    settings = _settings(config)
    chosen = names or list(settings.connections)
    unknown = [n for n in chosen if n not in settings.connections]
    if unknown:
        _fail(
            f"unknown connection {unknown[0]!r}; configured: {', '.join(settings.connections) or 'none'}"
        )
    path = _db(settings, db)
    ok = asyncio.run(run_syncs(settings, chosen, path, full_refresh=full_refresh, console=console))
    links = [link for link in settings.links.values() if {link.a, link.b} <= set(chosen)]
    if ok and links:
        ok = asyncio.run(
            push_links(settings, links, path, dry_run=dry_run, pull=False, console=console)
        )
    raise typer.Exit(0 if ok else 1)


@app.command()
def status(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Last runs, cursor lag, row counts and backoff per connection."""
    from deskbridge.cli.render import status_tables
    from deskbridge.sdk.errors import WarehouseLocked
    from deskbridge.warehouse.snapshot import snapshot_path
    from deskbridge.warehouse.store import Warehouse

    settings = _settings(config)
    path = _db(settings, db)
    if not path.exists():
        _fail(f"{path}: no warehouse yet; run 'deskbridge sync' first")
    try:
        with Warehouse(path) as wh:
            tables = status_tables(wh.con)
    except WarehouseLocked:
        snap = snapshot_path(path)
        if not snap.exists():
            raise
        console.print(f"[yellow]{path} is being written (a run is in progress); showing {snap}[/]")
        con = _read_only(snap)
        tables = status_tables(con)
        con.close()
    for table in tables:
        console.print(table)


@app.command()
def check(config: ConfigOpt = None) -> None:
    """Connectivity and authentication for every connection."""
    from deskbridge.cli.sync import check_all

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
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the connection details as one JSON line.")
    ] = False,
) -> None:
    """Serve a vendor emulator on 127.0.0.1 until stopped, to rehearse a migration."""
    from deskbridge.sandbox import bind, build_emulator, describe, serve_forever
    from deskbridge.sdk.emulator import Knobs

    try:
        emulator = build_emulator(
            vendor, seed=seed, tickets=tickets, knobs=Knobs(latency_ms=latency_ms)
        )
    except DeskbridgeError as exc:
        _fail(str(exc))
    sock = bind(port)
    info = describe(emulator, sock.getsockname()[1])
    if as_json:
        print(json.dumps(info), flush=True)
    else:
        console.print(
            f"[bold]{vendor}[/] sandbox on {info['base_url']} ({tickets} tickets, seed {seed})"
        )
        for key, value in info["credentials"].items():
            console.print(f"  {key} = {value}")
        console.print(f"  admin: {info['admin_url']}/truth, /mutate?n=10, /knobs, /fault, /stats")
        console.print("Ctrl-C to stop.")
    sys.stdout.flush()
    serve_forever(emulator, sock)


@app.command()
def demo(
    db: Annotated[Path, typer.Option("--db", help="Warehouse file (a new one each demo).")] = Path(
        "deskbridge-demo.duckdb"
    ),
    tickets: Annotated[int, typer.Option(help="Tickets per sandbox.")] = 300,
    changes: Annotated[int, typer.Option(help="Agent changes made between the two syncs.")] = 40,
) -> None:
    """Sandboxes on loopback -> full sync -> agents change things -> incremental sync -> queries -> a two-way link."""
    from deskbridge.cli.demo import run_demo

    try:
        ok = run_demo(db, tickets=tickets, changes=changes, console=console)
    except DeskbridgeError as exc:
        _fail(str(exc))
    raise typer.Exit(0 if ok else 1)


@app.command()
def serve(
    names: Annotated[
        list[str] | None, typer.Argument(help="Connections to serve (default: all scheduled).")
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    snapshot: Annotated[
        Path | None,
        typer.Option(help="Analysts' read-only copy (default: <warehouse>.snapshot.duckdb)."),
    ] = None,
    health_port: Annotated[
        int, typer.Option(help="Health endpoint port on 127.0.0.1 (0: any free port).")
    ] = 8765,
    backoff_base: Annotated[
        str, typer.Option(help="Wait after the first failure; doubles per failure.")
    ] = "1m",
    backoff_max: Annotated[str, typer.Option(help="Longest wait between failing runs.")] = "1h",
    stop_timeout: Annotated[
        str, typer.Option(help="How long SIGTERM waits for runs in flight to stop.")
    ] = "30s",
) -> None:
    """Run each connection's sync on its schedule until SIGTERM or Ctrl-C."""
    from deskbridge.sdk.durations import parse_duration
    from deskbridge.service.backoff import Backoff
    from deskbridge.service.daemon import Service, ServiceOptions

    as_json = _LOGGING.get("json")
    logs.configure(str(_LOGGING.get("level") or "info"), True if as_json is None else bool(as_json))
    settings = _settings(config)
    unknown = [n for n in names or [] if n not in settings.connections]
    if unknown:
        _fail(
            f"unknown connection {unknown[0]!r}; configured: {', '.join(settings.connections) or 'none'}"
        )
    try:
        backoff = Backoff(parse_duration(backoff_base), parse_duration(backoff_max))
        options = ServiceOptions(snapshot, health_port, backoff, parse_duration(stop_timeout))
        service = Service(settings, _db(settings, db), options, names or None)
    except (DeskbridgeError, ValueError) as exc:
        _fail(str(exc))
    clean = asyncio.run(service.run())
    if not clean:  # a run ignored cancellation; its worker thread must not hold the exit
        sys.stderr.flush()
        os._exit(1)


@app.command()
def schema() -> None:
    """Print the data dictionary (every table, view and column) as Markdown."""
    from deskbridge.warehouse.dictionary import markdown

    sys.stdout.write(markdown())


@app.command()
def export(
    out_dir: Annotated[
        Path, typer.Argument(help="Directory to write one file per table and view into.")
    ],
    fmt: Annotated[str, typer.Option("--format", help="Output format: parquet.")] = "parquet",
    config: ConfigOpt = None,
    db: Annotated[
        Path | None,
        typer.Option("--db", help="File to export (default: the snapshot, else the warehouse)."),
    ] = None,
) -> None:
    """Write every table and view as Parquet files, for tools that do not read DuckDB."""
    from deskbridge.warehouse.export import FORMATS
    from deskbridge.warehouse.export import export as write
    from deskbridge.warehouse.snapshot import snapshot_path

    if fmt not in FORMATS:
        _fail(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    if db is None:
        primary = _settings(config).warehouse.path
        db = snapshot_path(primary) if snapshot_path(primary).exists() else primary
    if not db.exists():
        _fail(f"{db}: no warehouse yet; run 'deskbridge sync' first")
    con = _read_only(db)
    try:
        written = write(con, out_dir, fmt)
    finally:
        con.close()
    table = Table("relation", "rows", "file", title=f"Exported {db}")
    for name, rows, path in written:
        table.add_row(name, str(rows), str(path))
    console.print(table)


state_app = typer.Typer(
    help="Cursor state: where each connection's next sync starts.", no_args_is_help=True
)
app.add_typer(state_app, name="state")


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
    from deskbridge.warehouse.store import Warehouse

    settings = _settings(config)
    path = _db(settings, db)
    if not path.exists():
        _fail(f"{path}: no warehouse yet; nothing to reset")
    with Warehouse(path) as wh:
        held = [
            r[0]
            for r in wh.con.execute(
                "SELECT DISTINCT connection FROM sync_state ORDER BY 1"
            ).fetchall()
        ]
        if connection not in settings.connections and connection not in held:
            _fail(
                f"unknown connection {connection!r}; configured: {', '.join(settings.connections) or 'none'}"
            )
        try:
            cleared = reset_state(wh.con, connection, tuple(stream or ()))
        except DeskbridgeError as exc:
            _fail(str(exc))
    what = (
        f"removed the cursors of {', '.join(cleared)}"
        if cleared
        else "no cursors held; nothing removed"
    )
    console.print(f"state reset {connection}: {what}", highlight=False)


def _read_only(path: Path) -> duckdb.DuckDBPyConnection:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    return con


def _one_line_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Any failure the user can meet ends in one line on stderr and exit 1, never a traceback."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            if _LOGGING.get("debug") or not _expected(exc):
                raise
            text = str(exc) if isinstance(exc, DeskbridgeError) else f"{type(exc).__name__}: {exc}"
            _fail(" ".join(text.split()), 1)

    return run


def _expected(exc: BaseException) -> bool:
    """Ours, the OS's or DuckDB's: failures of the world, not bugs of deskbridge."""
    return (
        isinstance(exc, DeskbridgeError | OSError) or type(exc).__module__.lstrip("_") == "duckdb"
    )


def _guard(typer_app: typer.Typer) -> None:
    for info in typer_app.registered_commands:
        info.callback = _one_line_errors(info.callback)  # type: ignore[arg-type]
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _guard(group.typer_instance)


def _register_push_commands() -> None:
    from deskbridge.cli import deletes
    from deskbridge.cli.push import register

    register(app, _settings, _db, console, _fail)
    deletes.register(app, _settings, _db, console, _fail)


_register_push_commands()
_guard(app)
