"""``deskbridge schema`` and ``export``: the warehouse described, and written out for other tools."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from deskbridge.cli import common
from deskbridge.cli.common import ConfigOpt, console


def schema() -> None:
    """Print the data dictionary (every table, view and column) as Markdown."""
    from deskbridge.warehouse.dictionary import markdown

    sys.stdout.write(markdown())


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
    from deskbridge.warehouse.reports import read_only
    from deskbridge.warehouse.snapshot import lake_snapshot

    if fmt not in FORMATS:
        common.fail(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    lake = common.lake(common.settings(config)) if db is None else None
    if lake is not None:
        with lake_snapshot(lake) as con:
            written = write(con, out_dir, fmt)
        source = lake.describe()
    else:
        db = common.require_warehouse(db or _default_source(config))
        with read_only(db) as con:
            written = write(con, out_dir, fmt)
        source = str(db)
    table = Table("relation", "rows", "file", title=f"Exported {source}")
    for name, rows, path in written:
        table.add_row(name, str(rows), str(path))
    console.print(table)


def _default_source(config: Path | None) -> Path:
    """The analysts' snapshot if one was published, else the warehouse itself."""
    from deskbridge.warehouse.snapshot import snapshot_path

    primary = common.settings(config).warehouse.path
    return snapshot_path(primary) if snapshot_path(primary).exists() else primary
