"""How Omnidesk data is read: a newest-first ``last_update`` walk, and complete listings.

Omnidesk's ticket list has no updated-since filter, but it is sorted by ``last_update``,
newest first, and ``last_update`` moves on every change to a ticket or its timeline.

* **Walk** (incremental): list pages until tickets fall below the watermark minus a lookback.
  A ticket whose listed fields hash like the stored row is unchanged and costs nothing more;
  a changed one costs a GET item (its timeline). Datetimes have whole seconds, so a ticket read
  in the same second it last changed is re-read once more (``recheck_from``).
* **Complete listing**: the whole list (archive included), reading only tickets that differ
  from the warehouse, then a GET for each stored ticket the listing lacked: a 404 means
  deleted. It is the first run and ``--full-refresh``, and, as a reconcile, it runs when the
  walk saw a sign of deletion (the list's ``total`` differs from what the warehouse plus the
  walk account for), a ticket moved to another customer, or ``reconcile_every`` has passed.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import structlog

from deskbridge.sdk import (
    Batch,
    Listed,
    OffsetPage,
    OffsetPager,
    ReadContext,
    Scope,
    read_ahead,
    reading,
    row_hash,
)

from . import mapping as m
from .client import OmnideskClient, Record
from .reread import read_tickets

log = structlog.get_logger("deskbridge.omnidesk")

PEOPLE_KEPT = 4_096  # people rows remembered per pass (~2 MB): the staff, and the first customers


@dataclass
class Cursor:
    """State of the ``tickets`` stream (times are UTC epoch seconds)."""

    watermark: float | None = None  # newest last_update when the last complete walk began
    recheck_from: float | None = None  # re-read tickets changed at or after this, even if unchanged
    reconciled_at: float | None = None  # when the last complete listing ended (local clock)
    reconcile_due: bool = False  # a walk saw a reason for a complete listing not yet done

    @classmethod
    def load(cls, data: dict[str, Any] | None) -> Cursor:
        return cls(**data) if data else cls()


@dataclass(frozen=True)
class Entry:
    """A listed ticket with the two UTC readings of its naive ``last_update``."""

    raw: Record
    id: str
    earliest: float
    latest: float

    @classmethod
    def of(cls, raw: Record) -> Entry:
        stamp = raw.get("last_update") or raw.get("created_at")
        early, late = m.to_utc(stamp), m.latest_utc(stamp)
        return cls(
            raw,
            m.required_ident(raw.get("id"), "ticket"),
            early.timestamp() if early else 0.0,
            late.timestamp() if late else 0.0,
        )


def _descending(entries: list[Entry]) -> bool:
    return all(a.latest >= b.earliest for a, b in pairwise(entries))


class OmnideskReader:
    def __init__(self, client: OmnideskClient, options: Any, ctx: ReadContext) -> None:
        self.client, self.options, self.ctx = client, options, ctx
        self.cursor = Cursor.load(ctx.state.get("tickets"))
        self.stored = set(ctx.warehouse.ids("tickets"))
        self.hashes = {} if ctx.full_refresh else ctx.warehouse.hashes("tickets")
        self.done: set[str] = set()  # tickets read (GET item) in this run
        self.deleted: list[str] = []
        self.staff_seen: set[str] = set()
        # people rows written in this pass, to skip their repeats (every ticket read carries its
        # requester and the staff of its timeline again); bounded, emptied when a pass starts
        self.people_written: dict[str, Record] = {}
        self.tally = ctx.tally("tickets")

    async def read(self) -> AsyncIterator[Batch]:
        complete = self.ctx.full_refresh or self.cursor.watermark is None
        if not complete:
            async for batch in self._walk():
                yield batch
        if complete or self.cursor.reconcile_due or self._reconcile_scheduled():
            self.client = self.client.costing("incremental" if complete else "reconcile")
            async for batch in self._complete_listing(advance=complete):
                yield batch

    def _reconcile_scheduled(self) -> bool:
        last = self.cursor.reconciled_at
        return last is None or time.time() - last >= self.options.seconds("reconcile_every")

    # -- walk --------------------------------------------------------------------------
    async def _walk(self) -> AsyncIterator[Batch]:
        started, cursor = time.time(), self.cursor
        floor = (cursor.watermark or 0.0) - self.options.seconds("lookback")
        listed: set[str] = set()
        first: Listed | None = None
        ordered, moved, tail = True, False, list[Entry]()
        async for listing in self._pages(self.options.page_size):
            entries = self._entries(listing, listed)
            first = first or listing
            ordered = ordered and _descending(tail + entries)
            tail = entries[-1:] or tail
            window = [e for e in entries if e.latest >= floor]
            done = listing.last or (ordered and len(window) < len(entries))
            batch = await self._read(
                [e for e in window if self._needs_read(e, cursor.recheck_from)]
            )
            moved = moved or self._requester_moved(batch)
            if done:
                self._end_walk(first, started, listed, moved, ordered)
                batch.state["tickets"] = asdict(cursor)
            yield batch
            if done:
                return

    def _end_walk(
        self, first: Listed | None, started: float, listed: set[str], moved: bool, ordered: bool
    ) -> None:
        cursor = self.cursor
        if not ordered:
            log.warning(
                "omnidesk.list_unsorted", hint="the list was not newest-first; walked it to the end"
            )
        total = first.total if first else None
        lost = total is not None and total != len(self.stored | listed)
        cursor.reconcile_due = cursor.reconcile_due or lost or moved or bool(self.deleted)
        self._advance(first, started)

    def _advance(self, first: Listed | None, started: float) -> None:
        """Move the watermark to the newest ticket of the first page the walk read."""
        top = max((Entry.of(t).earliest for t in first.records), default=None) if first else None
        if top is None:
            return
        self.cursor.watermark = top
        self.cursor.recheck_from = max(
            top, float(math.floor(started - self.options.seconds("clock_skew")))
        )

    def _requester_moved(self, batch: Batch) -> bool:
        """Whether a stored ticket changed customer (the old one may have no ticket left)."""
        rows = [r for r in batch.rows.get("tickets", ()) if r["source_id"] in self.stored]
        if not rows:
            return False
        # one query for the batch, not one per ticket: a walk may carry hundreds of changes
        held = self.ctx.warehouse.values("tickets", "requester_id", [r["source_id"] for r in rows])
        return any(
            r["requester_id"] is None or held.get(r["source_id"]) != r["requester_id"] for r in rows
        )

    # -- complete listing --------------------------------------------------------------
    async def _complete_listing(self, *, advance: bool) -> AsyncIterator[Batch]:
        """Everything listed; ``advance``: the watermark moves to this listing (not after a
        walk, whose watermark also covers what this listing reads)."""
        since, started = datetime.now(UTC), time.time()
        listed: set[str] = set()
        first: Listed | None = None
        every_read = True
        # the people scope below counts on this pass writing every person it saw: one written
        # by the walk before ``since`` is written again
        self.people_written.clear()

        async def parts() -> AsyncIterator[tuple[Batch | None, list[str]]]:
            """In listing order: the people of tickets not read, then chunks of tickets to read."""
            nonlocal first, every_read
            async for listing in self._pages(self.options.listing_page_size):
                entries = self._entries(listing, listed)
                first = first or listing
                if (
                    advance
                ):  # a first or full sync reads every ticket: the listing's total is the goal
                    self.tally.total = first.total
                todo = [e.id for e in entries if self._needs_read(e, None)]
                every_read = every_read and len(todo) == len(entries)
                unread = {e.id for e in entries} - set(todo)
                people = self._new_people(
                    [p for e in entries if e.id in unread for p in (m.requester_row(e.raw),) if p],
                    remember=False,  # read ahead of the batches before it: they may fail first
                )
                if people:
                    yield Batch(rows={"people": people}), []
                for start in range(0, len(todo), self.options.page_size):
                    yield None, todo[start : start + self.options.page_size]

        async def fetch(part: tuple[Batch | None, list[str]]) -> Batch:
            return await read_tickets(self.client, part[1], self.tally) if part[1] else Batch()

        async with aclosing(read_ahead(parts(), fetch)) as reads:
            async for (people_batch, ids), batch in reads:
                if people_batch is not None:
                    yield people_batch
                    continue
                yield self._absorb(ids, batch)
        final = await self._read(sorted(self.stored - listed - self.done))
        final.complete.append(Scope("people", None, {"kind": "requester"}, since=since))
        if every_read:
            final.complete.append(Scope("people", None, {"kind": "staff"}, since=since))
        else:
            final.deleted["people"] = self._staff_gone()
        if advance:
            self._advance(first, started)
        self.cursor.reconciled_at, self.cursor.reconcile_due = time.time(), False
        final.state["tickets"] = asdict(self.cursor)
        yield final

    # -- reading tickets ---------------------------------------------------------------
    @staticmethod
    def _entries(listing: Listed, listed: set[str]) -> list[Entry]:
        """The page's tickets as entries, noted as listed in this pass."""
        entries = list(map(Entry.of, listing.records))
        listed.update(e.id for e in entries)
        return entries

    def _needs_read(self, entry: Entry, recheck_from: float | None) -> bool:
        if entry.id in self.done:
            return False
        if self.ctx.full_refresh or (recheck_from is not None and entry.latest >= recheck_from):
            return True
        held = self.hashes.get(entry.id)
        if held is None:  # not stored (every ticket of a first sync): no row to compare with
            return True
        with reading("omnidesk", "tickets", entry.id):
            return held != row_hash("tickets", m.ticket_row(entry.raw))

    async def _read(self, ids: list[Entry] | list[str]) -> Batch:
        wanted = [i.id if isinstance(i, Entry) else i for i in ids]
        return self._absorb(wanted, await read_tickets(self.client, wanted, self.tally))

    def _absorb(self, wanted: list[str], batch: Batch) -> Batch:
        """Note what reading ``wanted`` gave ``batch``: tickets done, deleted, hashes, staff."""
        self.done.update(wanted)
        self.deleted += batch.deleted.get("tickets", [])
        for ticket in batch.rows.get("tickets", ()):
            self.hashes[ticket["source_id"]] = row_hash("tickets", ticket)
        people = batch.rows.get("people", [])
        self.staff_seen.update(p["source_id"] for p in people if p["kind"] == "staff")
        if fresh := self._new_people(people):
            batch.rows["people"] = fresh
        else:
            batch.rows.pop("people", None)
        return batch

    def _new_people(self, people: list[Record], *, remember: bool = True) -> list[Record]:
        """``people`` less the rows this pass has handed over already exactly as they are.

        A skipped row is in a batch yielded before this one, which commits first; ``remember``
        notes the rows kept for the batches after (not for rows computed ahead of batches still
        to come). At most PEOPLE_KEPT rows are remembered.
        """
        written, fresh = self.people_written, []
        for person in people:
            key = person["source_id"]
            if written.get(key) == person:
                continue
            fresh.append(person)
            if remember and (key in written or len(written) < PEOPLE_KEPT):
                written[key] = person
        return fresh

    # -- people ------------------------------------------------------------------------
    def _staff_gone(self) -> list[str]:
        """Stored staff with no message or note left outside the tickets deleted in this run.

        Two queries whatever the staff count (one per staff member made a complete listing's
        end grow with the team), and one more per author of a note on a deleted ticket.
        """
        view = self.ctx.warehouse
        staff = [s for s in view.ids("people", kind="staff") if s not in self.staff_seen]
        if not staff:
            return []
        authors = view.distinct("notes", "author_id")  # of live notes
        gone = [s for s in staff if s not in authors]
        if self.deleted:  # their notes may be marked deleted already, or not yet
            on_deleted = view.distinct("notes", "author_id", ticket_id=self.deleted)
            for author in (s for s in staff if s in authors and s in on_deleted):
                kept = set(view.ids("notes", author_id=author))
                if not kept - set(view.ids("notes", author_id=author, ticket_id=self.deleted)):
                    gone.append(author)
        return gone

    # -- paging ------------------------------------------------------------------------
    def _pages(self, size: int) -> OffsetPager:
        """Every ticket, newest ``last_update`` first, by offset; pages carry the list's total."""

        async def fetch(start: int, limit: int) -> OffsetPage:
            listing = await self.client.list_tickets(start, limit)
            return OffsetPage(listing.tickets, listing.total)

        return OffsetPager(fetch, size, _ticket_id, vendor="omnidesk")


def _ticket_id(ticket: Record) -> str:
    return m.required_ident(ticket.get("id"), "ticket")
