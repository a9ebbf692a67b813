"""Reading tickets in full (GetTicket, or Keliweb's get-ticket) and listing them page by page."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from typing import Any

from deskbridge.sdk import Batch, PayloadError, Scope, reading

from . import mapping as m
from .client import Page, Record

Fetch = Callable[[str], Awaitable[Record | None]]
Lister = Callable[[int, int], Awaitable[Page]]
MAX_STEP_BACKS = 20


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

    async def batch(self, ids: Sequence[str]) -> Batch:
        """GetTicket each id concurrently; a ticket WHMCS no longer has is marked deleted."""
        found = await asyncio.gather(*(self.fetch(i) for i in ids))
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


class OffsetPages:
    """``limitstart``/``limitnum`` pages that overlap a little, so a row shifting up under the
    paginator (a deletion above it) is never skipped: when none of the previous page's last
    rows reappears, it steps back a page, at most ``MAX_STEP_BACKS`` times."""

    def __init__(self, lister: Lister, size: int) -> None:
        self.lister, self.size = lister, size
        self.overlap = max(1, size // 20)

    async def __aiter__(self) -> AsyncIterator[tuple[list[Record], bool]]:
        start, step_backs = 0, 0
        anchors: set[str] = set()
        while True:
            page = await self.lister(start, self.size)
            ids = [m.ticket_id_of(t) for t in page.tickets]
            if anchors and not anchors.intersection(ids) and start > 0:
                step_backs += 1
                if step_backs > MAX_STEP_BACKS:
                    raise PayloadError(
                        "the ticket list keeps shifting under the paginator", vendor="whmcs"
                    )
                start, anchors = max(0, start - self.size), set()
                continue
            yield page.tickets, page.last
            if page.last:
                return
            step = page.returned - self.overlap if page.returned > self.overlap else page.returned
            start += step
            anchors = set(ids[-(self.overlap + 1) :])


async def listed(pages: OffsetPages, limit: int | None = None) -> list[Record]:
    """Every ticket of a listing (or its first ``limit``), each once, in listing order."""
    seen: dict[str, Record] = {}
    async with aclosing(aiter(pages)) as walk:
        async for page, _ in walk:
            for ticket in page:
                seen.setdefault(m.ticket_id_of(ticket), ticket)
            if limit is not None and len(seen) >= limit:
                break
    out = list(seen.values())
    return out if limit is None else out[:limit]


def ids_of(tickets: Sequence[dict[str, Any]]) -> list[str]:
    return [m.ticket_id_of(t) for t in tickets]


def chunks(ids: Sequence[str], size: int) -> list[Sequence[str]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]
