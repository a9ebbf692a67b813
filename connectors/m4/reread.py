"""Re-reading M4 tickets now: each ticket, its notes and time entries; a 404 means deleted."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from deskbridge.sdk import Batch, Scope, check_rows, reading

from . import mapping as m
from .client import M4Client, Record
from .clock import ServerClock
from .mapping import Row


async def children(client: M4Client, ticket_ids: list[str], *, notes: bool) -> Batch:
    """Time entries (and notes) of each ticket, read in full; a 404 means the ticket is gone."""
    reads = [client.entries_of(i) for i in ticket_ids]
    if notes:
        reads += [client.notes_of(i) for i in ticket_ids]
    found = await asyncio.gather(*reads)
    count = len(ticket_ids)
    note_lists = found[count:] if notes else [[] for _ in ticket_ids]
    batch, kept = Batch(deleted={"tickets": []}), []
    for ticket_id, entries, ticket_notes in zip(ticket_ids, found[:count], note_lists, strict=True):
        if entries is None or ticket_notes is None:
            batch.deleted["tickets"].append(ticket_id)
            continue
        kept.append(ticket_id)
        batch.add("time_entries", mapped("time_entries", m.entry_row, entries, client.clock))
        batch.add("notes", mapped("notes", m.note_row, ticket_notes, client.clock))
    if kept:
        batch.complete.append(Scope("time_entries", tuple(kept)))
        if notes:
            batch.complete.append(Scope("notes", tuple(kept)))
    return batch


async def read_tickets(client: M4Client, ticket_ids: list[str]) -> Batch:
    """These tickets with their notes and time entries, read now; missing ones are deleted."""
    found = await asyncio.gather(*(client.ticket(i) for i in ticket_ids))
    present = [t for t in found if t is not None]
    batch = await children(client, [str(t["ID"]) for t in present], notes=True)
    batch.deleted["tickets"] += [i for i, t in zip(ticket_ids, found, strict=True) if t is None]
    batch.add("tickets", mapped("tickets", m.ticket_row, present, client.clock))
    batch.add("people", people(present))
    return batch


def mapped(
    resource: str, to_row: Callable[..., Row], records: list[Record], clock: ServerClock
) -> list[Row]:
    """Canonical rows of raw records; a record the mapping cannot read fails the run, naming it."""
    out = []
    for raw in records:
        with reading("m4", resource, str(raw.get("ID"))):
            out.append(to_row(raw, clock))
    check_rows(out, vendor="m4", resource=resource)  # before any is hashed
    return out


def people(records: list[Record]) -> list[Row]:
    """The customers and users these tickets name."""
    with reading("m4", "people"):
        return m.people_rows(records)
