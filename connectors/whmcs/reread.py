"""Re-reading WHMCS tickets now: GetTicket (Keliweb: get-ticket) each, in chunks."""

from __future__ import annotations

import asyncio
from typing import Any

from deskbridge.sdk import Batch

from . import mapping as m
from .client import KeliwebClient, WhmcsClient
from .tickets import TicketReader, chunks

CHUNK = 50


async def read_tickets(
    client: WhmcsClient | KeliwebClient, options: Any, ticket_ids: list[str]
) -> Batch:
    """GetTicket (Keliweb: get-ticket) each id: the tickets with their messages, notes and people."""
    if isinstance(client, KeliwebClient):
        lookups = m.Lookups(tz=options.tzinfo)
    else:
        departments, admins = await asyncio.gather(client.departments(), client.admins())
        lookups = m.Lookups.from_records(departments, admins, options.tzinfo)
    reader = TicketReader(client.ticket, lookups)
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
