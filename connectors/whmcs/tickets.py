"""Reading tickets in full (GetTicket, or Keliweb's get-ticket), each with its messages, notes and people."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from deskbridge.sdk import Batch, Scope, Tally, reading

from . import mapping as m
from .client import Record

Fetch = Callable[[str], Awaitable[Record | None]]


class TicketReader:
    """Turns ticket ids into batches: each ticket with its messages, notes and people.

    Remembers which tickets it has read (``read``) and found gone (``deleted``) this run, so
    passes don't redo each other's work, the people it has seen (``people``), and which
    message named each guest, so a guest ends up named as on their newest message however
    the tickets are ordered.
    """

    def __init__(self, fetch: Fetch, lookups: m.Lookups) -> None:
        self.fetch, self.lookups = fetch, lookups
        self.read: set[str] = set()
        self.deleted: set[str] = set()
        self.people: set[str] = set()
        self._guests: dict[str, m.MessageKey] = {}
        self.tally = Tally(lambda *_: None, "tickets")  # the pass reading sets its own

    async def batch(self, ids: Sequence[str]) -> Batch:
        """GetTicket each id concurrently; a ticket WHMCS no longer has is marked deleted."""
        count = self.tally.counted
        found = await asyncio.gather(*(count(self.fetch(i)) for i in ids))
        batch = Batch()
        present = []
        for ticket_id, raw in zip(ids, found, strict=True):
            self.read.add(ticket_id)
            if raw is None:
                batch.deleted.setdefault("tickets", []).append(ticket_id)
                self.deleted.add(ticket_id)
                continue
            present.append(ticket_id)
            self.add(batch, raw)
        if present:
            batch.complete.append(Scope("notes", tuple(present)))
        return batch

    def add(self, batch: Batch, raw: Record) -> None:
        with reading("whmcs", "GetTicket", str(raw.get("ticketid", raw.get("id")))):
            tickets, notes = (
                [m.ticket_row(raw, self.lookups)],
                m.message_rows(raw, self.lookups) + m.note_rows(raw, self.lookups),
            )
            people = self._people(raw)
        batch.add("tickets", tickets)
        batch.add("notes", notes)
        batch.add("people", people)

    def _people(self, raw: Record) -> list[m.Row]:
        rows = []
        for key, person in m.requester_rows(raw):
            self.people.add(person["source_id"])
            if person["source_id"].startswith("guest:"):
                if key < self._guests.get(person["source_id"], ("", -1)):
                    continue
                self._guests[person["source_id"]] = key
            rows.append(person)
        return rows


def ids_of(tickets: Sequence[dict[str, Any]]) -> list[str]:
    return [m.ticket_id_of(t) for t in tickets]


def chunks(ids: Sequence[str], size: int) -> list[Sequence[str]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]
