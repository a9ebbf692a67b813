"""The ``deskbridge`` command line: the typer app, its global options and its commands, in order."""

from __future__ import annotations

import sys
from importlib import metadata
from typing import Annotated

import typer

from deskbridge.cli import (
    common,
    configcmd,
    deletes,
    demo,
    fields,
    logs,
    push,
    query,
    runs,
    sandbox,
    schema,
    serve,
    status,
    sync,
    warehousecmd,
)
from deskbridge.cli.common import LOGGING

app = typer.Typer(
    help="Move helpdesk data between helpdesks and into a DuckDB warehouse.", no_args_is_help=True
)


def _print_version(value: bool) -> None:
    if value:
        common.console.print(f"deskbridge {metadata.version('deskbridge')}", highlight=False)
        raise typer.Exit()


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
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    LOGGING.update(level=log_level, json=log_json, debug=debug)
    logs.configure(log_level or "warning", log_json)


# The order here is the order of `deskbridge --help`.
app.command("sync")(sync.sync_cmd)
app.command()(status.status)
app.command()(sync.check)
app.command()(sync.connectors)
app.command()(sandbox.sandbox)
app.command()(demo.demo)
app.command()(serve.serve)
app.command()(schema.schema)
app.command()(schema.export)
app.add_typer(sync.state_app, name="state")
push.register(app)
app.add_typer(deletes.deletes_app, name="deletes")
app.command()(runs.runs)
app.command()(query.query)
app.command()(fields.fields)
app.add_typer(configcmd.config_app, name="config")
app.add_typer(warehousecmd.warehouse_app, name="warehouse")

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


_add_examples(app)
common.guard(app)

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


def main() -> None:
    """The ``deskbridge`` console script."""
    app(args=hoist_global_options(sys.argv[1:]), prog_name="deskbridge")
