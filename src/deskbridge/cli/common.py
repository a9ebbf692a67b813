"""What every command shares: the consoles, settings, the --config/--db options, one-line errors."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from deskbridge.config import Settings, load_settings
from deskbridge.sdk.errors import DeskbridgeError
from deskbridge.sdk.redact import scrub

if TYPE_CHECKING:
    from deskbridge.warehouse.lake import LakeSpec

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Config file (default: $DESKBRIDGE_CONFIG, else ./config.toml)."
    ),
]
DbOpt = Annotated[
    Path | None, typer.Option("--db", help="Warehouse file (overrides \\[warehouse] path).")
]
# The global options (--log-level, --log-json, --debug), as the app's callback received them.
LOGGING: dict[str, object] = {}


def settings(config: Path | None) -> Settings:
    """The settings of ``--config``, else $DESKBRIDGE_CONFIG, else ./config.toml; fail if missing."""
    path = config_path(config)
    if not path.is_file():
        fail(
            f"no config file at {path.absolute()} ({_source(config)}); "
            "start with: cp config.example.toml config.toml"
        )
    try:
        return load_settings(path)
    except DeskbridgeError as exc:
        fail(str(exc))


def config_path(config: Path | None) -> Path:
    """The config file a command reads: ``--config``, else $DESKBRIDGE_CONFIG, else ./config.toml."""
    return config or Path(os.environ.get("DESKBRIDGE_CONFIG") or "config.toml")


def _source(config: Path | None) -> str:
    """Which option named the config file, and how to name another."""
    if config is not None:
        return "--config"
    if os.environ.get("DESKBRIDGE_CONFIG"):
        return "DESKBRIDGE_CONFIG"
    return "the default; give --config or set DESKBRIDGE_CONFIG"


def db_path(settings: Settings, db: Path | None) -> Path:
    """The warehouse file: ``--db`` if given, else the configured one."""
    return db or settings.warehouse.path


def lake(settings: Settings) -> LakeSpec | None:
    """The DuckLake warehouse ``[warehouse]`` configures; None for a DuckDB file."""
    if settings.warehouse.backend != "ducklake":
        return None
    from deskbridge.warehouse.lake import lake_spec

    return lake_spec(settings.warehouse)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: <message>`` on stderr, secrets scrubbed, each line its own; exit ``code``."""
    for line in scrub(message).splitlines() or [""]:
        err.print(f"[bold red]error:[/] {escape(line)}", highlight=False)
    raise typer.Exit(code)


def unknown(kind: str, name: str, known: Iterable[str], where: str = "configured") -> NoReturn:
    """Fail with ``unknown <kind> '<name>'; <where>: <known, or none>``."""
    fail(f"unknown {kind} {name!r}; {where}: {', '.join(known) or 'none'}")


def require_connections(settings: Settings, names: Iterable[str]) -> None:
    """Fail on the first of ``names`` that is not a configured connection."""
    for name in names:
        if name not in settings.connections:
            unknown("connection", name, settings.connections)


def require_warehouse(path: Path, hint: str = "run 'deskbridge sync' first") -> Path:
    """Fail unless the warehouse file exists."""
    if not path.exists():
        fail(f"{path}: no warehouse yet; {hint}")
    return path


def one_line_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Any failure the user can meet ends in one line on stderr and exit 1, never a traceback."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            if LOGGING.get("debug") or not _expected(exc):
                raise
            text = str(exc) if isinstance(exc, DeskbridgeError) else f"{type(exc).__name__}: {exc}"
            fail(" ".join(text.split()), 1)

    return run


def _expected(exc: BaseException) -> bool:
    """Ours, the OS's or DuckDB's: failures of the world, not bugs of deskbridge."""
    return (
        isinstance(exc, DeskbridgeError | OSError) or type(exc).__module__.lstrip("_") == "duckdb"
    )


def guard(typer_app: typer.Typer) -> None:
    """Wrap every command of ``typer_app`` and its groups in :func:`one_line_errors`."""
    for info in typer_app.registered_commands:
        info.callback = one_line_errors(info.callback)  # type: ignore[arg-type]
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            guard(group.typer_instance)
