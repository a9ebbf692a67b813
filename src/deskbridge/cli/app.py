"""The ``deskbridge`` command line: the typer app, its global options and its commands, in order."""

from __future__ import annotations

from typing import Annotated

import typer

from deskbridge.cli import (
    common,
    configcmd,
    deletes,
    demo,
    logs,
    push,
    query,
    runs,
    sandbox,
    schema,
    serve,
    status,
    sync,
)
from deskbridge.cli.common import LOGGING

app = typer.Typer(
    help="Move helpdesk data between helpdesks and into a DuckDB warehouse.", no_args_is_help=True
)


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
app.add_typer(configcmd.config_app, name="config")
common.guard(app)
