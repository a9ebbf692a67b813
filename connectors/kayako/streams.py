"""How Kayako data is read: a newest-first ``lastactivity`` walk plus reconcile passes.

* **Changed walk** (incremental): ``Ticket/ListAll`` over every department and status, sorted by
  ``lastactivity`` DESC, until tickets fall below the watermark minus a lookback. Each changed
  ticket costs one more request (its posts). Checkpointed per page: a resumed walk skips the
  ``lastactivity`` band it already committed.
* **Counts**: ``TicketCount`` (the helpdesk's count cache) gives a full walk its total, and lets
  the open reconcile skip statuses that neither the helpdesk nor the warehouse has tickets in.
* **Open reconcile** (every run): ``ListAll`` over the unresolved statuses, sorted by ticket id.
  ListAll carries each ticket's staff notes and time tracks, which don't move ``lastactivity``,
  so this pass costs one request per page of open tickets, not one per ticket. The count cache
  gives the listing's length, so its pages are requested a window at a time rather than each
  after the one before (the pager checks them in order as before). Open tickets the
  warehouse knows but the listing lacks are fetched one by one: a 404 marks them deleted.
* **Closed reconcile** (every ``closed_reconcile_every``): the same over resolved statuses, and a
  full re-read of users.

A walk over everything (a first sync, ``--full-refresh``) lists every ticket with its notes and
time tracks and closes the whole ticket scope, so a run that makes one from start to end
reconciles nothing more. A resumed one does: it skipped what the run before it committed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from deskbridge.sdk import (
    Batch,
    FieldSpec,
    FieldValue,
    IdSet,
    Listed,
    OffsetPage,
    OffsetPager,
    ReadContext,
    Scope,
    Tally,
    WalkState,
    WarehouseView,
    read_ahead,
    reading,
)
from deskbridge.sdk.idset import id_number

from . import mapping as m
from .client import KayakoClient, Record
from .reread import add_ticket, custom_fields, read_tickets

USER_PAGE = 1000
Read = tuple[list[Record], list[FieldValue] | None]  # a ticket's posts, and its custom fields


def _below(page: list[Record], floor: int | None) -> bool:
    """Whether a newest-first page reached below the walk's floor (the walk ends with it)."""
    return floor is not None and any(int(t["lastactivity"]) < floor for t in page)


