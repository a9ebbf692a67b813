"""The ``deskbridge`` command line: the typer app, its global options and its commands, in order."""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import Callable
from importlib import metadata
from typing import Annotated

import typer

from deskbridge.cli import common, logs
from deskbridge.cli.common import LOGGING


def _print_version(value: bool) -> None:
    if value:
        common.console.print(f"deskbridge {metadata.version('deskbridge')}", highlight=False)
        raise typer.Exit()


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
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    LOGGING.update(level=log_level, json=log_json, debug=debug)
    logs.configure(log_level or "warning", log_json)


def _module(name: str) -> object:
    return importlib.import_module(f"deskbridge.cli.{name}")


def _add(name: str, module: str, attr: str) -> Callable[[typer.Typer], None]:
    return lambda t: t.command(name)(getattr(_module(module), attr))


def _group(name: str, module: str, attr: str) -> Callable[[typer.Typer], None]:
    return lambda t: t.add_typer(getattr(_module(module), attr), name=name)


def _push(t: typer.Typer) -> None:
    _module("push").register(t)  # type: ignore[attr-defined]


# The order here is the order of `deskbridge --help`. Each command's module is imported only
# when the command is registered: `deskbridge sync` starts without the server, the push
# machinery or the demo (see main()).
COMMANDS: list[tuple[tuple[str, ...], Callable[[typer.Typer], None]]] = [
    (("sync",), _add("sync", "sync", "sync_cmd")),
    (("status",), _add("status", "status", "status")),
    (("check",), _add("check", "sync", "check")),
    (("connectors",), _add("connectors", "sync", "connectors")),
    (("sandbox",), _add("sandbox", "sandbox", "sandbox")),
    (("demo",), _add("demo", "demo", "demo")),
    (("serve",), _add("serve", "serve", "serve")),
    (("schema",), _add("schema", "schema", "schema")),
    (("export",), _add("export", "schema", "export")),
    (("state",), _group("state", "sync", "state_app")),
    (("migrate", "push", "links", "mappings"), _push),
    (("deletes",), _group("deletes", "deletes", "deletes_app")),
    (("runs",), _add("runs", "runs", "runs")),
    (("query",), _add("query", "query", "query")),
    (("fields",), _add("fields", "fields", "fields")),
    (("config",), _group("config", "configcmd", "config_app")),
    (("warehouse",), _group("warehouse", "warehousecmd", "warehouse_app")),
]


def build(command: str | None = None) -> typer.Typer:
    """The CLI with every command, or with only ``command`` (what one invocation runs)."""
    new = typer.Typer(
        help="Move helpdesk data between helpdesks and into a DuckDB warehouse.",
        no_args_is_help=True,
    )
    new.callback()(_main)
    for names, register in COMMANDS:
        if command is None or command in names:
            register(new)
    _add_examples(new)
    common.guard(new)
    return new


# One example per command, shown at the end of its --help.
EXAMPLES = {
    "sync": "deskbridge sync support --push",
    "status": "deskbridge status support --json",
    "check": "deskbridge check support",
    "connectors": "deskbridge connectors",
    "sandbox": "deskbridge sandbox kayako --port 8080 --tickets 1000",
    "demo": "deskbridge demo --tickets 100 --db demo.duckdb",
    "serve": "deskbridge serve --health-port 9100",
    "schema": "deskbridge schema",
    "export": "deskbridge export exports/ --format parquet",
    "migrate": "deskbridge migrate --from support --to servicedesk --dry-run",
    "push": "deskbridge push helpdesk_to_billing --dry-run",
    "runs": "deskbridge runs support; deskbridge runs show 12",
    "fields": "deskbridge fields support --samples 5",
    "query": 'deskbridge query "SELECT status_category, count(*) FROM tickets GROUP BY ALL" --csv',
    "state reset": "deskbridge state reset support --stream tickets",
    "links export": "deskbridge links export --out crosswalk.csv",
    "links people": "deskbridge links people helpdesk_to_billing --csv",
    "links reset": "deskbridge links reset helpdesk_to_billing --pending",
    "mappings check": "deskbridge mappings check trackit",
    "deletes list": "deskbridge deletes list support",
    "deletes confirm": "deskbridge deletes confirm support --entity tickets",
    "deletes reject": "deskbridge deletes reject support",
    "config show": "deskbridge config show --json",
    "warehouse migrate": "deskbridge warehouse migrate --to ducklake --catalog env:LAKE_PG --data-path lake/",
}


def _add_examples(typer_app: typer.Typer, prefix: str = "") -> None:
    for info in typer_app.registered_commands:
        assert info.callback is not None
        name = prefix + (info.name or info.callback.__name__.lower().replace("_", "-"))
        info.epilog = info.epilog or f"Example: {EXAMPLES[name]}"
    for group in typer_app.registered_groups:
        assert group.typer_instance is not None and group.name is not None
        _add_examples(group.typer_instance, f"{prefix}{group.name} ")


# Global options an operator may also put after the command (`deskbridge serve --log-text`).
GLOBAL_FLAGS = frozenset({"--log-json", "--log-text", "--debug"})
GLOBAL_VALUED = frozenset({"--log-level"})


def hoist_global_options(args: list[str]) -> list[str]:
    """``args`` with the global options moved in front of the command, where typer reads them."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest += args[i:]
            break
        if arg in GLOBAL_FLAGS or (arg.split("=", 1)[0] in GLOBAL_VALUED and "=" in arg):
            front.append(arg)
        elif arg in GLOBAL_VALUED and i + 1 < len(args):
            front += [arg, args[i + 1]]
            i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest


def _command_of(args: list[str]) -> str | None:
    """The command ``args`` (global options in front) run, if it is one of ours."""
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in GLOBAL_VALUED else 1
    known = {name for names, _ in COMMANDS for name in names}
    return args[i] if i < len(args) and args[i] in known else None


def main() -> None:
    """The ``deskbridge`` console script."""
    args = hoist_global_options(sys.argv[1:])
    command = build(_command_of(args))
    gc.freeze()  # the command's modules are loaded (cli/launch.py): no collection rescans them
    gc.enable()
    command(args=args, prog_name="deskbridge")


def __getattr__(name: str) -> typer.Typer:
    """``app``: the CLI with every command, built on first use (tests, documentation)."""
    if name != "app":
        raise AttributeError(name)
    globals()["app"] = built = build()
    return built
