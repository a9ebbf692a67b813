"""How a push and a migration are printed: the plan or what was done, failures, refusals, reports."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from deskbridge.cli import common
from deskbridge.push.executor import PushResult, plan_summary
from deskbridge.push.migrate import MigrationReport
from deskbridge.push.preflight import PreflightError


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
