"""Reading tickets by id and turning them into batches: the one step every Track-It! pass shares.

A ticket costs one GET; its notes, attachments and assignments three more, read only when the
ticket's canonical content hash differs from the stored one (or when ``force_children``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Container, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from deskbridge.sdk import Batch, Scope, reading, row_hash

from . import mapping as m
from .client import Record, TrackitClient
from .people import PeopleTracker

CHILDREN = ("notes", "time_entries", "attachments")
T = TypeVar("T")


@dataclass
class Loaded:
    """One ticket as read: ``None`` record when gone; ``children`` only when they were re-read."""

    ticket_id: int
    record: Record | None = None
    row: dict[str, Any] | None = None
    children: tuple[list[Record], list[Record], list[Record]] | None = None


@dataclass
class Seen:
    """What one run has read so far."""

    tickets: set[int] = field(default_factory=set)
    reread: set[str] = field(default_factory=set)  # tickets whose children were re-read
    deleted: set[str] = field(default_factory=set)


class Loader:
    """Loads tickets concurrently (the session bounds how many requests are in flight)."""

    def __init__(
        self,
        client: TrackitClient,
        people: PeopleTracker,
        *,
        hashes: dict[str, str],
        known: Container[str],
        force_children: bool = False,
    ) -> None:
        self.client, self.people, self.hashes, self.known = client, people, hashes, known
        self.force_children = force_children
        self.seen = Seen()

    async def load_all(self, ids: Iterable[int]) -> list[Loaded]:
        loaded = await gather(*(self._load(i) for i in ids))
        self.seen.tickets.update(item.ticket_id for item in loaded)
        return loaded

    async def _load(self, ticket_id: int) -> Loaded:
        record = await self.client.ticket(ticket_id)
        if record is None:
            return Loaded(ticket_id)
        with reading("trackit", "tickets", str(ticket_id)):
            row = m.ticket_row(record, self.client.names.label)
        if not self.force_children and self.hashes.get(row["source_id"]) == row_hash(
            "tickets", row
        ):
            return Loaded(ticket_id, record, row)
        c = self.client
        notes, attachments, assignments = await gather(
            c.notes(ticket_id), c.attachments(ticket_id), c.assignments(ticket_id)
        )
        return Loaded(ticket_id, record, row, (notes, attachments, assignments))

    def batch(self, loaded: list[Loaded], state: dict[str, Any] | None = None) -> Batch:
        """Rows of the changed tickets with their children, and the known tickets found gone."""
        batch = Batch(state={"tickets": dict(state)} if state is not None else {})
        reread: list[str] = []
        for item in loaded:
            if item.record is None:
                if str(item.ticket_id) in self.known:
                    batch.deleted.setdefault("tickets", []).append(str(item.ticket_id))
                    self.seen.deleted.add(str(item.ticket_id))
                continue
            with reading("trackit", "tickets", str(item.ticket_id)):
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
        note_rows = [m.note_row(n) for n in notes]
        entries = [t for t in map(m.time_entry_row, notes) if t is not None]
        files = [m.attachment_row(a, item.row["source_id"]) for a in attachments]
        item.row["raw"]["assignments"] = [m.raw(a) for a in assignments]
        batch.add("tickets", [item.row])
        batch.add("notes", note_rows)
        batch.add("time_entries", entries)
        batch.add("attachments", files)
        self.people.emit(m.ticket_people(item.record))
        for note in notes:
            self.people.named(m.note_people(note), emit_new=True)


async def gather(*coros: Awaitable[T]) -> list[T]:
    """``asyncio.gather`` that cancels the rest when one fails, so a failed run leaves nothing running."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
