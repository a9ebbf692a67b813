"""``deskbridge warehouse``: the warehouse itself, moved from one DuckDB file into a DuckLake."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from deskbridge.cli import common
from deskbridge.cli.common import ConfigOpt, DbOpt, console
from deskbridge.config import WarehouseConfig

warehouse_app = typer.Typer(
    help="The warehouse itself: grow from one DuckDB file into a DuckLake.", no_args_is_help=True
)


@warehouse_app.command("migrate")
def migrate(
    to: Annotated[str, typer.Option("--to", help="The backend to copy into: ducklake.")],
    catalog: Annotated[
        str | None,
        typer.Option(
            "--catalog",
            help="env:NAME of a PostgreSQL connection string, or a .ducklake file "
            "(default: \\[warehouse] catalog).",
        ),
    ] = None,
    data_path: Annotated[
        Path | None,
        typer.Option("--data-path", help="Directory for the Parquet files (default: config)."),
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Copy the file warehouse (tables, state, runs, crosswalk) into an empty lake."""
    from deskbridge.warehouse.lake import lake_spec
    from deskbridge.warehouse.lakecopy import copy_file_into

    if to != "ducklake":
        common.fail(f"--to {to!r}: the only target is ducklake")
    settings = common.settings(config)
    source = common.require_warehouse(common.db_path(settings, db))
    try:
        target = WarehouseConfig(
            backend="ducklake",
            catalog=catalog or settings.warehouse.catalog,
            data_path=data_path or settings.warehouse.data_path,
        )
    except ValidationError as exc:
        common.fail(f"warehouse migrate: {exc.errors()[0]['msg'].removeprefix('Value error, ')}")
    spec = lake_spec(target)
    counts = copy_file_into(source, spec)
    table = Table("table", "rows", title=f"Copied {source} into {spec.describe()}")
    for name, rows in counts.items():
        table.add_row(name, str(rows))
    console.print(table)
    console.print(
        'Now set [warehouse] backend = "ducklake" with this catalog and data_path; '
        f"{source} is left as it was."
    )
