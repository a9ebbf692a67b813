"""The writer side of a sync: batches commit in a worker thread while the connector reads on.

A bounded queue sits between the connector's read and the :class:`Writer`, so requests keep
going out while a batch commits. Nothing about checkpoints changes: the writer sees the batches
in the order the connector yielded them, coalesces them, and commits rows with the cursor state
that covers them in one transaction; a cursor never commits ahead of its rows.

The DuckDB connection is used by the commit thread and, for the connector's
:class:`~deskbridge.sdk.contract.WarehouseView` reads, by the event loop: one lock keeps them
from using it at once (a view read waits for the commit in progress).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from deskbridge.sdk.contract import Batch, Scope, WarehouseView
from deskbridge.warehouse.store import Warehouse, in_thread

QUEUE_DEPTH = 2  # batches read ahead of the writer; bounds the memory a slow commit can hold


class Writer:
    """Coalesces batches and commits them off the event loop, one transaction each."""

    def __init__(
        self,
        warehouse: Warehouse,
        connection: str,
        run_id: int,
        run_started: Any,
        versions: dict[str, int],
        commit_rows: int,
        commit_interval_s: float,
    ) -> None:
        self.warehouse, self.connection, self.run_id = warehouse, connection, run_id
        self.run_started, self.versions = run_started, versions
        self.commit_rows, self.commit_interval_s = commit_rows, commit_interval_s
        self.pending: list[Batch] = []
        self.pending_rows = 0
        self.last_commit = time.monotonic()
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()  # the DuckDB connection: one thread at a time

    def view(self) -> WarehouseView:
        """The connection's stored rows, read under the writer's lock."""
        return GuardedView(self.warehouse.view(self.connection), self.lock)

    async def add(self, batch: Batch) -> None:
        self.pending.append(batch)
        self.pending_rows += len(batch)
        due = time.monotonic() - self.last_commit >= self.commit_interval_s
        if self.pending_rows >= self.commit_rows or due:
            await self.flush()

    async def flush(self) -> None:
        if not self.pending:
            return
        merged = merge(self.pending)
        self.pending, self.pending_rows = [], 0
        await in_thread(self._commit, merged)
        self.last_commit = time.monotonic()

    def _commit(self, batch: Batch) -> None:
        with self.lock:
            self.counts += self.warehouse.apply_batch(
                self.connection, self.run_id, self.run_started, batch, self.versions
            )

    async def consume(self, batches: AsyncIterator[Batch]) -> None:
        """Add every batch of ``batches``, read in a task of its own up to ``QUEUE_DEPTH`` ahead.

        A read that fails still has the batches it yielded before the failure added, as if read
        one by one, then its error is raised. Cancelled, the batches already read are kept
        pending for :meth:`flush` (they are complete checkpoints).
        """
        queue: asyncio.Queue[Batch | _End] = asyncio.Queue(QUEUE_DEPTH)
        reader = asyncio.ensure_future(_read(batches, queue))
        try:
            while not isinstance(item := await queue.get(), _End):
                await self.add(item)
        except asyncio.CancelledError:
            await _stop(reader)
            while not queue.empty():
                if not isinstance(item := queue.get_nowait(), _End):
                    self.pending.append(item)
            raise
        finally:
            await _stop(reader)
        if item.error is not None:
            raise item.error


@dataclass(frozen=True)
class _End:
    error: Exception | None = None


async def _read(batches: AsyncIterator[Batch], queue: asyncio.Queue[Batch | _End]) -> None:
    try:
        async for batch in batches:
            await queue.put(batch)
    except Exception as exc:  # handed to the writer, which raises it after the batches before it
        await queue.put(_End(exc))
    else:
        await queue.put(_End())


async def _stop(task: asyncio.Future[None]) -> None:
    if not task.done():
        task.cancel()
    await asyncio.wait([task])


class GuardedView(WarehouseView):
    """A :class:`WarehouseView` whose reads wait for a commit in progress on the same connection."""

    def __init__(self, view: WarehouseView, lock: threading.Lock) -> None:
        self._view, self._lock = view, lock

    def ids(self, entity: str, *, deleted: bool = False, **equals: Any) -> list[str]:
        with self._lock:
            return self._view.ids(entity, deleted=deleted, **equals)

    def child_counts(self, entity: str, **equals: Any) -> dict[str, int]:
        with self._lock:
            return self._view.child_counts(entity, **equals)

    def values(self, entity: str, column: str, ids: list[str]) -> dict[str, Any]:
        with self._lock:
            return self._view.values(entity, column, ids)

    def distinct(self, entity: str, column: str, **equals: Any) -> set[Any]:
        with self._lock:
            return self._view.distinct(entity, column, **equals)

    def hashes(self, entity: str) -> dict[str, str]:
        with self._lock:
            return self._view.hashes(entity)


def merge(batches: list[Batch]) -> Batch:
    """One batch equivalent to applying ``batches`` in order."""
    # One batch's scopes merge too: a page may close a table twice over the same tickets.
    if len(batches) == 1:
        return replace(batches[0], complete=merge_scopes(batches[0].complete))
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    deleted: dict[str, dict[str, None]] = {}
    out = Batch()
    for batch in batches:
        for entity, ids in batch.deleted.items():
            for source_id in map(str, ids):
                rows.get(entity, {}).pop(source_id, None)
                deleted.setdefault(entity, {})[source_id] = None
        for entity, entity_rows in batch.rows.items():
            bucket = rows.setdefault(entity, {})
            for row in entity_rows:
                source_id = str(row["source_id"])
                deleted.get(entity, {}).pop(source_id, None)
                bucket[source_id] = row
        out.complete.extend(batch.complete)
        out.state.update(batch.state)
        out.fields = batch.fields if batch.fields is not None else out.fields
    out.rows = {entity: list(bucket.values()) for entity, bucket in rows.items()}
    out.deleted = {entity: list(ids) for entity, ids in deleted.items()}
    out.complete = merge_scopes(out.complete)
    return out


def merge_scopes(scopes: list[Scope]) -> list[Scope]:
    """Scopes over tickets that differ only in their tickets, as one scope over all of them.

    Closing a scope is a query over its table, so a commit of many small batches (an open-backlog
    listing, page after page) ran one per page and per child table. Each closes independently of
    the others (rows in it that the commit did not carry), so one over the union closes the same.
    A whole-connection scope of the same table stays between the ones before and after it: a row
    both cover keeps the ``listed_from`` of whichever closed last, as it did apart.
    """
    Key = tuple[str, tuple[tuple[str, str], ...], datetime | None]
    out: list[Scope | tuple[Key, dict[str, None]]] = []
    groups: dict[Key, dict[str, None]] = {}  # open groups: their ticket ids, as first seen
    for scope in scopes:
        if scope.ticket_ids is None:
            out.append(scope)
            for key in [k for k in groups if k[0] == scope.entity]:
                del groups[key]  # later ticket scopes of this table close after it
            continue
        key = (scope.entity, tuple(sorted(scope.match.items())), scope.since)
        if key not in groups:
            groups[key] = {}
            out.append((key, groups[key]))
        groups[key].update(dict.fromkeys(scope.ticket_ids))
    return [
        item
        if isinstance(item, Scope)
        else Scope(item[0][0], tuple(item[1]), dict(item[0][1]), item[0][2])
        for item in out
    ]
