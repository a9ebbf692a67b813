"""``deskbridge deletes``: the deletions a run held instead of applying (see deskbridge.pull.deletions)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from deskbridge.cli import common
from deskbridge.cli.common import console
from deskbridge.warehouse.status import synced_connections
from deskbridge.warehouse.store import Warehouse

deletes_app = typer.Typer(
    help="Deletions held for confirmation: absent from a listing, not proven gone by the vendor.",
    no_args_is_help=True,
)
ConfigOpt = common.ConfigOpt
DbOpt = common.DbOpt
EntityOpt = Annotated[
    str | None, typer.Option("--entity", help="Only this entity (tickets, notes, ...).")
]


@deletes_app.command("list")
def list_(
    connection: Annotated[str | None, typer.Argument(help="Connection (default: all).")] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Every held deletion, with the reason it was held."""
    with _warehouse(config, db, connection) as wh:
        rows = wh.held_deletions(connection)
    table = Table(
        "connection",
        "entity",
        "source id",
        "ticket",
        "detected",
        "why held",
        title="Held deletions",
    )
    for name, entity, source_id, ticket_id, reason, detected in rows:
        table.add_row(
            name, entity, source_id, ticket_id or "", f"{detected:%Y-%m-%d %H:%M}", reason or ""
        )
    console.print(table)
    console.print(f"{len(rows)} held")


@deletes_app.command()
def confirm(
    connection: Annotated[str, typer.Argument(help="Connection whose held deletions to apply.")],
    entity: EntityOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Apply the held deletions: the rows get deleted_at (a push does not propagate them)."""
    _resolve(connection, entity, config, db, confirm=True)


@deletes_app.command()
def reject(
    connection: Annotated[str, typer.Argument(help="Connection whose held deletions to drop.")],
    entity: EntityOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Drop the held deletions: the rows stay live (a later listing may suspect them again)."""
    _resolve(connection, entity, config, db, confirm=False)


def _warehouse(config: Path | None, db: Path | None, connection: str | None) -> Warehouse:
    """The warehouse, once it is known to hold ``connection`` (if one is named)."""
    settings = common.settings(config)
    wh = Warehouse(common.require_warehouse(common.db_path(settings, db)))
    known = synced_connections(wh.con)
    if connection is not None and connection not in known:
        wh.close()
        common.unknown("connection", connection, known, "connections in the warehouse")
    return wh


def _resolve(
    connection: str, entity: str | None, config: Path | None, db: Path | None, *, confirm: bool
) -> None:
    with _warehouse(config, db, connection) as wh:
        counts = wh.resolve_held(connection, confirm=confirm, entity=entity)
    done = "deleted (proof: operator)" if confirm else "kept (no longer suspected)"
    for name, n in sorted(counts.items()):
        console.print(f"{connection}: {n} {name} {done}")
    if not counts:
        console.print(f"{connection}: no held deletions")
