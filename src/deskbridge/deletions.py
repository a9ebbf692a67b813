"""Deletions need proof: absence from a listing only makes a *candidate*.

A complete :class:`~deskbridge.contract.Scope` says "these rows were listed in full". Stored
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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog
from sqlmodel import Field, SQLModel

if TYPE_CHECKING:
    from .contract import Connector
    from .warehouse import Warehouse

log = structlog.get_logger("deskbridge.deletions")

# Proofs a push may act on: the vendor answered "not found" for the record or its ticket.
VENDOR_PROOFS = ("not_found", "parent")


class SuspectedDeletion(SQLModel, table=True):
    """A stored row a complete listing lacked, not yet proven gone."""

    __tablename__ = "suspected_deletions"
    connection: str = Field(primary_key=True, description="Connection name.")
    entity: str = Field(primary_key=True, description="tickets, notes, time_entries, people or attachments.")
    source_id: str = Field(primary_key=True, description="The row's source_id.")
    ticket_id: str | None = Field(default=None, description="Its ticket, for child rows.")
    state: str = Field(description="candidate (to be checked at the end of the run) or held (waits for an operator).")
    reason: str | None = Field(default=None, description="Why a held row was not deleted.")
    listed_from: datetime = Field(description="Start of the listing pass that lacked the row (UTC).")
    detected_at: datetime = Field(description="When that pass completed (UTC).")
    run_id: int | None = Field(default=None, description="sync_runs.run_id that found it missing.")


@dataclass(frozen=True)
class Guard:
    """How many listing-proven deletions one run may apply per entity before holding them."""

    share: float = 0.10
    rows: int = 20

    def trips(self, deleting: int, live: int) -> bool:
        return deleting > self.rows and deleting > self.share * live


@dataclass(frozen=True)
class Candidate:
    entity: str
    source_id: str
    ticket_id: str | None
    listed_from: datetime
    detected_at: datetime


async def settle(
    warehouse: Warehouse,
    connector: Connector,
    connection: str,
    run_id: int,
    guard: Guard,
) -> Counter[str]:
    """Check this connection's candidates with the vendor; delete, drop or hold each."""
    from .engine import in_thread

    counts: Counter[str] = Counter()
    pending = await in_thread(warehouse.deletion_candidates, connection)
    by_entity: dict[str, list[Candidate]] = {}
    for candidate in pending:
        by_entity.setdefault(candidate.entity, []).append(candidate)
    for entity, candidates in by_entity.items():
        answers: dict[str, bool] = {}
        for chunk in _by_tickets(candidates, CONFIRM_CHUNK):  # bounded: rows of the re-reads are stored as they come
            found, fresh = await connector.confirm_gone(entity, {c.source_id: c.ticket_id for c in chunk})
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
        log.warning("deletions.held", connection=connection, held=counts[_HELD],
                    fix=f"deskbridge deletes list {connection}, then confirm or reject")
    return counts


_HELD = "deletions.held"
CONFIRM_CHUNK = 100  # tickets re-read per call when confirming deletions


def _by_tickets(candidates: list[Candidate], size: int) -> list[list[Candidate]]:
    """The candidates in groups whose records belong to at most ``size`` tickets each."""
    groups: dict[str, list[Candidate]] = {}
    for c in candidates:
        groups.setdefault(c.ticket_id or c.source_id, []).append(c)
    tickets = list(groups.values())
    return [[c for group in tickets[i : i + size] for c in group] for i in range(0, len(tickets), size)]


@dataclass
class Decision:
    not_found: list[str]
    listing: list[str]
    present: list[str]
    held: dict[str, str]  # source id -> reason


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


def answers_from_batch(
    batch: Any, entity: str, records: Mapping[str, str | None]
) -> dict[str, bool]:
    """What a re-read of tickets (``Connector.read_tickets``) proves about ``records``.

    A ticket the re-read marked deleted is gone, and so are its children; a record the re-read
    carried is there; a child the re-read lacks is gone when a complete scope of the re-read
    covered its ticket. Anything else is left unanswered.
    """
    gone_tickets = set(map(str, batch.deleted.get("tickets", ())))
    carried = {str(r["source_id"]) for r in batch.rows.get(entity, ())}
    gone_here = set(map(str, batch.deleted.get(entity, ())))
    covered: set[str] = set()
    for scope in batch.complete:
        if scope.entity == entity and scope.ticket_ids is not None and not scope.match:
            covered.update(map(str, scope.ticket_ids))
    answers: dict[str, bool] = {}
    for source_id, ticket_id in records.items():
        if source_id in carried:
            answers[source_id] = False
        elif source_id in gone_here or (ticket_id or source_id) in gone_tickets:
            answers[source_id] = True
        elif entity != "tickets" and ticket_id in covered:
            answers[source_id] = True
    return answers
