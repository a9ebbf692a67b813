"""The rows a listing lacked, and what the vendor answered about them (see :mod:`deskbridge.pull.deletions`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# Proofs a push may act on: the vendor answered "not found" for the record or its ticket.
VENDOR_PROOFS = ("not_found", "parent")


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
