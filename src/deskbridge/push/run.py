"""One cycle of a link: pull both sides, recover interrupted writes, plan, then execute."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import structlog

from deskbridge import registry
from deskbridge.config import LinkConfig, Settings, Side
from deskbridge.pull import engine
from deskbridge.push import crosswalk
from deskbridge.push.executor import PushResult, TransportFor, push_link, recorded
from deskbridge.push.preflight import PreflightError, preflight
from deskbridge.sdk.contract import Capability, Progress
from deskbridge.warehouse.store import Warehouse

log = structlog.get_logger("deskbridge.push")
Scope = Callable[[Warehouse], set[str] | None]


async def run_link(
    wh: Warehouse,
    settings: Settings,
    link: LinkConfig,
    *,
    dry_run: bool = False,
    pull: bool = True,
    only: set[str] | None = None,
    scope: Scope | None = None,
    transport_for: TransportFor = lambda name: None,
    plan_file: Path | None = None,
    progress: Progress | None = None,
    mode: str = "sync",
    check: bool = False,
    author_option: str | None = None,
) -> PushResult:
    """Pull ``link.a`` and ``link.b`` (unless ``pull`` is false), then push what differs.

    ``scope``: chooses ``only`` from the freshly pulled warehouse (a demo or delta migration).
    ``check``: run the link's preflight first (dry runs too) and raise
    :class:`~deskbridge.push.preflight.PreflightError` on any problem, before any write;
    ``author_option`` names the command-line option that sets the author, for its messages.
    """
    if pull:
        for name in (link.a, link.b):
            config = settings.connections[name]
            await engine.sync(wh, config, transport=transport_for(name), progress=progress)
    if scope is not None:
        only = scope(wh)
    limits = _preflight(wh, settings, link, author_option, dry_run) if check else []
    if not dry_run:
        await recover_pending(wh, settings, link, transport_for, pulled=pull)
    result = await push_link(
        wh,
        settings,
        link,
        dry_run=dry_run,
        only=only,
        transport_for=transport_for,
        plan_file=plan_file,
        progress=progress,
        mode=mode,
    )
    result.limits = limits
    return result


def _preflight(
    wh: Warehouse, settings: Settings, link: LinkConfig, author_option: str | None, dry_run: bool
) -> list[str]:
    """The checks that were limited; raises on any problem, recorded as a failed push."""
    report = preflight(wh, settings, link, author_option)
    for line in report.limits:
        log.info("push.preflight_limited", link=link.name, detail=line)
    if report.problems:
        stopped = PushResult(
            link.name, crosswalk.start_push(wh.con, link.name, dry_run), dry_run, []
        )
        with recorded(wh, stopped):
            raise PreflightError(report)
    return report.limits


async def recover_pending(
    wh: Warehouse,
    settings: Settings,
    link: LinkConfig,
    transport_for: TransportFor,
    *,
    pulled: bool = True,
) -> None:
    """Re-read the target tickets of child writes a crash left pending, so their markers are seen.

    A pending ticket create is found by the target's pull, which lists new tickets: when this
    push did not just pull (``serve`` pushes after pulling one side), the target is pulled first,
    so a create whose answer was lost is found by its marker, never sent again. A target whose
    connector cannot re-read single tickets is not asked: the planner holds its pending writes
    back as failures, rather than risk writing them twice.
    """
    pairs: tuple[tuple[Side, Side], ...] = (("a", "b"), ("b", "a"))
    for target, origin in pairs:
        config = settings.connections[getattr(link, target)]
        if not pulled and crosswalk.unlocated_creates(wh.con, link.name, origin):
            await engine.sync(wh, config, transport=transport_for(config.name))
        tickets = crosswalk.pending_child_tickets(wh.con, link, origin)
        if tickets and not registry.get(config.type).connector_class().can(Capability.READ_TICKETS):
            log.warning(
                "push.cannot_recheck", link=link.name, connection=config.name, tickets=len(tickets)
            )
        elif tickets:
            await engine.reread(wh, config, tickets, transport=transport_for(config.name))
