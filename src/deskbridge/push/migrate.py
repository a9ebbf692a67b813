"""``deskbridge migrate``: a one-off copy from one helpdesk into another, through a one-way link.

The same planner, crosswalk and executor as two-way sync, so a migration is resumable after a
crash without duplicates, a second run changes nothing, and ``--delta`` after cutover moves
only what changed since the last full run started.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from deskbridge.config import LinkConfig, Settings
from deskbridge.push import crosswalk
from deskbridge.push.executor import PushResult, TransportFor
from deskbridge.push.run import Scope, run_link
from deskbridge.sdk.contract import Progress
from deskbridge.warehouse.store import Warehouse, utcnow

ENTITIES = ("tickets", "notes", "time_entries")


@dataclass
class MigrationReport:
    link: str
    mode: str
    started: datetime
    rows: dict[str, Counter[str]] = field(default_factory=dict)  # entity -> migrated/failed/skipped
    reasons: list[tuple[str, str, str]] = field(default_factory=list)  # entity, source id, reason
    plan_only: bool = False

    def markdown(self) -> str:
        lines = [
            f"# Migration report: {self.link}",
            "",
            f"Mode: {self.mode}. Started {self.started:%Y-%m-%d %H:%M:%S} UTC.",
            "",
            "| entity | migrated | failed | skipped |",
            "|---|---|---|---|",
        ]
        for entity in ENTITIES:
            c = self.rows.get(entity, Counter())
            lines.append(f"| {entity} | {c['migrated']} | {c['failed']} | {c['skipped']} |")
        if self.reasons:
            lines += ["", "## Not migrated", "", "| entity | source id | reason |", "|---|---|---|"]
            lines += [f"| {e} | {s} | {r.replace('|', '/')} |" for e, s, r in self.reasons]
        return "\n".join(lines) + "\n"


def migration_link(settings: Settings, source: str, target: str, author: str | None) -> LinkConfig:
    """The configured link from ``source`` to ``target`` if there is one, else a default one-way link.

    ``author`` (``--author``) writes on the target, over the link's own.
    """
    for link in settings.links.values():
        if (link.a, link.b) == (source, target):
            authors = {**link.author, "b": author} if author else link.author
            return link.model_copy(update={"direction": "a_to_b", "author": authors})
    target_cls = _connector_class(settings, target)
    fields = [f for f in ("subject", "status", "priority") if f in target_cls.writable_fields]
    return LinkConfig(
        name=f"migrate_{source}_to_{target}",
        a=source,
        b=target,
        direction="a_to_b",
        fields=fields,
        author={"b": author} if author else {},
    )


def _connector_class(settings: Settings, name: str):  # type: ignore[no-untyped-def]
    from deskbridge import registry

    return registry.get(settings.connections[name].type).connector_class()


async def migrate(
    wh: Warehouse,
    settings: Settings,
    link: LinkConfig,
    *,
    demo: int | None = None,
    dry_run: bool = False,
    delta: bool = False,
    transport_for: TransportFor = lambda name: None,
    plan_file: Path | None = None,
    progress: Progress | None = None,
    check: bool = False,
) -> tuple[PushResult, MigrationReport]:
    """One cycle of the one-way ``link`` (:func:`run_link`), and its report.

    ``check``: preflight first (:mod:`deskbridge.push.preflight`); ``--author`` fixes a missing author.
    """
    mode = "demo" if demo else "delta" if delta else "full"
    started = utcnow()
    result = await run_link(
        wh,
        settings,
        link,
        dry_run=dry_run,
        scope=_scope(link, demo, delta),
        transport_for=transport_for,
        plan_file=plan_file,
        progress=progress,
        mode=mode,
        check=check,
        author_option="--author",
    )
    return result, report(result, mode, started)


def _scope(link: LinkConfig, demo: int | None, delta: bool) -> Scope | None:
    """Which source tickets a demo (the first ``demo``) or a delta (those changed) moves."""
    if demo:
        return lambda wh: crosswalk.first_tickets(wh.con, link.a, demo)
    if delta:
        return lambda wh: crosswalk.changed_since_full_run(wh.con, link)
    return None


def report(result: PushResult, mode: str, started: datetime) -> MigrationReport:
    out = MigrationReport(result.link, mode, started, plan_only=result.dry_run)
    failed = {(e, s) for e, s, _ in result.failures}
    for action in result.actions:
        bucket = out.rows.setdefault(action.entity, Counter())
        if action.kind == "skip" or (action.kind in ("rebase", "unlink") and action.reason):
            bucket["skipped"] += 1
            out.reasons.append((action.entity, action.origin_id, action.reason))
        elif (action.entity, action.origin_id) in failed:
            bucket["failed"] += 1
        elif action.kind not in ("rebase", "unlink") and not action.kind.startswith("delete_"):
            bucket["migrated"] += 1
            if (
                action.kind == "create_ticket" and action.reason
            ):  # landed, without what could not be matched
                out.reasons.append((action.entity, action.origin_id, action.reason))
    out.reasons += [(e, s, r) for e, s, r in result.failures]
    return out
