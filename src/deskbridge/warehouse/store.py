"""The DuckDB warehouse: open it, bound its memory, run transactions, record runs and cursors.

Applying a batch lives in :mod:`deskbridge.warehouse.batches` and the view a connector gets in
:mod:`deskbridge.warehouse.view`; :class:`Warehouse` is the one class callers use.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import structlog

from deskbridge.sdk import canonical
from deskbridge.sdk.contract import Batch, StreamSpec
from deskbridge.sdk.errors import StateVersionError, WarehouseError, WarehouseMemoryError
from deskbridge.sdk.redact import scrub
from deskbridge.warehouse.attached import close_writer, open_writer
from deskbridge.warehouse.batches import BatchWriter, utcnow
from deskbridge.warehouse.duckerrors import check_file, locked, size_bytes, translate
from deskbridge.warehouse.layout import current, migrate
from deskbridge.warehouse.transaction import transaction
from deskbridge.warehouse.view import ConnectionView

log = structlog.get_logger("deskbridge.warehouse")

# DuckDB caches table blocks up to its memory limit (by default 80% of RAM), so a writer's
# memory would grow with the warehouse; bounded, it stays flat and spills to disk instead.
MEMORY_LIMIT = "128MB"
# Uncommitted rows stay in memory until COMMIT and cannot spill: a transaction writes at most this
# share of memory_limit (estimated), or it commits what it has and goes on (see apply_batch).
WRITE_SHARE = 4
MEMORY_HEADROOM = 8  # a batch may raise the limit to this many times memory_limit before failing
# What DuckDB may keep cached between two batches. Within memory_limit it keeps every block a
# batch touched (the key columns each upsert scans, the rows appended since the last checkpoint),
# so a long sync's memory grew with the warehouse until it reached the limit; cut back after each
# commit, it stays flat. Evicted blocks are read again from the file (or its temp file) if needed.
CACHE_LIMIT = "32MB"


def worker_id() -> str:
    """The process a run record names, ``host:pid``: serve workers may share one lake."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Warehouse(BatchWriter):
    """One DuckDB file, opened for writing."""

    def __init__(
        self,
        path: Path | str,
        *,
        read_only: bool = False,
        memory_limit: str = MEMORY_LIMIT,
        lock_wait_s: float = 0.0,
    ) -> None:
        """Open (and create or migrate) the warehouse; a writer waits ``lock_wait_s`` for another one."""
        self.path, self.memory_limit = Path(path), memory_limit
        self.write_budget = size_bytes(memory_limit) // WRITE_SHARE
        self._attached = False  # opened by open_writer: close_writer closes it
        self.con = self._connect(read_only, lock_wait_s)
        try:
            self.con.execute("SET TimeZone = 'UTC'")
            self.con.execute("SET memory_limit = ?", [memory_limit])
            if not read_only:
                _refuse_foreign(self.con, self.path)
                self._migrate()
        except BaseException as exc:
            self._close_con()
            raise translate(exc, self.path, memory_limit) from exc
        self._fields = {e: canonical.canonical_fields(e) for e in canonical.SYNCED_ENTITIES}
        self._written = 0  # bytes upserted by the open transaction
        self._stored_share: dict[str, float] = {}  # of the last upsert slice's ids, by entity

    def _checkpoint_views(self) -> None:
        """Write a view the batch (re)created into the file: DuckDB 1.4 cannot replay one from the
        WAL after a crash, and the warehouse would not open again."""
        if self.views_changed:
            self.views_changed = False
            self._checkpoint()

    def _migrate(self) -> None:
        if current(self.con):
            # Nothing to write, so no checkpoint: DuckDB 1.4 spins in one that has nothing of its
            # own while another connection of the process holds the file (a second Warehouse).
            return
        migrate(self.con)
        # DuckDB 1.4 cannot replay a view's DDL from the WAL after a crash ("no default database
        # set"), so the views the migration (re)creates go into the file before any run starts.
        self._checkpoint()

    def _checkpoint(self) -> None:
        # Refused while another connection of this process is writing: a later checkpoint
        # (DuckDB's own as the WAL grows, or the next open) writes the views then.
        with contextlib.suppress(duckdb.TransactionException):
            self.con.execute("CHECKPOINT")

    def _connect(self, read_only: bool, lock_wait_s: float) -> duckdb.DuckDBPyConnection:
        check_file(self.path)
        deadline = time.monotonic() + lock_wait_s
        while True:
            try:
                if read_only:
                    return duckdb.connect(str(self.path), read_only=True)
                con = open_writer(self.path)
                self._attached = True
                return con
            except (duckdb.Error, OSError) as exc:
                if not locked(exc) or time.monotonic() >= deadline:
                    raise translate(exc, self.path, self.memory_limit, lock_wait_s) from exc
            time.sleep(0.25)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN ... COMMIT; on any failure ROLLBACK, and raise the failure, told clearly."""
        self._written = 0
        try:
            with transaction(self.con):
                yield
        except (duckdb.Error, OSError) as exc:
            raise translate(exc, self.path, self.memory_limit) from exc

    def close(self) -> None:
        self._close_con()

    def _close_con(self) -> None:
        if self._attached:
            self._attached = False
            close_writer(self.path, self.con)
        else:
            self.con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs -------------------------------------------------------------------------
    def start_run(self, connection: str, full_refresh: bool) -> tuple[int, datetime]:
        now = utcnow()
        self.con.execute(
            "UPDATE sync_runs SET status = 'interrupted' WHERE connection = ? AND status = 'running'",
            [connection],
        )
        (run_id,) = self.con.execute(
            "INSERT INTO sync_runs (connection, started_at, status, full_refresh, counts, requests, "
            "reconcile_requests, worker) VALUES (?, ?, 'running', ?, '{}', 0, 0, ?) RETURNING run_id",
            [connection, now, full_refresh, worker_id()],
        ).fetchone()  # type: ignore[misc]
        return int(run_id), now

    def finish_run(
        self,
        run_id: int,
        status: str,
        counts: Mapping[str, Any],
        requests: Mapping[str, int],
        error: str | None = None,
    ) -> None:
        self.con.execute(
            "UPDATE sync_runs SET ended_at = ?, status = ?, counts = ?, requests = ?, "
            "reconcile_requests = ?, error = ? WHERE run_id = ?",
            [
                utcnow(),
                status,
                json.dumps(counts),
                int(requests.get("incremental", 0)),
                int(requests.get("reconcile", 0)),
                scrub(error) if error else None,
                run_id,
            ],
        )

    # -- vendor paces (deskbridge.sdk.adaptive) --------------------------------------------
    def load_paces(self) -> dict[str, tuple[float, float]]:
        """Request limits vendor hosts were last found at (key -> (limit/s, when found))."""
        row = self.con.execute("SELECT value FROM meta WHERE key = 'paces'").fetchone()
        try:
            found = json.loads(row[0]) if row else {}
            return {str(k): (float(v[0]), float(v[1])) for k, v in found.items()}
        except (ValueError, TypeError, IndexError, AttributeError):
            return {}  # a hand-edited value: the pace is learned again

    def save_paces(self, paces: Mapping[str, tuple[float, float]]) -> None:
        """Keep ``paces`` for the next process (a CLI run starts where the last one was cut)."""
        with self.transaction():
            self.con.execute("DELETE FROM meta WHERE key = 'paces'")
            self.con.execute("INSERT INTO meta VALUES ('paces', ?)", [json.dumps(paces)])

    # -- cursor state -----------------------------------------------------------------
    def load_states(self, connection: str, streams: Iterable[StreamSpec]) -> dict[str, Any]:
        rows = self.con.execute(
            "SELECT stream, state, state_version FROM sync_state WHERE connection = ?", [connection]
        ).fetchall()
        specs = {s.name: s for s in streams}
        states: dict[str, Any] = {}
        for stream, state, version in rows:
            spec = specs.get(stream)
            if spec is None:
                continue
            if version != spec.state_version:
                raise StateVersionError(
                    f"cursor state of {connection}/{stream} has version {version}, this "
                    f"connector expects {spec.state_version}; run with --full-refresh"
                )
            states[stream] = json.loads(state) if isinstance(state, str) else state
        return states

    # -- batches (the writing itself: deskbridge.warehouse.batches) ---------------------
    def apply_batch(
        self,
        connection: str,
        run_id: int,
        run_started: datetime,
        batch: Batch,
        versions: Mapping[str, int],
    ) -> Counter[str]:
        """Commit one batch; returns counts like ``tickets.read``, ``notes.deleted``.

        A batch that runs out of ``memory_limit`` (wide records: DuckDB cannot spill a checkpoint
        of large strings) is tried again with the limit doubled, up to :data:`MEMORY_HEADROOM`
        times the configured one, with a warning naming the setting; then the limit goes back.
        Without that, every rerun would fail on the same page.
        """
        limit = size_bytes(self.memory_limit)
        try:
            while True:
                try:
                    counts = self._apply_batch(connection, run_id, run_started, batch, versions)
                    self._checkpoint_views()
                    self._trim_cache()
                    return counts
                except WarehouseMemoryError:
                    if limit * 2 > size_bytes(self.memory_limit) * MEMORY_HEADROOM:
                        raise
                    limit *= 2
                    log.warning(
                        "warehouse.memory_raised",
                        memory_limit=self.memory_limit,
                        this_batch=f"{limit // 10**6}MB",
                        fix="raise [warehouse] memory_limit",
                    )
                    self._set_memory(f"{limit // 10**6}MB")
        finally:
            if limit != size_bytes(self.memory_limit):
                self._set_memory(self.memory_limit)

    def _trim_cache(self) -> None:
        """Evict DuckDB's cached blocks down to :data:`CACHE_LIMIT`: lowering the limit evicts."""
        if size_bytes(self.memory_limit) <= size_bytes(CACHE_LIMIT):
            return
        # Refused when the blocks in use cannot fit (nothing to evict then): the limit stays.
        with contextlib.suppress(duckdb.Error):
            self.con.execute("SET memory_limit = ?", [CACHE_LIMIT])
        self.con.execute("SET memory_limit = ?", [self.memory_limit])

    def _set_memory(self, limit: str) -> None:
        try:
            self.con.execute("SET memory_limit = ?", [limit])
        except duckdb.Error:  # a failed checkpoint invalidates the connection: open it again
            with contextlib.suppress(duckdb.Error):
                self._close_con()
            self.con = self._connect(False, 5.0)
            self.con.execute("SET TimeZone = 'UTC'")
            self.con.execute("SET memory_limit = ?", [limit])

    def view(self, connection: str) -> ConnectionView:
        return ConnectionView(self, connection)


def _refuse_foreign(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """A DuckDB database with tables but none of deskbridge's belongs to something else."""
    sql = "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
    tables = {r[0] for r in con.execute(sql).fetchall()}
    if tables and not tables & {"meta", "sync_runs", "tickets"}:
        raise WarehouseError(
            f"{path} is a DuckDB database of something else (tables {', '.join(sorted(tables)[:3])}...), not a "
            "deskbridge warehouse; set [warehouse] path (or --db) to a new file"
        )


T = TypeVar("T")


async def in_thread(func: Callable[..., T], *args: Any) -> T:
    """Run ``func`` in a worker thread; if cancelled meanwhile, wait for it to end, then re-raise.

    A DuckDB connection must never be used by two threads at once, so a cancelled caller must
    not go on (to record the run, or close the connection) while a commit is still running.
    """
    work = asyncio.ensure_future(asyncio.to_thread(func, *args))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        await asyncio.wait([work])
        if not work.cancelled():
            work.exception()  # marks it retrieved: the cancellation is what the caller reports
        raise
