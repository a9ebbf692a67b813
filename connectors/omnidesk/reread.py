"""Re-reading Omnidesk tickets now: GET each item, with its timeline and people."""

from __future__ import annotations

import asyncio

from deskbridge.sdk import Batch, Scope, Tally, reading

from . import mapping as m
from .client import OmnideskClient


async def read_tickets(client: OmnideskClient, ids: list[str], tally: Tally | None = None) -> Batch:
    """GET each ticket: its rows and notes for those found, ``deleted`` for those gone."""
    tally = tally or Tally(lambda *_: None, "tickets")
    items = await asyncio.gather(*(tally.counted(client.ticket(i)) for i in ids))
    batch, kept = Batch(), []
    for ticket_id, item in zip(ids, items, strict=True):
        if item is None:
            batch.deleted.setdefault("tickets", []).append(ticket_id)
            continue
        with reading("omnidesk", "tickets", ticket_id):
            ticket, notes, people = m.item_rows(item)
        batch.add("tickets", [ticket])
        batch.add("notes", notes)
        batch.add("people", people)
        kept.append(ticket_id)
    if kept:
        batch.complete.append(Scope("notes", tuple(kept)))
    return batch
