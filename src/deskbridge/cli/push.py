"""CLI commands of the push side: ``migrate``, ``push``, ``links export``, ``links people`` and ``links reset``."""

from __future__ import annotations

import asyncio
import csv
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from deskbridge.cli import common
from deskbridge.config import LinkConfig, Settings, Side
from deskbridge.push.crosswalk import Record, export_rows, known_links, people_rows, reset_link
from deskbridge.push.executor import PushResult, plan_summary
from deskbridge.push.migrate import MigrationReport, migrate, migration_link
from deskbridge.push.preflight import PreflightError
from deskbridge.push.run import run_link
from deskbridge.sdk.errors import ConfigError
from deskbridge.warehouse.store import Warehouse

links_app = typer.Typer(help="Links between connections: the id crosswalk.", no_args_is_help=True)
mappings_app = typer.Typer(
    help="Field and value mapping files (mappings/*.toml).", no_args_is_help=True
)


def plan_path(link: str) -> Path:
    return Path("plans") / f"{link}-{datetime.now():%Y%m%d-%H%M%S}.json"


def print_push(console: Console, result: PushResult, plan_file: Path | None) -> None:
    """The plan ("would do") or what was done, per action: done, failed; then each failure."""
    if not result.actions:
        console.print(f"Link {result.link}: nothing to push")
    elif result.dry_run:
        table = Table("action", "count", title=f"Link {result.link}: would do")
        for what, n in sorted(plan_summary(result.actions).items()):
            table.add_row(what, str(n))
        console.print(table)
    else:
        console.print(did_table(result))
    if plan_file is not None:
        console.print(f"plan written to {plan_file}")
    for what, source_id, reason in result.failed[:20]:
        console.print(f"[red]failed[/] {what} {source_id}: {reason}", highlight=False)
    if len(result.failed) > 20:
        console.print(f"… {len(result.failed) - 20} more failed actions: see push_failures")
    print_limits(console, result.limits)


def did_table(result: PushResult) -> Table:
    table = Table("action", title=f"Link {result.link}: did")
    for column in ("planned", "done", "failed"):
        table.add_column(column, justify="right")
    table.add_column("status")
    for what, planned in sorted(plan_summary(result.actions).items()):
        got = result.outcomes.get(what, Counter())
        status = (
            "[red]failed[/]"
            if got["failed"] and not got["done"]
            else "[yellow]partly failed[/]"
            if got["failed"]
            else "done"
            if got["done"] >= planned
            else "not run"
        )
        table.add_row(what, str(planned), str(got["done"]), str(got["failed"]), status)
    return table


def print_limits(console: Console, limits: list[str]) -> None:
    for line in limits:
        console.print(f"[yellow]check limited:[/] {line}", highlight=False)


def print_refused(link: str, error: PreflightError) -> None:
    """A link stopped by its preflight: one line per problem, on stderr; nothing was written."""
    for line in error.report.problems:
        common.err.print(f"[bold red]error:[/] {escape(line)}", highlight=False)
    print_limits(common.err, error.report.limits)
    n = len(error.report.problems)
    common.err.print(
        f"Link {link}: stopped before any write ({n} problem{'s' if n > 1 else ''})",
        highlight=False,
    )


async def push_links(
    settings: Settings,
    links: list[LinkConfig],
    db: Path,
    *,
    dry_run: bool,
    pull: bool,
    console: Console,
) -> bool:
    ok = True
    with Warehouse(
        db, memory_limit=settings.warehouse.memory_limit, lock_wait_s=settings.warehouse.lock_wait_s
    ) as wh:
        for link in links:
            plan_file = plan_path(link.name) if dry_run else None
            try:
                result = await run_link(
                    wh, settings, link, dry_run=dry_run, pull=pull, plan_file=plan_file, check=True
                )
            except PreflightError as exc:
                print_refused(link.name, exc)
                ok = False
                continue
            print_push(console, result, plan_file)
            ok &= not result.failures
    return ok


