"""How WHMCS data is read: a newest-first ``lastreply`` walk plus reconcile passes.

* **Changed walk** (incremental): GetTickets over every status and department, which WHMCS
  orders by ``lastreply`` descending, until tickets fall below the watermark minus a lookback.
  A listed ticket whose canonical row hashes like the stored one is unchanged; every other one
  costs a GetTicket (its replies and notes). Checkpointed per page.
* **Reconcile** (every ``reconcile_every``, by default every run): notes, reply edits and deletions, and status, priority,
  department or flag updates don't move ``lastreply``. GetTickets ``All Active Tickets`` lists
  the active tickets, and the first ``recent_tickets`` of the newest-first listing add the
  recently closed ones; each is re-read with GetTicket. Tickets the warehouse holds as not
  closed that the active listing lacks are re-read too: they were closed, or are gone.
* **Deep reconcile** (every ``deep_reconcile_every``): the whole listing. Tickets whose row
  changed are re-read; stored tickets absent from it are re-read, and marked deleted when
  GetTicket answers "Ticket ID Not Found".
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from deskbridge.sdk import (
    Batch,
    OffsetPage,
    OffsetPager,
    ReadContext,
    Scope,
    WalkState,
    reading,
    row_hash,
)

from . import mapping as m
from .client import Record, WhmcsClient
from .reread import CHUNK, absorb
from .tickets import TicketReader, chunks, ids_of

ACTIVE = "All Active Tickets"
NOT_CLOSED = ["new", "open", "pending", "resolved"]
log = structlog.get_logger("deskbridge.whmcs")


class WhmcsReader:
    def __init__(self, client: WhmcsClient, options: Any, ctx: ReadContext) -> None:
        self.client, self.options, self.ctx = client, options, ctx
        self.state: dict[str, Any] = dict(ctx.state.get("tickets", {}))

    async def read(self) -> AsyncIterator[Batch]:
        departments, admins = await asyncio.gather(self.client.departments(), self.client.admins())
        self.lookups = m.Lookups.from_records(departments, admins, self.options.tzinfo)
        # late-bound: the reconcile passes re-read through the reconcile-costed client
        self.tickets = TicketReader(lambda ticket_id: self.client.ticket(ticket_id), self.lookups)
        staff = Batch(complete=[Scope("people", None, {"kind": "staff"})])
        staff.add("people", [m.admin_row(a) for a in admins])
        yield staff
        async for batch in self._walk():
            yield batch
        self.client = self.client.costing("reconcile")
        if self._due("reconciled_at", self.options.seconds("reconcile_every")):
            async for batch in self._reconcile():
                yield batch
        if self._due("deep_reconciled_at", self.options.seconds("deep_reconcile_every")):
            async for batch in self._deep():
                yield batch

    def _pages(self, status: str | None) -> OffsetPager:
        """GetTickets (of one status, or all), by offset; pages carry ``totalresults``."""

        async def fetch(start: int, size: int) -> OffsetPage:
            page = await self.client.tickets(start, size, status)
            return OffsetPage(page.tickets, page.total)

        return OffsetPager(fetch, self.options.page_size, m.ticket_id_of, vendor="whmcs")

    def _hash(self, ticket: Record) -> str:
        with reading("whmcs", "GetTickets", str(ticket.get("id"))):
            return row_hash("tickets", m.ticket_row(ticket, self.lookups))

    # -- changed walk -----------------------------------------------------------------------
    async def _walk(self) -> AsyncIterator[Batch]:
        walk: WalkState[str] | None = None
        if not self.ctx.full_refresh:
            walk = WalkState.load(self.state.get("walk"))
        band = (walk.done_below, walk.high) if walk else None
        if walk is None:
            watermark = None if self.ctx.full_refresh else self.state.get("watermark")
            started = datetime.now(UTC).isoformat()
            walk = WalkState(floor=self._floor(watermark), started=started, full=watermark is None)
        hashes = {} if walk.full else self.ctx.warehouse.hashes("tickets")
        seen: set[str] = set()
        self.tickets.tally = self.ctx.tally("tickets")
        async for listed in self._pages(None):
            page = listed.records
            if walk.full:  # everything is read: the vendor's totalresults is the goal
                self.tickets.tally.total = listed.total
            if walk.high is None and page:
                walk.high = str(page[0].get("lastreply"))
            seen.update(ids_of(page))
            todo = [m.ticket_id_of(t) for t in page if self._changed(t, walk, band, hashes)]
            batch = await self.tickets.batch(todo)
            lowest = min((str(t.get("lastreply")) for t in page), default=walk.done_below)
            walk.done_below = lowest
            done = listed.last or (
                walk.floor is not None and lowest is not None and lowest < walk.floor
            )
            if done:
                await self._finish_walk(walk, batch, seen)
            else:
                self.state["walk"] = asdict(walk)
            batch.state["tickets"] = dict(self.state)
            yield batch
            if done:
                return

    def _floor(self, watermark: str | None) -> str | None:
        parsed = m.parse_wire(watermark)
        if parsed is None:
            return None
        return (parsed - timedelta(seconds=int(self.options.seconds("lookback")))).strftime(
            m.WIRE_FORMAT
        )

    def _changed(
        self,
        ticket: Record,
        walk: WalkState[str],
        band: tuple[str | None, str | None] | None,
        hashes: dict[str, str],
    ) -> bool:
        ticket_id, reply = m.ticket_id_of(ticket), str(ticket.get("lastreply"))
        if ticket_id in self.tickets.read or (walk.floor is not None and reply < walk.floor):
            return False
        if band and band[0] is not None and band[1] is not None and band[0] < reply <= band[1]:
            return False  # committed by the run this walk resumes
        return walk.full or hashes.get(ticket_id) != self._hash(ticket)

    async def _finish_walk(self, walk: WalkState[str], batch: Batch, seen: set[str]) -> None:
        if walk.full:  # a complete listing: stored tickets it lacks are gone (or merged)
            stored = set(self.ctx.warehouse.ids("tickets"))
            absorb(
                batch, await self.tickets.batch(sorted(stored - seen - self.tickets.read, key=int))
            )
            since = datetime.fromisoformat(walk.started) if walk.started else None
            batch.complete.append(Scope("people", None, {"kind": "requester"}, since=since))
            self.state["deep_reconciled_at"] = time.time()
        self.state["watermark"] = (
            walk.high if walk.high is not None else self.state.get("watermark")
        )
        self.state["walk"] = None

    # -- reconcile ----------------------------------------------------------------------------
    async def _reconcile(self) -> AsyncIterator[Batch]:
        stored_active = set(self.ctx.warehouse.ids("tickets", status_category=NOT_CLOSED))
        active = ids_of(await self._pages(ACTIVE).records())
        recent = self.options.recent_tickets
        top = ids_of(await self._pages(None).records(recent)) if recent else []
        todo = [i for i in dict.fromkeys(active + top) if i not in self.tickets.read]
        todo += sorted(stored_active - set(active) - set(todo) - self.tickets.read, key=int)
        self.tickets.tally = self.ctx.tally("reconcile", len(todo))
        for chunk in chunks(todo, CHUNK):
            yield await self.tickets.batch(chunk)
        self.state["reconciled_at"] = time.time()
        yield Batch(state={"tickets": dict(self.state)})

    # -- deep reconcile -----------------------------------------------------------------------
    def _due(self, key: str, every_s: float) -> bool:
        last = self.state.get(key)
        return last is None or time.time() - float(last) >= every_s

    async def _deep(self) -> AsyncIterator[Batch]:
        stored = set(self.ctx.warehouse.ids("tickets"))
        hashes = self.ctx.warehouse.hashes("tickets")
        seen: set[str] = set()
        self.tickets.tally = self.ctx.tally("deep reconcile")
        async for listed in self._pages(None):
            page = listed.records
            seen.update(ids_of(page))
            fresh = [t for t in page if m.ticket_id_of(t) not in self.tickets.read]
            todo = [
                m.ticket_id_of(t) for t in fresh if hashes.get(m.ticket_id_of(t)) != self._hash(t)
            ]
            if todo:
                yield await self.tickets.batch(todo)
        batch = await self.tickets.batch(sorted(stored - seen - self.tickets.read, key=int))
        batch.deleted["people"] = self._orphans()
        self.state["deep_reconciled_at"] = time.time()
        batch.state["tickets"] = dict(self.state)
        yield batch

    def _orphans(self) -> list[str]:
        """Stored requesters that no live ticket or message refers to any more.

        Two warehouse lookups per stored requester, so only the deep pass asks. Changes still
        pending in this run's uncommitted batches show up at the next deep pass.
        """
        view = self.ctx.warehouse
        gone = self.tickets.deleted
        gone_notes = set(view.ids("notes", ticket_id=sorted(gone))) if gone else set()
        orphans = []
        for person in view.ids("people", kind="requester"):
            if (
                person in self.tickets.people
                or set(view.ids("tickets", requester_id=person)) - gone
            ):
                continue
            if not set(view.ids("notes", author_id=person)) - gone_notes:
                orphans.append(person)
        return orphans
