"""Re-reading Kayako tickets now: each with its posts, or marked deleted when it is gone."""

from __future__ import annotations

import asyncio

from deskbridge.sdk import Batch, Scope, reading

from . import mapping as m
from .client import KayakoClient, Record


async def read_tickets(client: KayakoClient, ids: list[str], lookups: m.Lookups) -> Batch:
    """Tickets the warehouse expects but the listing lacked: re-read each, or mark it gone."""
    found = await asyncio.gather(*(client.ticket(i) for i in ids))
    batch = Batch(deleted={"tickets": [i for i, t in zip(ids, found, strict=True) if t is None]})
    present = [t for t in found if t is not None]
    for ticket in present:
        add_ticket(batch, ticket, lookups)
    kept = tuple(t["id"] for t in present)
    batch.complete += [
        Scope("notes", kept),
        Scope("time_entries", kept),
        Scope("attachments", kept),
    ]
    return batch


def add_ticket(batch: Batch, ticket: Record, lookups: m.Lookups) -> None:
    """Add a ticket's row and the notes, time entries and attachments it carries."""
    with reading("kayako", "tickets", ticket.get("id")):
        row = m.ticket_row(ticket, lookups)
        notes, tracks = m.ticket_children(ticket)
        posts = [m.post_row(post) for post in ticket.get("posts", ())]
        attachments = [a for post in ticket.get("posts", ()) for a in m.attachment_rows(post)]
    batch.add("tickets", [row])
    batch.add("notes", notes + posts)
    batch.add("time_entries", tracks)
    batch.add("attachments", attachments)
