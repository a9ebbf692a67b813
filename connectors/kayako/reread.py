"""Re-reading Kayako tickets now: each with its posts, or marked deleted when it is gone."""

from __future__ import annotations

import asyncio
from typing import Any

from deskbridge.sdk import Batch, FieldValue, Scope, reading

from . import mapping as m
from .client import KayakoClient, Record


async def read_tickets(
    client: KayakoClient, ids: list[str], lookups: m.Lookups, options: Any = None
) -> Batch:
    """Tickets the warehouse expects but the listing lacked: re-read each, or mark it gone."""
    found = await asyncio.gather(*(client.ticket(i) for i in ids))
    batch = Batch(deleted={"tickets": [i for i, t in zip(ids, found, strict=True) if t is None]})
    present = [t for t in found if t is not None]
    custom = await custom_fields(client, options, [t["id"] for t in present])
    for ticket, fields in zip(present, custom, strict=True):
        add_ticket(batch, ticket, lookups, fields)
    kept = tuple(t["id"] for t in present)
    batch.complete += [
        Scope("notes", kept),
        Scope("time_entries", kept),
        Scope("attachments", kept),
    ]
    return batch


async def custom_fields(
    client: KayakoClient, options: Any, ids: list[str]
) -> list[list[FieldValue] | None]:
    """Each ticket's custom fields when the connection reads them (one request a ticket), else
    ``None`` (the stored ones stay)."""
    if options is None or not options.custom_fields:
        return [None] * len(ids)
    found = await asyncio.gather(*(client.custom_fields(i) for i in ids))
    out: list[list[FieldValue] | None] = []
    for ticket_id, fields in zip(ids, found, strict=True):
        with reading("kayako", "customfields", ticket_id):
            out.append(
                None if fields is None else m.custom_values(fields, options.custom_date_format)
            )
    return out


def add_ticket(
    batch: Batch, ticket: Record, lookups: m.Lookups, fields: list[FieldValue] | None = None
) -> None:
    """Add a ticket's row (with its custom ``fields`` when read) and the notes, time entries and
    attachments it carries."""
    with reading("kayako", "tickets", ticket.get("id")):
        row = m.ticket_row(ticket, lookups)
        if fields is not None:
            row["fields"] = fields
        notes, tracks = m.ticket_children(ticket)
        posts = [m.post_row(post) for post in ticket.get("posts", ())]
        attachments = [a for post in ticket.get("posts", ()) for a in m.attachment_rows(post)]
    batch.add("tickets", [row])
    batch.add("notes", notes + posts)
    batch.add("time_entries", tracks)
    batch.add("attachments", attachments)
