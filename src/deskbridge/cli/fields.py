"""``deskbridge fields``: a connection's custom ticket fields, as the last sync read them."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from deskbridge.cli import common
from deskbridge.cli.common import ConfigOpt, DbOpt, console
from deskbridge.cli.status import dumps
from deskbridge.warehouse.fields import catalog_rows, view_name
from deskbridge.warehouse.status import synced_connections
from deskbridge.warehouse.store import Warehouse


def fields(
    connection: Annotated[str, typer.Argument(help="Connection whose custom fields to list.")],
    samples: Annotated[
        int, typer.Option("--samples", min=0, help="Most common values shown per field.")
    ] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON list of objects.")] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Custom ticket fields: key (what a link mapping names), vendor id, label, type, writable,
    how many tickets set it and its most common values."""
    path = db or common.db_path(common.settings(config), None)
    with Warehouse(common.require_warehouse(path)) as wh:
        known = synced_connections(wh.con)
        if connection not in known:
            common.unknown("connection", connection, known, "connections in the warehouse")
        rows = catalog_rows(wh.con, connection, samples)
    if as_json:
        print(dumps(rows))
    elif not rows:
        console.print(
            f"{connection}: no custom fields (its vendor's API exposes none, "
            "or no sync has read them yet)"
        )
    else:
        console.print(_table(connection, rows))
        console.print(f"Pivoted per ticket in the view {view_name(connection)}", highlight=False)


def _table(connection: str, rows: list[dict[str, Any]]) -> Table:
    table = Table(
        "key",
        "vendor id",
        "label",
        "type",
        "writable",
        "tickets",
        "sample values",
        title=f"Custom fields of {connection}",
    )
    for row in rows:
        shown = row["samples"] or row["choices"] or []
        table.add_row(
            row["key"],
            row["field_id"] or "",
            row["label"] or "",
            row["type"],
            "yes" if row["writable"] else "no",
            str(row["tickets"]),
            ", ".join(shown),
        )
    return table
