"""Deletions need proof: absence from a listing only makes a *candidate*.

A complete :class:`~deskbridge.sdk.contract.Scope` says "these rows were listed in full". Stored
rows it lacks are written to ``suspected_deletions`` as candidates, in the same transaction as
the batch, instead of getting ``deleted_at``. When the run's read is done the engine settles
them (:func:`settle`):

1. The connector is asked about each one (:meth:`Connector.confirm_gone`, a direct read where
   the vendor allows one). A not-found answer deletes the row with proof ``not_found``; a
   record still there drops the candidate (and its fresh copy is stored).
2. A candidate the vendor cannot answer for is deleted with proof ``listing`` only if the
   listing that lacked it started and completed within the connector's proof window, and only
   if the deletion guard lets it through; otherwise it is *held*.
3. The guard (rclone's ``--max-delete``): listing-proven deletions of more than
   ``max_delete_share`` and more than ``max_delete_rows`` of the connection's live rows of an
   entity are all held, with the reason.

Held rows show in ``deskbridge status`` and ``deskbridge deletes list``; ``deletes confirm``
applies them (proof ``operator``) and ``deletes reject`` drops them. A push deletes at the
other side only rows whose proof came from the vendor itself (:data:`VENDOR_PROOFS`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime

import structlog

from deskbridge.sdk.connection import Guard
from deskbridge.sdk.contract import Connector
from deskbridge.warehouse.deletions import Candidate, Decision
from deskbridge.warehouse.store import Warehouse, in_thread

log = structlog.get_logger("deskbridge.deletions")


async def settle(
    warehouse: Warehouse,
    connector: Connector,
    connection: str,
    run_id: int,
    guard: Guard,
) -> Counter[str]:
    """Check this connection's candidates with the vendor; delete, drop or hold each."""
    counts: Counter[str] = Counter()
    pending = await in_thread(warehouse.deletion_candidates, connection)
    by_entity: dict[str, list[Candidate]] = {}
    for candidate in pending:
        by_entity.setdefault(candidate.entity, []).append(candidate)
    for entity, candidates in by_entity.items():
        answers: dict[str, bool] = {}
        for chunk in _by_tickets(
            candidates, CONFIRM_CHUNK
        ):  # bounded: rows of the re-reads are stored as they come
            found, fresh = await connector.confirm_gone(
                entity, {c.source_id: c.ticket_id for c in chunk}
            )
            answers.update(found)
            if fresh is not None:
                await in_thread(warehouse.store_rows, connection, run_id, fresh)
        decision = _decide(entity, candidates, answers, connector.deletion_proof_window_s)
        live = await in_thread(warehouse.live_count, connection, entity)
        if decision.listing and guard.trips(len(decision.listing), live):
            why = (
                f"guard: this run would delete {len(decision.listing)} of {live} live {entity} "
                f"(more than {guard.share:.0%} and {guard.rows} rows) on a listing alone"
            )
            decision.held.update(dict.fromkeys(decision.listing, why))
            decision.listing = []
        counts += await in_thread(warehouse.settle_deletions, connection, entity, decision)
    if counts[_HELD]:
        log.warning(
            "deletions.held",
            connection=connection,
            held=counts[_HELD],
            fix=f"deskbridge deletes list {connection}, then confirm or reject",
        )
    return counts


_HELD = "deletions.held"
CONFIRM_CHUNK = 100  # tickets re-read per call when confirming deletions


def _by_tickets(candidates: list[Candidate], size: int) -> list[list[Candidate]]:
    """The candidates in groups whose records belong to at most ``size`` tickets each."""
    groups: dict[str, list[Candidate]] = {}
    for c in candidates:
        groups.setdefault(c.ticket_id or c.source_id, []).append(c)
    tickets = list(groups.values())
    return [
        [c for group in tickets[i : i + size] for c in group] for i in range(0, len(tickets), size)
    ]


def _decide(
    entity: str, candidates: list[Candidate], answers: Mapping[str, bool], window_s: float
) -> Decision:
    decision = Decision([], [], [], {})
    for c in candidates:
        answer = answers.get(c.source_id)
        if answer is True:
            decision.not_found.append(c.source_id)
        elif answer is False:
            decision.present.append(c.source_id)
        elif (c.detected_at - c.listed_from).total_seconds() <= window_s:
            decision.listing.append(c.source_id)
        else:
            decision.held[c.source_id] = (
                f"absent from a listing that ran from {c.listed_from:%Y-%m-%d %H:%M} to "
                f"{c.detected_at:%Y-%m-%d %H:%M} UTC, longer than the proof window, and the "
                f"vendor cannot confirm single {entity}"
            )
    return decision


def utcnow() -> datetime:
    return datetime.now(UTC)