def _epoch(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


@dataclass
class Pass:
    """Ticket ids one run has already handled, so passes don't redo each other's work."""

    walked: IdSet = field(default_factory=IdSet)
    listed: IdSet = field(default_factory=IdSet)


class KayakoReader:
    def __init__(self, client: KayakoClient, options: Any, ctx: ReadContext | None) -> None:
        self.client, self.options, self.ctx = client, options, ctx
        self.state: dict[str, Any] = dict(ctx.state.get("tickets", {})) if ctx else {}
        self.people_state: dict[str, Any] = dict(ctx.state.get("people", {})) if ctx else {}
        self.seen = Pass()
        self.tally = ctx.tally("tickets") if ctx else Tally(lambda *_: None, "tickets")
        self.lookups_read: m.Lookups | None = None
        self.walked_all = False  # this run walked every ticket, from the first page to the last

    @property
    def read_ctx(self) -> ReadContext:
        """The context of a read; only ``read_tickets`` builds a reader without one, for lookups."""
        assert self.ctx is not None, "a reader without a context only reads lookups"
        return self.ctx

    async def read(self) -> AsyncIterator[Batch]:
        lookups = await self.lookups()
        if self.options.custom_fields:
            yield Batch(fields=await self._custom_catalog())
        async for batch in self._people():
            yield batch
        async for batch in self._walk(lookups):
            yield batch
        if self.walked_all:
            return  # the walk listed every ticket with its notes and time tracks: it reconciled
        self.client = self.client.costing("reconcile")
        async for batch in self._reconcile(
            lookups, self._listable(lookups.open_statuses, lookups), closed=False
        ):
            yield batch
        if self._closed_due():
            async for batch in self._reconcile(
                lookups, sorted(lookups.resolved_statuses), closed=True
            ):
                yield batch
            async for batch in self._users(0, full=True):
                yield batch

    async def lookups(self) -> m.Lookups:
        routes = (
            "/Base/Department",
            "/Tickets/TicketStatus",
            "/Tickets/TicketPriority",
            "/Tickets/TicketType",
        )
        records, self.counts = await asyncio.gather(
            asyncio.gather(*(self.client.lookup(r) for r in routes)), self.client.ticket_count()
        )
        lookups = self.lookups_read = m.Lookups.from_records(*records)
        self.departments = ",".join(
            d["id"] for d in records[0] if d.get("app", "tickets") == "tickets"
        )
        self.all_statuses = ",".join(lookups.statuses)
        return lookups

    def _count(self, section: str, ids: str) -> int | None:
        """Tickets the count cache holds for these (CSV) department or status ids; None without one."""
        if self.counts is None:
            return None
        wanted = set(ids.split(","))
        return sum(
            int(c.get("totalitems") or 0)
            for c in self.counts.get(section, [])
            if c.get("id") in wanted
        )

    def _listable(self, statuses: list[str], lookups: m.Lookups) -> list[str]:
        """Statuses worth a reconcile listing: the count cache or the warehouse has tickets in them."""
        if self.counts is None:
            return statuses
        held = self.read_ctx.warehouse.distinct("tickets", "status")
        return [s for s in statuses if self._count("statuses", s) or lookups.statuses[s] in held]

    # -- people ---------------------------------------------------------------------------
    async def _people(self) -> AsyncIterator[Batch]:
        staff = await self.client.lookup("/Base/Staff")
        batch = Batch(complete=[Scope("people", None, {"kind": "staff"})])
        with reading("kayako", "/Base/Staff"):
            batch.add("people", [m.staff_row(s) for s in staff])
        yield batch
        async for batch in self._users(
            int(self.people_state.get("max_user_id", 0)) + 1, full=False
        ):
            yield batch

    async def _users(self, marker: int, *, full: bool) -> AsyncIterator[Batch]:
        since = datetime.now(UTC)
        while True:
            users = await self.client.users(marker, USER_PAGE)
            top = max((int(u["id"]) for u in users), default=marker - 1)
            self.people_state["max_user_id"] = max(
                int(self.people_state.get("max_user_id", 0)), top
            )
            batch = Batch(state={"people": dict(self.people_state)})
            with reading("kayako", "users"):
                batch.add("people", [m.user_row(u) for u in users])
            last = len(users) < USER_PAGE
            if full and last:
                batch.complete.append(Scope("people", None, {"kind": "requester"}, since=since))
            yield batch
            if last:
                return
            marker = top + 1

    # -- changed walk -----------------------------------------------------------------------
    async def _walk(self, lookups: m.Lookups) -> AsyncIterator[Batch]:
        walk: WalkState[int] | None = None
        if not self.read_ctx.full_refresh:
            walk = WalkState.load(self.state.get("walk"))
        resumed = walk is not None
        if walk is None:
            watermark = None if self.read_ctx.full_refresh else self.state.get("watermark")
            floor = (
                watermark - int(self.options.seconds("lookback")) if watermark is not None else None
            )
            walk = WalkState(floor=floor, started=datetime.now(UTC).isoformat(), full=floor is None)
        skip_band = (walk.done_below, walk.high) if resumed else None
        total = self._count("departments", self.departments) if walk.floor is None else None
        self.tally = self.read_ctx.tally("tickets", total)

        async def posts(listed: Listed) -> tuple[list[Record], list[Read]]:
            wanted = [t for t in listed.records if self._wanted(t, walk.floor, skip_band)]
            todo = self._unseen(wanted, walk)
            return todo, await self._posts(todo)

        def last(listed: Listed) -> bool:
            return listed.last or _below(listed.records, walk.floor)

        pages = self._pages(self.all_statuses, "lastactivity", "DESC")
        async with aclosing(read_ahead(pages, posts, depth=1, last=last)) as read:
            async for listed, (todo, todo_posts) in read:
                page = listed.records
                if walk.high is None and page:
                    walk.high = int(page[0]["lastactivity"])
                batch = self._changed_batch(todo, todo_posts, lookups)
                lowest = min((int(t["lastactivity"]) for t in page), default=None)
                done = last(listed)
                walk.done_below = lowest if lowest is not None else walk.done_below
                if done:
                    self._finish_walk(walk, batch)
                    # begun in this run, it listed every ticket now; a resumed one skipped those
                    # an earlier run committed, whose hidden notes the reconcile still has to see
                    self.walked_all = walk.full and not resumed
                else:
                    self.state["walk"] = asdict(walk)
                batch.state["tickets"] = dict(self.state)
                yield batch
                if done:
                    return

    def _wanted(
        self, ticket: Record, floor: int | None, skip_band: tuple[int | None, int | None] | None
    ) -> bool:
        activity = int(ticket["lastactivity"])
        if ticket["id"] in self.seen.walked or (floor is not None and activity < floor):
            return False
        if skip_band and skip_band[0] is not None and skip_band[1] is not None:
            return not skip_band[0] < activity <= skip_band[1]
        return True

    def _unseen(self, tickets: list[Record], walk: WalkState[int]) -> list[Record]:
        """Drop tickets the warehouse already holds at this lastactivity (the lookback band).

        A walk over everything keeps them all: it closes the whole ticket scope when it ends, so
        every ticket it passes must be carried, also after a resume in a plain sync.
        """
        if walk.full:
            return tickets
        held = self.read_ctx.warehouse.values("tickets", "updated_at", [t["id"] for t in tickets])
        return [t for t in tickets if _epoch(held.get(t["id"])) != int(t["lastactivity"])]

    def _finish_walk(self, walk: WalkState[int], batch: Batch) -> None:
        if walk.full:  # a walk over everything: what it did not see is a deletion candidate
            since = datetime.fromisoformat(walk.started) if walk.started else None
            batch.complete.append(Scope("tickets", None, since=since))
            self.state["closed_reconciled_at"] = time.time()
        self.state["watermark"] = (
            walk.high if walk.high is not None else self.state.get("watermark")
        )
        self.state["walk"] = None

    async def _posts(self, tickets: list[Record]) -> list[Read]:
        """Each ticket's posts and (when the connection reads them) custom fields."""
        count = self.tally.counted
        posts = await asyncio.gather(*(count(self.client.posts(t["id"])) for t in tickets))
        custom = await custom_fields(self.client, self.options, [t["id"] for t in tickets])
        return list(zip(posts, custom, strict=True))

    def _changed_batch(self, tickets: list[Record], reads: list[Read], lookups: m.Lookups) -> Batch:
        batch = Batch()
        for ticket, (ticket_posts, fields) in zip(tickets, reads, strict=True):
            add_ticket(batch, ticket | {"posts": ticket_posts}, lookups, fields)
            self.seen.walked.add(ticket["id"])
        ids = tuple(t["id"] for t in tickets)
        batch.complete += [
            Scope("notes", ids),
            Scope("time_entries", ids),
            Scope("attachments", ids),
        ]
        return batch

    # -- reconcile --------------------------------------------------------------------------
    async def _reconcile(
        self, lookups: m.Lookups, statuses: list[str], *, closed: bool
    ) -> AsyncIterator[Batch]:
        if not statuses:
            return
        known = {lookups.statuses[s] for s in statuses}
        stored = set(self.read_ctx.warehouse.ids("tickets", status=sorted(known)))

        replies_held = RepliesHeld(self.read_ctx.warehouse)

        async def stale_posts(listed: Listed) -> tuple[list[Record], list[Read]]:
            fresh = [t for t in listed.records if t["id"] not in self.seen.walked]
            # a window of counts ahead of the page: the whole table's would grow with the helpdesk
            posts_held = replies_held(fresh)
            # a deleted reply leaves lastactivity alone but lowers the reply count
            stale = [
                t for t in fresh if int(t.get("replies") or 0) + 1 != posts_held.get(t["id"], 0)
            ]
            return stale, await self._posts(stale)

        csv = ",".join(statuses)
        # the count cache says how long the listing is, so its pages can be asked for together
        pages = self._pages(csv, "ticketid", "ASC", expect=self._count("statuses", csv))
        async with aclosing(read_ahead(pages, stale_posts, depth=1)) as read:
            async for listed, (stale, stale_posts_read) in read:
                page = listed.records
                fresh = [t for t in page if t["id"] not in self.seen.walked]
                self.seen.listed.update(t["id"] for t in page)
                batch = self._changed_batch(stale, stale_posts_read, lookups)
                for ticket in fresh:
                    if ticket not in stale:
                        add_ticket(batch, ticket, lookups)
                ids = tuple(t["id"] for t in fresh)
                batch.complete += [
                    Scope("notes", ids, {"kind": "note"}),
                    Scope("time_entries", ids),
                ]
                yield batch
        missing = sorted(
            (i for i in stored if i not in self.seen.listed and i not in self.seen.walked), key=int
        )
        if missing:
            yield await read_tickets(self.client, missing, lookups)
        if closed:
            self.state["closed_reconciled_at"] = time.time()
            yield Batch(state={"tickets": dict(self.state)})

    async def _custom_catalog(self) -> list[FieldSpec]:
        """The ticket custom fields, with the values of each choice field (one request each)."""
        definitions = await self.client.custom_field_definitions()
        choosing = [
            s["key"] for s in m.custom_specs(definitions, {}) if s["type"].endswith("choice")
        ]
        found = await asyncio.gather(*(self.client.custom_field_options(k) for k in choosing))
        options = {
            key: [o.get("optionvalue", "") for o in rows]
            for key, rows in zip(choosing, found, strict=True)
        }
        return m.custom_specs(definitions, options)

    def _closed_due(self) -> bool:
        last = self.state.get("closed_reconciled_at")
        return last is None or time.time() - float(last) >= self.options.seconds(
            "closed_reconcile_every"
        )

    # -- paging -------------------------------------------------------------------------------
    def _pages(
        self, statuses: str, sort: str, order: str, expect: int | None = None
    ) -> OffsetPager:
        """ListAll over every department and these (CSV) statuses, by offset; with ``expect``
        (rows the listing should hold), the pages below it are requested a window at a time."""

        async def fetch(start: int, size: int) -> OffsetPage:
            return OffsetPage(
                await self.client.list_tickets(self.departments, statuses, size, start, sort, order)
            )

        return OffsetPager(
            fetch,
            self.options.page_size,
            lambda t: str(t["id"]),
            vendor="kayako",
            expect=expect,
            ahead=self.client.session.options.concurrency,
        )


class RepliesHeld:
    """Stored reply counts for a listing sorted by ticket id, a window of ids at a time.

    Each count is a query that scans the notes table, so asking page by page cost one scan per
    200 open tickets. Asked about a page, this fetches the counts of the next :attr:`WINDOW`
    ticket numbers from the page's first, and answers the pages after it from those while they
    fall inside: a scan per several pages, and never more than a window's counts held. Ids that
    are not plain numbers (:func:`~deskbridge.sdk.idset.id_number`), or a page spread wider
    than a few windows, are asked about exactly.
    A ticket is listed once per pass, and only its own page re-reads its posts, so a count
    fetched ahead is still the stored one when its page comes.
    """

    WINDOW = 5000

    def __init__(self, view: WarehouseView) -> None:
        self.view = view
        self.low = self.high = 0  # ticket numbers [low, high) the counts cover
        self.counts: dict[str, int] = {}

    def __call__(self, tickets: list[Record]) -> dict[str, int]:
        if not tickets:
            return {}
        ids = [t["id"] for t in tickets]
        numbers = [n for n in map(id_number, ids) if n is not None]
        if len(numbers) < len(ids):
            return self._ask(ids)
        low, high = min(numbers), max(numbers) + 1
        if not (self.low <= low and high <= self.high):
            if high - low > 4 * self.WINDOW:
                return self._ask(ids)
            self.low, self.high = low, max(high, low + self.WINDOW)
            self.counts = self._ask([str(n) for n in range(self.low, self.high)])
        return {i: self.counts[i] for i in ids if i in self.counts}

    def _ask(self, ids: list[str]) -> dict[str, int]:
        return self.view.child_counts("notes", kind="reply", ticket_id=ids)
