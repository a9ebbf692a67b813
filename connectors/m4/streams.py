"""How M4 data is read: a ticket snapshot, a note window, and reconcile passes.

* **Snapshot** (every run): ``GetTickets`` returns every ticket; M4 keeps no modification
  time, so every ticket is upserted (the warehouse's content hash makes unchanged ones no-ops)
  and compared with the stored hash. New and changed tickets become *pending*; tickets missing
  from the snapshot are deletion candidates: each is read, and deleted (with its notes and time
  entries) when M4 answers 404.
* **Note window** (every run): ``GetTicketNotes`` from the watermark minus ``lookback``, with
  no end, catches new notes (and edits that sent a new ``ts``).
* **Reconcile**, counted apart: pending tickets, then a scheduled pass. The *open* pass re-reads
  notes and time entries of every open ticket; the *all* pass sweeps every note in ``ts``
  windows (deleting notes it did not see) and re-reads time entries of every ticket.

State: ``tickets`` holds the pending IDs, the pass in progress (resumed after a crash from
the last ticket ID it finished, then wrapped around: see :meth:`Pass.resume`) and when each pass last completed; ``notes`` holds the
window's watermark. Every batch carries the state that covers it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field, field_validator

from deskbridge.sdk import (
    Batch,
    ConnectorOptions,
    Duration,
    ReadContext,
    Scope,
    parse_duration,
    row_hash,
)

from . import mapping as m
from .client import M4Client
from .clock import parse_zone
from .reread import children, mapped, people


class M4Options(ConnectorOptions):
    api_root: str = Field("/m4api/api", description="Path of the web API under base_url.")
    server_timezone: str = Field(
        "-05:00", description="Zone of times sent without an offset: '-05:00' or an IANA name."
    )
    lookback: Duration = Field("10m", description="Overlap of the note window below its watermark.")
    reconcile_open_every: Duration = Field(
        "0s", description="How often notes and time entries of open tickets are re-read."
    )
    reconcile_all_every: Duration = Field(
        "0s", description="How often every note and every ticket's time entries are re-read."
    )
    sweep_window: Duration = Field(
        "30d", description="ts span of one GetTicketNotes request in the sweep."
    )
    reconcile_chunk: int = Field(100, ge=1, le=5000, description="Tickets re-read per checkpoint.")

    @field_validator("sweep_window")
    @classmethod
    def _window(cls, value: str) -> str:
        if parse_duration(value) < 3600:
            raise ValueError("the note sweep window must be at least '1h'")
        return value

    @field_validator("server_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        parse_zone(value)
        return value


@dataclass
class Pass:
    """A scheduled reconcile pass: ``all`` tickets or the ``open`` ones, in ID order."""

    kind: str
    started: float  # epoch seconds; becomes ``<kind>_at`` when the pass completes
    after: int | None = None  # tickets up to this ID are done
    sweep_from: str | None = None  # all passes: start of the next note window (None: the first)
    swept: bool = False  # all passes: every note has been read
    lap_end: int | None = None  # resumed: after the highest ID, wrap around to this one
    wrapped: bool = False  # resumed: the lap has wrapped around

    def resume(self, now: float) -> None:
        """Continue a pass an earlier run left unfinished, as a full lap of this run.

        What the earlier run read may have changed since (a note edited in place, a note or
        time entry deleted), so the lap goes on from where that run stopped, wraps around to
        it, and sweeps every note again: the pass ends with everything read by this run.
        """
        self.started = now
        self.lap_end, self.wrapped = self.after, False
        self.sweep_from, self.swept = None, False


@dataclass
class TicketState:
    pending: list[str] = field(default_factory=list)  # ticket IDs whose children need a re-read
    current: Pass | None = None
    open_at: float | None = None
    all_at: float | None = None
    loaded: bool = False  # a first all pass has completed

    @classmethod
    def load(cls, data: dict[str, Any] | None) -> TicketState:
        data = dict(data or {})
        current = data.pop("current", None)
        return cls(**data, current=Pass(**current) if current else None)

    def dump(self) -> dict[str, Any]:
        return asdict(self)


class M4Reader:
    """One run's read: snapshot, notes, reconcile."""

    def __init__(self, client: M4Client, options: M4Options, ctx: ReadContext) -> None:
        self.client, self.options, self.ctx = client, options, ctx
        self.clock = client.clock
        self.state = TicketState.load(ctx.state.get("tickets"))
        if self.state.current is not None:
            self.state.current.resume(time.time())
        self.watermark: str | None = ctx.state.get("notes", {}).get("watermark")
        self.ticket_ids: list[str] = []
        self.open_ids: set[str] = set()
        self.first_opened: datetime | None = None
        self.done: set[str] = set()

    async def read(self) -> AsyncIterator[Batch]:
        yield await self._snapshot()
        current = self.state.current
        if current is not None and current.kind == "all" and not current.swept:
            self.client = self.client.costing("reconcile" if self.state.loaded else "incremental")
            async for batch in self._sweep(current):
                yield batch
        else:
            yield await self._window()
        self.client = self.client.costing("reconcile" if self.state.loaded else "incremental")
        async for batch in self._reconcile():
            yield batch

    # -- snapshot ---------------------------------------------------------------------
    async def _snapshot(self) -> Batch:
        asked = datetime.now(UTC)
        records = await self.client.tickets()
        rows = mapped("tickets", m.ticket_row, records, self.clock)
        stored = self.ctx.warehouse.hashes("tickets")
        seen = {row["source_id"] for row in rows}
        changed = {r["source_id"] for r in rows if stored.get(r["source_id"]) != _hash(r)}
        self.ticket_ids = sorted(seen, key=int)
        self.open_ids = {r["source_id"] for r in rows if m.is_open(r)}
        self.first_opened = min((r["created_at"] for r in rows if r["created_at"]), default=None)
        self._plan(changed, seen)
        # tickets the snapshot lacks are candidates, confirmed by a read of each (404: gone)
        batch = Batch(complete=[Scope("tickets", since=asked), Scope("people", since=asked)])
        batch.add("tickets", rows)
        batch.add("people", people(records))
        batch.state["tickets"] = self.state.dump()
        self.ctx.progress("tickets", len(rows), len(rows))
        return batch

    def _plan(self, changed: set[str], seen: set[str]) -> None:
        """Start a scheduled pass if one is due; remember what it will not cover as pending."""
        state, now, opts = self.state, time.time(), self.options
        if state.current is None:
            if _due(state.all_at, now, opts.seconds("reconcile_all_every")):
                state.current = Pass("all", now)
            elif _due(state.open_at, now, opts.seconds("reconcile_open_every")):
                state.current = Pass("open", now)
        pending = ((set(state.pending) | changed) & seen) - self._covered()
        state.pending = sorted(pending, key=int)

    def _covered(self) -> set[str]:
        """Tickets whose notes and time entries the rest of the current pass will re-read."""
        current = self.state.current
        if current is None or (current.kind == "all" and current.swept):
            return set()
        pool = self.ticket_ids if current.kind == "all" else self.open_ids
        return {i for i in pool if _ahead(current, int(i))}

    # -- notes ------------------------------------------------------------------------
    async def _window(self) -> Batch:
        """New notes: ``ts`` from the watermark minus the lookback, with no end."""
        asked = datetime.now(UTC)
        start = None
        if self.watermark:
            lookback = timedelta(seconds=self.options.seconds("lookback"))
            start = datetime.fromisoformat(self.watermark) - lookback
        notes = await self.client.notes_between(start, None)
        batch = Batch(state={"notes": {"watermark": asked.isoformat()}})
        batch.add("notes", mapped("notes", m.note_row, notes, self.clock))
        return batch

    async def _sweep(self, current: Pass) -> AsyncIterator[Batch]:
        """Every note, in ``ts`` windows; notes it did not see are gone."""
        width = timedelta(seconds=self.options.seconds("sweep_window"))
        start = datetime.fromisoformat(current.sweep_from) if current.sweep_from else None
        while True:
            asked = datetime.now(UTC)
            end = (start or self.first_opened or asked) + width
            last = end >= asked  # the last window has no end: it holds notes dated in the future
            notes = await self.client.notes_between(start, None if last else end)
            batch = Batch()
            batch.add("notes", mapped("notes", m.note_row, notes, self.clock))
            if last:
                current.swept, current.sweep_from = True, None
                since = datetime.fromtimestamp(current.started, UTC)
                batch.complete.append(Scope("notes", since=since))
                batch.state["notes"] = {"watermark": asked.isoformat()}
            else:
                current.sweep_from = end.isoformat()
            batch.state["tickets"] = self.state.dump()
            yield batch
            if last:
                return
            start = end

    # -- reconcile --------------------------------------------------------------------
    async def _reconcile(self) -> AsyncIterator[Batch]:
        state, size = self.state, self.options.reconcile_chunk
        for chunk in _chunks(list(state.pending), size):
            batch = await children(self.client, chunk, notes=True)
            state.pending = state.pending[len(chunk) :]
            self.done.update(chunk)
            batch.state["tickets"] = state.dump()
            yield batch
        current = state.current
        if current is None:
            return
        head, tail = self._pass_targets(current)
        total, n = len(head) + len(tail), 0
        for part, wraps in ((head, False), (tail, True)):
            for chunk in _chunks(part, size):
                batch = await children(self.client, chunk, notes=current.kind == "open")
                current.after, current.wrapped = int(chunk[-1]), current.wrapped or wraps
                batch.state["tickets"] = state.dump()
                yield batch
                n += len(chunk)
                self.ctx.progress(f"reconcile_{current.kind}", n, total)
        self._finish(current)
        yield Batch(state={"tickets": state.dump()})

    def _pass_targets(self, current: Pass) -> tuple[list[str], list[str]]:
        """What the pass still reads: IDs after its position, then (a resumed lap) the wrap."""
        pool = self.ticket_ids if current.kind == "all" else sorted(self.open_ids, key=int)
        todo = [i for i in pool if _ahead(current, int(i)) and i not in self.done]
        after = current.after if current.after is not None else -1
        if current.wrapped:
            return [], todo
        return [i for i in todo if int(i) > after], [i for i in todo if int(i) <= after]

    def _finish(self, current: Pass) -> None:
        state = self.state
        state.open_at = current.started
        if current.kind == "all":
            state.all_at, state.loaded = current.started, True
        state.current = None


def _hash(row: dict[str, Any]) -> str:
    """The warehouse's content hash of a ticket row, to compare with the stored one."""
    return row_hash("tickets", row)


def _ahead(current: Pass, ticket_id: int) -> bool:
    """Whether the rest of the pass (its lap, for a resumed one) still reads this ticket."""
    after = current.after if current.after is not None else -1
    if current.lap_end is None:
        return ticket_id > after
    if current.wrapped:
        return after < ticket_id <= current.lap_end
    return ticket_id > after or ticket_id <= current.lap_end


def _due(last: float | None, now: float, every_s: float) -> bool:
    return last is None or now - last >= every_s


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
