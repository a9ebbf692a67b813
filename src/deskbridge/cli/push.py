"""CLI commands of the push side: ``migrate`` and ``push`` here; ``links`` and ``mappings`` in
:mod:`deskbridge.cli.links`, registered with them."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from deskbridge.cli import common
from deskbridge.cli.links import links_app, mappings_app
from deskbridge.cli.pushprint import plan_path, print_push, print_refused, print_report
from deskbridge.config import LinkConfig, Settings
from deskbridge.push.migrate import migrate, migration_link
from deskbridge.push.preflight import PreflightError
from deskbridge.push.run import run_link
from deskbridge.warehouse.store import Warehouse


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


def register(app: typer.Typer) -> None:
    """Add the push commands to the main CLI."""
    app.command("migrate")(migrate_cmd)
    app.command("push")(push_cmd)
    app.add_typer(links_app, name="links")
    app.add_typer(mappings_app, name="mappings")
