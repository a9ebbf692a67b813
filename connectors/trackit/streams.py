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

A 404 on a stored ticket marks it deleted, with its children. Loading and batching live in
:mod:`.loader`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from deskbridge.sdk import Batch, ReadContext

from . import mapping as m
from .client import TrackitClient
from .loader import Loader
from .people import PeopleTracker

OPEN_CATEGORIES = ("new", "open", "pending")


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


class TrackitReader:
    def __init__(self, client: TrackitClient, options: Any, ctx: ReadContext) -> None:
        self.client, self.options, self.ctx = client, options, ctx
        self.state: dict[str, Any] = {"high": 0, "closed_reconciled_at": None, "closed_pass": None}
        self.state.update(ctx.state.get("tickets", {}))
        self.stored = Stored.load(ctx)
        self.people = PeopleTracker(set(ctx.warehouse.ids("people")))
        self.loader = Loader(
            client,
            self.people,
            hashes=self.stored.hashes,
            known=self.stored.hashes,
            force_children=ctx.full_refresh,
        )
        self.seen = self.loader.seen

    async def read(self) -> AsyncIterator[Batch]:
        async for batch in self._walk():
            yield batch
        async for batch in self._refresh(
            i for i in self.stored.open_ids if i not in self.seen.tickets
        ):
            yield batch
        if self._closed_due():
            self.loader.client = self.loader.client.costing("reconcile")
            async for batch in self._reconcile():
                yield batch
        # the catalog is the field table's, with the names this run's answers showed: no request
        yield Batch(fields=m.custom_specs(self.client.names.label))

    async def _load_all(self, ids: Iterable[int]) -> list[Any]:
        loaded = await self.loader.load_all(ids)
        self.ctx.progress("tickets", len(self.seen.tickets), None)
        return loaded

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
            yield self.loader.batch(loaded, self.state)

    # -- open refresh and closed reconcile ----------------------------------------------------------
    async def _refresh(self, ids: Iterable[int]) -> AsyncIterator[Batch]:
        for chunk in _chunks(list(ids), self.options.batch_size):
            yield self.loader.batch(await self._load_all(chunk), self.state)

    async def _reconcile(self) -> AsyncIterator[Batch]:
        now = time.time()
        progress = self.state["closed_pass"]
        resumed = bool(progress) and now - progress["started"] < self.options.seconds(
            "closed_reconcile_every"
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
            yield self.loader.batch(loaded, self.state)
        self.state.update(closed_pass=None, closed_reconciled_at=progress["started"])
        batch = Batch(state={"tickets": dict(self.state)})
        if not resumed:  # every live ticket was read by this run: people nothing names are gone
            gone = self.seen.reread | self.seen.deleted
            batch.deleted["people"] = self.people.orphans(self.ctx.warehouse, gone)
        yield batch

    def _closed_due(self) -> bool:
        if self.ctx.full_refresh or self.state["closed_pass"]:
            return True
        last = self.state["closed_reconciled_at"]
        return last is None or time.time() - float(last) >= self.options.seconds(
            "closed_reconcile_every"
        )


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    return (items[i : i + size] for i in range(0, len(items), size))
