"""``deskbridge query``: SQL on the warehouse, read-only, as a table, CSV or JSON."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated, Any

import duckdb
import typer
from rich.table import Table

from deskbridge.cli import common
from deskbridge.cli.common import ConfigOpt, DbOpt, console
from deskbridge.cli.status import dumps
from deskbridge.warehouse.reports import Report
from deskbridge.warehouse.reports import query as run_query


def query(
    sql: Annotated[str, typer.Argument(help="The SQL to run (read-only).")],
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV with a header line.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON list of objects.")] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Run SQL read-only on the analysts' snapshot if there is one, else on the warehouse."""
    from deskbridge.warehouse.reports import query_on
    from deskbridge.warehouse.snapshot import lake_snapshot, snapshot_path

    # --db alone needs no config: the demo's closing hint runs where there is none.
    settings = common.settings(config) if db is None else None
    lake = common.lake(settings) if settings else None
    path = db or common.db_path(settings, None)  # type: ignore[arg-type]
    snap = snapshot_path(path)
    source = snap if snap.exists() else path
    try:
        if lake:
            source = Path(lake.describe())
            with lake_snapshot(lake) as con:
                answer = query_on(con, sql)
        else:
            answer = run_query(common.require_warehouse(source), sql)
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        common.fail(f"query: {first} (the SQL runs read-only on {source})", 1)
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(answer.columns)
        writer.writerows(answer.rows)
    elif as_json:
        print(dumps(_objects(answer)))
    else:
        console.print(answer_table(answer))


def _objects(answer: Report) -> list[dict[str, Any]]:
    return [dict(zip(answer.columns, row, strict=True)) for row in answer.rows]


def answer_table(answer: Report) -> Table:
    table = Table(*answer.columns)
    for row in answer.rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    return table
