"""The rows a listing lacked, and what the vendor answered about them (see :mod:`deskbridge.pull.deletions`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Field, SQLModel

# Proofs a push may act on: the vendor answered "not found" for the record or its ticket.
VENDOR_PROOFS = ("not_found", "parent")


class SuspectedDeletion(SQLModel, table=True):
    """A stored row a complete listing lacked, not yet proven gone."""

    __tablename__ = "suspected_deletions"
    connection: str = Field(primary_key=True, description="Connection name.")
    entity: str = Field(
        primary_key=True, description="tickets, notes, time_entries, people or attachments."
    )
    source_id: str = Field(primary_key=True, description="The row's source_id.")
    ticket_id: str | None = Field(default=None, description="Its ticket, for child rows.")
    state: str = Field(
        description="candidate (to be checked at the end of the run) or held (waits for an operator)."
    )
    reason: str | None = Field(default=None, description="Why a held row was not deleted.")
    listed_from: datetime = Field(
        description="Start of the listing pass that lacked the row (UTC)."
    )
    detected_at: datetime = Field(description="When that pass completed (UTC).")
    run_id: int | None = Field(default=None, description="sync_runs.run_id that found it missing.")


@dataclass(frozen=True)
class Candidate:
    entity: str
    source_id: str
    ticket_id: str | None
    listed_from: datetime
    detected_at: datetime


@dataclass
class Decision:
    not_found: list[str]
    listing: list[str]
    present: list[str]
    held: dict[str, str]  # source id -> reason
