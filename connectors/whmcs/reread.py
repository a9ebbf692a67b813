"""Re-reading WHMCS tickets now: GetTicket (Keliweb: get-ticket) each, in chunks."""

from __future__ import annotations

from typing import Any

from deskbridge.sdk import Batch

from .client import TicketSource
from .tickets import TicketReader, chunks

CHUNK = 50


async def read_tickets(client: TicketSource, options: Any, ticket_ids: list[str]) -> Batch:
    """GetTicket (Keliweb: get-ticket) each id: the tickets with their messages, notes and people."""
    reader = TicketReader(client.ticket, await client.lookups(options.tzinfo))
    batch = Batch()
    for chunk in chunks(ticket_ids, CHUNK):
        absorb(batch, await reader.batch(chunk))
    return batch


def absorb(batch: Batch, other: Batch) -> None:
    """Add ``other``'s rows, deletions and scopes to ``batch``."""
    for entity, rows in other.rows.items():
        batch.add(entity, rows)
    for entity, ids in other.deleted.items():
        batch.deleted.setdefault(entity, []).extend(ids)
    batch.complete.extend(other.complete)
