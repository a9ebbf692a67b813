"""CLI commands ``links export``, ``links people``, ``links reset`` and ``mappings check``:
what a link holds in the warehouse and whether its mappings fit both sides."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from deskbridge.cli import common
from deskbridge.config import LinkConfig, Side
from deskbridge.push.crosswalk import Record, export_rows, known_links, people_rows, reset_link
from deskbridge.sdk.errors import ConfigError
from deskbridge.warehouse.store import Warehouse

links_app = typer.Typer(help="Links between connections: the id crosswalk.", no_args_is_help=True)
mappings_app = typer.Typer(
    help="Field and value mapping files (mappings/*.toml).", no_args_is_help=True
)


def print_people(link: LinkConfig, db: Path, as_csv: bool, console: Console) -> int:
    """Print the people match of ``link`` from the warehouse; returns how many matched nobody."""
    from deskbridge.push.people import PEOPLE_FIELDS, PeopleMatcher

    with Warehouse(db) as wh:
        kinds = {PEOPLE_FIELDS[f] for f in link.fields if f in PEOPLE_FIELDS} or None
        people: dict[Side, Any] = {
            "a": people_rows(wh.con, link.a),
            "b": people_rows(wh.con, link.b),
        }
        rows = PeopleMatcher(people, link.people).report(kinds)
    if as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["kind", "a_id"])
        writer.writeheader()
        writer.writerows(rows)
    else:
        table = Table(
            "kind",
            f"{link.a}",
            "name, e-mail",
            f"{link.b}",
            "name, e-mail",
            "matched by",
            title=f"People of link {link.name}",
        )
        for r in rows:
            table.add_row(
                r["kind"],
                r["a_id"],
                _who(r["a_name"], r["a_email"]),
                r["b_id"] or "-",
                _who(r["b_name"], r["b_email"]),
                r["matched_by"],
                style=None if r["b_id"] else "red",
            )
        console.print(table)
    unmatched = sum(1 for r in rows if not r["b_id"])
    if not as_csv:
        console.print(
            f"{len(rows) - unmatched} matched, {unmatched} unmatched (add them to links.{link.name}.people)"
        )
    return unmatched


def _who(name: str | None, email: str | None) -> str:
    return ", ".join(x for x in (name, email) if x) or "-"


def export_crosswalk(db: Path, out: Path | None) -> None:
    with Warehouse(db) as wh:
        header, rows = export_rows(wh.con)
    stream = out.open("w", newline="") if out else sys.stdout
    try:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    finally:
        if out:
            stream.close()


@links_app.command("export")
def export_cmd(
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV (the only format).")] = True,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="File (default: standard output).")
    ] = None,
    config: common.ConfigOpt = None,
    db: common.DbOpt = None,
) -> None:
    """Write the crosswalk: every linked record's ids on both sides and what was last pushed."""
    export_crosswalk(common.db_path(common.settings(config), db), out)


@links_app.command("people")
def people_cmd(
    name: Annotated[str, typer.Argument(help="Link name.")],
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV instead of a table.")] = False,
    config: common.ConfigOpt = None,
    db: common.DbOpt = None,
) -> None:
    """Who each side-a person becomes on side b (assignee_id, requester_id), and how they matched."""
    settings = common.settings(config)
    if name not in settings.links:
        common.fail(f"unknown link {name!r}; configured: {', '.join(settings.links) or 'none'}")
    unmatched = print_people(
        settings.links[name], common.db_path(settings, db), as_csv, common.console
    )
    raise typer.Exit(0 if not unmatched else 3)


@links_app.command("reset")
def reset_cmd(
    name: Annotated[str, typer.Argument(help="Link name.")],
    pending: Annotated[
        bool,
        typer.Option("--pending", help="Crosswalk rows of writes not known to have landed."),
    ] = False,
    failed: Annotated[
        bool,
        typer.Option("--failed", help="Unresolved push failures (their attempts start again)."),
    ] = False,
    record: Annotated[
        list[str] | None,
        typer.Option(
            "--record", help="ENTITY:ID on either side, e.g. notes:reply:12 (repeatable)."
        ),
    ] = None,
    config: common.ConfigOpt = None,
    db: common.DbOpt = None,
) -> None:
    """Forget what a link holds: everything (no option), or pending rows, failures, single records."""
    settings = common.settings(config)
    try:
        records = tuple(Record.parse(r) for r in record or [])
    except ConfigError as exc:
        common.fail(str(exc))
    path = common.db_path(settings, db)
    if not path.exists():
        common.fail(f"{path}: no warehouse yet; nothing to reset")
    with Warehouse(path) as wh:
        known = known_links(wh.con)
        if name not in known and name not in settings.links:
            common.fail(
                f"unknown link {name!r}; links in the warehouse: {', '.join(known) or 'none'}"
            )
        removed = reset_link(wh, name, pending=pending, failed=failed, records=records)
    parts = [f"{n} {table} rows" for table, n in removed.items() if n]
    common.console.print(
        f"links reset {name}: removed {', '.join(parts) if parts else 'nothing'}",
        highlight=False,
    )


@mappings_app.command("check")
def mappings_check(
    vendors: Annotated[list[str] | None, typer.Argument(help="Vendors (default: all).")] = None,
    config: common.ConfigOpt = None,
    db: common.DbOpt = None,
) -> None:
    """Validate every mapping file against its connector's field catalog, and with a config and
    its warehouse, every link's custom fields against both sides' field catalogs."""
    from deskbridge.push.mapcheck import check_all, check_links

    problems = check_all(vendors or None)
    for problem in problems:
        common.console.print(str(problem), highlight=False)
    errors = [str(p) for p in problems if p.severity == "error"]
    warnings = len(problems) - len(errors)
    if config is not None or common.config_path(None).is_file():
        settings = common.settings(config)
        path = common.db_path(settings, db)
        if settings.links and path.exists():
            with Warehouse(path, read_only=True) as wh:
                bad, limits = check_links(wh, settings)
            for line in [*bad, *limits]:
                common.console.print(line, highlight=False)
            errors, warnings = errors + bad, warnings + len(limits)
    common.console.print(f"{len(errors)} errors, {warnings} warnings")
    raise typer.Exit(1 if errors else 0)