def print_report(console: Console, report: MigrationReport, path: Path) -> None:
    table = Table(
        "entity", "migrated", "failed", "skipped", title=f"Migration {report.link} ({report.mode})"
    )
    for entity, c in report.rows.items():
        table.add_row(entity, str(c["migrated"]), str(c["failed"]), str(c["skipped"]))
    console.print(table)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.markdown())
    console.print(f"report written to {path}")


def run_migration(
    settings: Settings,
    db: Path,
    source: str,
    target: str,
    *,
    demo: int | None,
    dry_run: bool,
    delta: bool,
    author: str | None,
    report_file: Path | None,
    console: Console,
) -> bool:
    link = migration_link(settings, source, target, author)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with (
        Warehouse(
            db,
            memory_limit=settings.warehouse.memory_limit,
            lock_wait_s=settings.warehouse.lock_wait_s,
        ) as wh,
        Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar,
    ):
        task = bar.add_task("migrating", total=None)

        def progress(stage: str, done: int, total: int | None) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        plan_file = plan_path(link.name) if dry_run else None
        try:
            result, report = asyncio.run(
                migrate(
                    wh,
                    settings,
                    link,
                    demo=demo,
                    dry_run=dry_run,
                    delta=delta,
                    plan_file=plan_file,
                    progress=progress,
                    check=True,
                )
            )
        except PreflightError as exc:
            print_refused(link.name, exc)
            return False
    print_push(console, result, plan_file)
    stamp = f"{datetime.now():%Y%m%d-%H%M%S}"
    print_report(
        console, report, report_file or Path("reports") / f"{link.name}-{report.mode}-{stamp}.md"
    )
    return not result.failures


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


def migrate_cmd(
    source: Annotated[str, typer.Option("--from", help="Connection to copy from.")],
    target: Annotated[str, typer.Option("--to", help="Connection to copy into.")],
    demo: Annotated[
        int | None, typer.Option("--demo", help="Migrate only the first N tickets, for review.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan only; write nothing to the target.")
    ] = False,
    delta: Annotated[
        bool, typer.Option("--delta", help="Only what changed since the last full run started.")
    ] = False,
    author: Annotated[
        str | None,
        typer.Option(
            help="Target people id that writes notes and time (e.g. staff:1), over the link's author."
        ),
    ] = None,
    report: Annotated[Path | None, typer.Option(help="Markdown report path.")] = None,
    config: common.ConfigOpt = None,
    db: common.DbOpt = None,
) -> None:
    """Copy tickets with their notes and time entries from one helpdesk into another."""
    settings = common.settings(config)
    for name in (source, target):
        if name not in settings.connections:
            common.fail(
                f"unknown connection {name!r}; configured: {', '.join(settings.connections)}"
            )
    ok = run_migration(
        settings,
        common.db_path(settings, db),
        source,
        target,
        demo=demo,
        dry_run=dry_run,
        delta=delta,
        author=author,
        report_file=report,
        console=common.console,
    )
    raise typer.Exit(0 if ok else 1)


def push_cmd(
    names: Annotated[list[str] | None, typer.Argument(help="Links to push (default: all).")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print and save the plan; write nothing.")
    ] = False,
    config: common.ConfigOpt = None,
    db: common.DbOpt = None,
) -> None:
    """Pull both sides of each link, then push what differs."""
    settings = common.settings(config)
    chosen = [settings.links[n] for n in (names or settings.links) if n in settings.links]
    if names and len(chosen) != len(names):
        common.fail(f"unknown link; configured: {', '.join(settings.links) or 'none'}")
    ok = asyncio.run(
        push_links(
            settings,
            chosen,
            common.db_path(settings, db),
            dry_run=dry_run,
            pull=True,
            console=common.console,
        )
    )
    raise typer.Exit(0 if ok else 1)


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


def register(app: typer.Typer) -> None:
    """Add the push commands to the main CLI."""
    app.command("migrate")(migrate_cmd)
    app.command("push")(push_cmd)
    app.add_typer(links_app, name="links")
    app.add_typer(mappings_app, name="mappings")
