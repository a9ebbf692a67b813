"""``deskbridge serve``: every connection's sync on its schedule, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from deskbridge.cli import common, logs
from deskbridge.cli.common import LOGGING, ConfigOpt, DbOpt
from deskbridge.sdk.errors import DeskbridgeError


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

    as_json = LOGGING.get("json")
    logs.configure(str(LOGGING.get("level") or "info"), True if as_json is None else bool(as_json))
    settings = common.settings(config)
    common.require_connections(settings, names or [])
    require_free(health_port)
    try:
        backoff = Backoff(parse_duration(backoff_base), parse_duration(backoff_max))
        options = ServiceOptions(snapshot, health_port, backoff, parse_duration(stop_timeout))
        service = Service(settings, common.db_path(settings, db), options, names or None)
    except (DeskbridgeError, ValueError) as exc:
        common.fail(str(exc))
    clean = asyncio.run(service.run())
    if not clean:  # a run ignored cancellation; its worker thread must not hold the exit
        sys.stderr.flush()
        os._exit(1)


def require_free(port: int) -> None:
    """Fail before anything starts when the health port is taken."""
    from deskbridge.sandbox import PortInUse, bind

    try:
        bind(port).close()
    except PortInUse as exc:
        common.fail(f"--health-port {port}: {exc}; choose another with --health-port")
