"""How Track-It! data is read: an id walk for new tickets, a re-read of open ones, a closed reconcile.

Track-It! has no list endpoint and no "changed since" filter, so every pass reads tickets one
id at a time (``GET /tickets/{id}``) and re-reads a ticket's notes, attachments and assignments
only when the ticket's canonical content moved (its hash includes ``updated_at``, the later of
Last Modified and Latest Note Date):

* **Walk** (incremental): probe ids past the highest known one, in windows, until
  ``max_misses`` ids in a row answer 404 (deletes leave gaps). Checkpointed per window.
* **Open refresh** (incremental, every run): re-read every stored ticket that is not closed.
* **Closed reconcile** (``reconcile``, every ``closed_reconcile_every``): re-read the closed
  ones too, which is the only way to see a closed ticket reopened or deleted. Checkpointed per
  batch; a killed pass resumes while it is younger than the schedule, else starts again.

A 404 on a stored ticket marks it deleted, with its children.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from deskbridge.contract import Batch, ReadContext, Scope
from deskbridge.models import canonical_fields
from deskbridge.warehouse import content_hash

from . import mapping as m
from .client import Record, TrackitClient
from .people import PeopleTracker

CHILDREN = ("notes", "time_entries", "attachments")
OPEN_CATEGORIES = ("new", "open", "pending")
TICKET_FIELDS = canonical_fields("tickets")
T = TypeVar("T")


@dataclass
class Loaded:
    """One ticket as read: ``None`` record when gone; ``children`` only when they were re-read."""

    ticket_id: int
    record: Record | None = None
    row: dict[str, Any] | None = None
    children: tuple[list[Record], list[Record], list[Record]] | None = None


@dataclass
class Stored:
    """What the warehouse held when the run began."""

    open_ids: list[int]
    closed_ids: list[int]
    hashes: dict[str, str]

    @classmethod
    def load(cls, ctx: ReadContext) -> Stored:
        view = ctx.warehouse
        open_ids = {int(i) for i in view.ids("tickets", status_category=list(OPEN_CATEGORIES))}
        closed = {int(i) for i in view.ids("tickets")} - open_ids
        return cls(sorted(open_ids), sorted(closed), view.hashes("tickets"))


@dataclass
class Seen:
    tickets: set[int] = field(default_factory=set)
    reread: set[str] = field(default_factory=set)  # tickets whose children this run re-read
    deleted: set[str] = field(default_factory=set)


class TrackitReader:
    def __init__(self, client: TrackitClient, options: Any, ctx: ReadContext) -> None:
        self.client, self.options, self.ctx = client, options, ctx
        self.state: dict[str, Any] = {"high": 0, "closed_reconciled_at": None, "closed_pass": None}
        self.state.update(ctx.state.get("tickets", {}))
        self.stored = Stored.load(ctx)
        self.seen = Seen()
        self.people = PeopleTracker(ctx.warehouse)

    async def read(self) -> AsyncIterator[Batch]:
        session = self.client.session
        session.category = "incremental"
        async for batch in self._walk():
            yield batch
        async for batch in self._refresh(
            i for i in self.stored.open_ids if i not in self.seen.tickets
        ):
            yield batch
        if self._closed_due():
            session.category = "reconcile"
            async for batch in self._reconcile():
                yield batch

    # -- walk -----------------------------------------------------------------------------------
    async def _walk(self) -> AsyncIterator[Batch]:
        next_id = max(int(self.state["high"]) + 1, self.options.first_ticket_id)
        trailing, hits, misses = 0, 0, self.options.max_misses
        while trailing < misses:
            # after a miss, probe just enough to conclude; after a hit, grow the window
            size = (
                misses - trailing
                if trailing
                else max(misses, min(self.options.batch_size, 2 * hits))
            )
            loaded = await self._load_all(range(next_id, next_id + size))
            found = [item.ticket_id for item in loaded if item.record is not None]
            hits, next_id = len(found), next_id + size
            trailing = next_id - 1 - found[-1] if found else trailing + size
            self.state["high"] = max([int(self.state["high"]), *found])
            yield self._batch(loaded)

    # -- open refresh and closed reconcile ----------------------------------------------------------
    async def _refresh(self, ids: Iterable[int]) -> AsyncIterator[Batch]:
        for chunk in _chunks(list(ids), self.options.batch_size):
            yield self._batch(await self._load_all(chunk))

    async def _reconcile(self) -> AsyncIterator[Batch]:
        now = time.time()
        progress = self.state["closed_pass"]
        resumed = (
            bool(progress) and now - progress["started"] < self.options.closed_reconcile_every_s
        )
        if not resumed:
            progress = {"started": now, "after": 0}
        todo = [
            i
            for i in self.stored.closed_ids
            if i > progress["after"] and i not in self.seen.tickets
        ]
        for chunk in _chunks(todo, self.options.batch_size):
            loaded = await self._load_all(chunk)
            self.state["closed_pass"] = {"started": progress["started"], "after": chunk[-1]}
            yield self._batch(loaded)
        self.state.update(closed_pass=None, closed_reconciled_at=progress["started"])
        batch = Batch(state={"tickets": dict(self.state)})
        if not resumed:  # every live ticket was read by this run: people nothing names are gone
            batch.deleted["people"] = self.people.orphans(self.seen.reread | self.seen.deleted)
        yield batch

    def _closed_due(self) -> bool:
        if self.ctx.full_refresh or self.state["closed_pass"]:
            return True
        last = self.state["closed_reconciled_at"]
        return last is None or time.time() - float(last) >= self.options.closed_reconcile_every_s

    # -- one ticket -------------------------------------------------------------------------------
    async def _load_all(self, ids: Iterable[int]) -> list[Loaded]:
        loaded = await gather(*(self._load(i) for i in ids))
        self.seen.tickets.update(item.ticket_id for item in loaded)
        self.ctx.progress("tickets", len(self.seen.tickets), None)
        return loaded

    async def _load(self, ticket_id: int) -> Loaded:
        record = await self.client.ticket(ticket_id)
        if record is None:
            return Loaded(ticket_id)
        row = m.ticket_row(record)
        unchanged = self.stored.hashes.get(row["source_id"]) == content_hash(row, TICKET_FIELDS)
        if unchanged and not self.ctx.full_refresh:
            return Loaded(ticket_id, record, row)
        c = self.client
        notes, attachments, assignments = await gather(
            c.notes(ticket_id), c.attachments(ticket_id), c.assignments(ticket_id)
        )
        return Loaded(ticket_id, record, row, (notes, attachments, assignments))

    def _batch(self, loaded: list[Loaded]) -> Batch:
        batch = Batch(state={"tickets": dict(self.state)})
        reread: list[str] = []
        for item in loaded:
            if item.record is None:
                if str(item.ticket_id) in self.stored.hashes:
                    batch.deleted.setdefault("tickets", []).append(str(item.ticket_id))
                    self.seen.deleted.add(str(item.ticket_id))
                continue
            self.people.named(m.ticket_people(item.record))
            if item.children is not None:
                self._add_ticket(batch, item)
                reread.append(str(item.ticket_id))
        self.seen.reread.update(reread)
        batch.complete += [Scope(entity, tuple(reread)) for entity in CHILDREN]
        batch.add("people", self.people.drain())
        return batch

    def _add_ticket(self, batch: Batch, item: Loaded) -> None:
        assert item.row is not None and item.record is not None and item.children is not None
        notes, attachments, assignments = item.children
        item.row["raw"]["assignments"] = [m.raw(a) for a in assignments]
        batch.add("tickets", [item.row])
        batch.add("notes", [m.note_row(n) for n in notes])
        batch.add("time_entries", [t for t in map(m.time_entry_row, notes) if t is not None])
        batch.add("attachments", [m.attachment_row(a, item.row["source_id"]) for a in attachments])
        self.people.emit(m.ticket_people(item.record))
        for note in notes:
            self.people.named(m.note_people(note), emit_new=True)


async def gather(*coros: Awaitable[T]) -> list[T]:
    """``asyncio.gather`` that cancels the others when one fails, so a failed run leaves no requests behind."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    return (items[i : i + size] for i in range(0, len(items), size))
