"""``deskbridge runs``: the recent sync runs, and one run in full (``runs show ID``)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from deskbridge.cli import common
from deskbridge.cli.common import ConfigOpt, DbOpt, console
from deskbridge.cli.status import duration, reading, runs_table, when
from deskbridge.warehouse import status as report
from deskbridge.warehouse.status import RunRecord


def runs(
    target: Annotated[
        str | None,
        typer.Argument(
            metavar="[CONNECTION | show]", help="Only this connection's runs, or 'show'."
        ),
    ] = None,
    run_id: Annotated[
        int | None, typer.Argument(metavar="[ID]", help="The run 'show' details.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many runs to list.")] = 20,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Recent sync runs (all, or one connection's); 'runs show ID' details one run."""
    settings = common.settings(config)
    if target == "show":
        if run_id is None:
            common.fail("runs show: give the run's id, e.g. 'deskbridge runs show 12'")
        with reading(common.db_path(settings, db)) as con:
            run = report.run_record(con, run_id)
            if run is None:
                common.fail(f"no run {run_id}; 'deskbridge runs' lists them")
            _show(run)
        return
    if target is not None:
        common.require_connections(settings, [target])
    with reading(common.db_path(settings, db)) as con:
        console.print(runs_table(report.recent_runs(con, limit, target), title="Runs"))


def _show(run: RunRecord) -> None:
    took = duration(run.duration_s) if run.duration_s is not None else "-"
    console.print(
        f"Run {run.run_id}: {run.connection}, {run.status}"
        f"{' (full refresh)' if run.full_refresh else ''}\n"
        f"started {when(run.started_at)}, ended {when(run.ended_at)}, took {took}",
        highlight=False,
    )
    console.print(_streams_table(run))
    requests = Table("kind", "requests", title="Requests")
    requests.add_row("incremental", str(run.requests))
    requests.add_row("reconcile", str(run.reconcile_requests))
    requests.add_row("write", "0")  # a sync run only reads; pushes write (deskbridge push)
    console.print(requests)
    if run.error:
        console.print("Error:", style="bold red")
        console.print(run.error, markup=False, highlight=False)


def _streams_table(run: RunRecord) -> Table:
    read, written, deleted = (run.per_entity(k) for k in ("read", "changed", "deleted"))
    table = Table("stream", "read", "written", "deleted", title="Rows")
    for entity in sorted(read.keys() | written.keys() | deleted.keys()):
        table.add_row(
            entity,
            str(read.get(entity, 0)),
            str(written.get(entity, 0)),
            str(deleted.get(entity, 0)),
        )
    return table
