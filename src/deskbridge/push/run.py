"""One cycle of a link: pull both sides, recover interrupted writes, then push."""

from __future__ import annotations

from pathlib import Path

import structlog

from deskbridge import registry
from deskbridge.config import LinkConfig, Settings
from deskbridge.pull import engine
from deskbridge.push.executor import PushResult, TransportFor, push_link
from deskbridge.sdk.contract import Capability
from deskbridge.warehouse.store import Warehouse

log = structlog.get_logger("deskbridge.push")


async def run_link(
    wh: Warehouse,
    settings: Settings,
    link: LinkConfig,
    *,
    dry_run: bool = False,
    pull: bool = True,
    only: set[str] | None = None,
    transport_for: TransportFor = lambda name: None,
    plan_file: Path | None = None,
) -> PushResult:
    """Pull ``link.a`` and ``link.b`` (unless ``pull`` is false), then push what differs."""
    if pull:
        for name in (link.a, link.b):
            await engine.sync(wh, settings.connections[name], transport=transport_for(name))
    if not dry_run:
        await recover_pending(wh, settings, link, transport_for, pulled=pull)
    return await push_link(
        wh,
        settings,
        link,
        dry_run=dry_run,
        only=only,
        transport_for=transport_for,
        plan_file=plan_file,
    )


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
    for target, origin in (("a", "b"), ("b", "a")):
        if (
            not pulled
            and wh.con.execute(
                f"SELECT count(*) FROM crosswalk WHERE link = ? AND entity = 'tickets' AND origin = ? "
                f"AND state = 'pending' AND {target}_id IS NULL",
                [link.name, origin],
            ).fetchone()[0]
        ):  # type: ignore[index]
            name = getattr(link, target)
            await engine.sync(wh, settings.connections[name], transport=transport_for(name))
        rows = wh.con.execute(
            f"""SELECT DISTINCT t.{target}_id FROM crosswalk c
                JOIN (SELECT connection, source_id, ticket_id FROM notes UNION ALL
                      SELECT connection, source_id, ticket_id FROM time_entries) r
                  ON r.connection = ? AND r.source_id = c.origin_id
                JOIN crosswalk t ON t.link = c.link AND t.entity = 'tickets' AND t.{origin}_id = r.ticket_id
                WHERE c.link = ? AND c.state = 'pending' AND c.origin = ? AND c.entity <> 'tickets'
                  AND t.{target}_id IS NOT NULL""",
            [getattr(link, origin), link.name, origin],
        ).fetchall()
        config = settings.connections[getattr(link, target)]
        if rows and not registry.get(config.type).connector_class().can(Capability.READ_TICKETS):
            log.warning(
                "push.cannot_recheck", link=link.name, connection=config.name, tickets=len(rows)
            )
        elif rows:
            await engine.reread(
                wh, config, [r[0] for r in rows], transport=transport_for(config.name)
            )
