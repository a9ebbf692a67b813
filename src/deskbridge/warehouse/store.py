"""The DuckDB warehouse: bulk upserts, history, deletes, cursor state and run records.

Every :class:`~deskbridge.sdk.contract.Batch` is applied in one transaction: its rows (bulk, via
Arrow), the ``ticket_history`` rows for tickets whose content changed, the deletions it proves,
and the cursor state that covers it. Nothing is ever dropped; gone records get ``deleted_at``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import orjson
import pyarrow as pa
import structlog

from deskbridge.sdk import models
from deskbridge.sdk.contract import Batch, Scope, StreamSpec, WarehouseView, content_hash
from deskbridge.sdk.errors import StateVersionError, WarehouseError, WarehouseMemoryError
from deskbridge.sdk.redact import redact_mapping, scrub
from deskbridge.warehouse.deletions import VENDOR_PROOFS, Candidate, Decision
from deskbridge.warehouse.duckerrors import (
    check_file,
    locked,
    record_too_large,
    size_bytes,
    translate,
)
from deskbridge.warehouse.schema import arrow_schema, migrate

log = structlog.get_logger("deskbridge.warehouse")
CHILD_ENTITIES = ("notes", "time_entries", "attachments")
HISTORY_COLUMNS = ("subject", "status", "status_category", "priority", "assignee_id", "updated_at")


# DuckDB caches table blocks up to its memory limit (by default 80% of RAM), so a writer's
# memory would grow with the warehouse; bounded, it stays flat and spills to disk instead.
MEMORY_LIMIT = "128MB"
UPSERT_SLICE = 2_000  # rows per write: DuckDB holds one in memory whatever the limit
# Uncommitted rows stay in memory until COMMIT and cannot spill: a transaction writes at most this
# share of memory_limit (estimated), or it commits what it has and goes on (see apply_batch).
WRITE_SHARE = 4
MEMORY_HEADROOM = 8  # a batch may raise the limit to this many times memory_limit before failing


def utcnow() -> datetime:
    return datetime.now(UTC)


class Warehouse:
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
        self.con = self._connect(read_only, lock_wait_s)
        try:
            self.con.execute("SET TimeZone = 'UTC'")
            self.con.execute("SET memory_limit = ?", [memory_limit])
            if not read_only:
                _refuse_foreign(self.con, self.path)
                migrate(self.con)
        except BaseException as exc:
            self.con.close()
            raise translate(exc, self.path, memory_limit) from exc
        self._schemas = {e: arrow_schema(m) for e, m in models.ENTITY_MODELS.items()}
        self._fields = {e: models.canonical_fields(e) for e in models.ENTITY_MODELS}
        self._written = 0  # bytes upserted by the open transaction

    def _connect(self, read_only: bool, lock_wait_s: float) -> duckdb.DuckDBPyConnection:
        check_file(self.path)
        deadline = time.monotonic() + lock_wait_s
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except (duckdb.Error, OSError) as exc:
                if not locked(exc) or time.monotonic() >= deadline:
                    raise translate(exc, self.path, self.memory_limit) from exc
            time.sleep(0.25)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN ... COMMIT; on any failure ROLLBACK, and raise the failure, told clearly."""
        self.con.execute("BEGIN TRANSACTION")
        self._written = 0
        try:
            yield
            self.con.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(
                duckdb.Error
            ):  # a failed COMMIT has ended the transaction already
                self.con.execute("ROLLBACK")
            if isinstance(exc, duckdb.Error | OSError):
                raise translate(exc, self.path, self.memory_limit) from exc
            raise

    def _commit_if_full(self, size: int) -> None:
        """Commit the rows written so far when the next ``size`` bytes would overflow the budget."""
        if self._written and self._written + size > self.write_budget:
            self.con.execute("COMMIT")
            self.con.execute("BEGIN TRANSACTION")
            self._written = 0
        self._written += size

    def close(self) -> None:
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
            "reconcile_requests) VALUES (?, ?, 'running', ?, '{}', 0, 0) RETURNING run_id",
            [connection, now, full_refresh],
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

    # -- batches ----------------------------------------------------------------------
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
                    return self._apply_batch(connection, run_id, run_started, batch, versions)
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

    def _set_memory(self, limit: str) -> None:
        try:
            self.con.execute("SET memory_limit = ?", [limit])
        except duckdb.Error:  # a failed checkpoint invalidates the connection: open it again
            with contextlib.suppress(duckdb.Error):
                self.con.close()
            self.con = self._connect(False, 5.0)
            self.con.execute("SET TimeZone = 'UTC'")
            self.con.execute("SET memory_limit = ?", [limit])

    def _apply_batch(
        self,
        connection: str,
        run_id: int,
        run_started: datetime,
        batch: Batch,
        versions: Mapping[str, int],
    ) -> Counter[str]:
        """Commit one batch; returns counts like ``tickets.read``, ``notes.deleted``.

        Its deletions and cursor state commit together with its last rows. Rows beyond the write
        budget (a share of ``memory_limit``) commit ahead of them: a crash in between leaves rows
        the next run reads again from the old cursor, never a cursor ahead of its rows.
        """
        counts: Counter[str] = Counter()
        now = utcnow()
        with self.transaction():
            for entity, rows in batch.rows.items():
                if rows:
                    counts.update(self._upsert(connection, run_id, entity, rows, now))
            for scope in batch.complete:
                counts[f"{scope.entity}.suspected"] += self._close_scope(
                    connection, run_id, scope, now, run_started
                )
            for entity, ids in batch.deleted.items():
                proof = "unreferenced" if entity == "people" else "not_found"
                counts[f"{entity}.deleted"] += self._delete(connection, entity, ids, now, proof)
            for stream, state in batch.state.items():
                self.con.execute(
                    "INSERT OR REPLACE INTO sync_state VALUES (?, ?, ?, ?, ?)",
                    [connection, stream, json.dumps(state), versions.get(stream, 1), now],
                )
        return counts

    def _upsert(
        self, connection: str, run_id: int, entity: str, rows: list[dict[str, Any]], now: datetime
    ) -> Counter[str]:
        fields = self._fields[entity]
        latest: dict[str, dict[str, Any]] = {}
        for row in rows:
            record = {f: row.get(f) for f in fields}
            record["source_id"] = str(row["source_id"])
            record["connection"] = connection
            record["raw"] = orjson.dumps(redact_mapping(row.get("raw")), default=str).decode()
            record["content_hash"] = content_hash(row, fields)
            record["first_seen_at"] = record["last_synced_at"] = now
            record["run_id"] = run_id
            latest[record["source_id"]] = record  # the last version in a batch wins
        changed = 0
        for part in self._slices(entity, list(latest.values())):
            changed += self._write_slice(entity, connection, part)
        return Counter({f"{entity}.read": len(latest), f"{entity}.changed": changed})

    def _slices(self, entity: str, records: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
        """Slices of at most UPSERT_SLICE rows and the write budget in bytes, each ready to write."""
        part: list[dict[str, Any]] = []
        size = 0
        for record in records:
            n = _estimate(record)
            if n > self.write_budget:
                raise record_too_large(
                    entity, record["source_id"], n, self.write_budget, self.memory_limit
                )
            if part and (len(part) >= UPSERT_SLICE or size + n > self.write_budget):
                self._commit_if_full(size)
                yield part
                part, size = [], 0
            part.append(record)
            size += n
        if part:
            self._commit_if_full(size)
            yield part

    def _write_slice(self, entity: str, connection: str, part: list[dict[str, Any]]) -> int:
        """Replace the slice's rows; returns how many changed.

        DELETE + INSERT, not INSERT ... ON CONFLICT: DuckDB's conflict update of wide rows holds
        several times their size in memory (4 rows of 6 MB failed at 128MB; replaced, 72 MB fit).
        """
        old = self._kept(entity, connection, [r["source_id"] for r in part])
        changed: list[str] = []
        for record in part:
            first_seen, old_run, old_hash = old.get(record["source_id"], (None, None, None))
            record["first_seen_at"] = first_seen or record["first_seen_at"]
            if old_hash != record["content_hash"]:
                changed.append(record["source_id"])
            else:
                record["run_id"] = old_run
        table = pa.Table.from_pylist(part, schema=self._schemas[entity])
        self.con.register("batch_in", table)
        try:
            if entity == "tickets" and changed:
                self._write_history(changed)
            self.con.execute(
                f"DELETE FROM {entity} WHERE connection = ? AND source_id IN (SELECT source_id FROM batch_in)",
                [connection],
            )
            cols = ", ".join(table.column_names)
            self.con.execute(f"INSERT INTO {entity} ({cols}) SELECT {cols} FROM batch_in")
        finally:
            with contextlib.suppress(
                duckdb.Error
            ):  # an aborted transaction must not hide its cause
                self.con.unregister("batch_in")
        return len(changed)

    def _kept(self, entity: str, connection: str, ids: list[str]) -> dict[str, tuple[Any, ...]]:
        """What an upsert keeps of stored rows: first_seen_at, and run_id and hash if not deleted."""
        rows = self.con.execute(
            f"SELECT source_id, first_seen_at, run_id, CASE WHEN deleted_at IS NULL THEN content_hash END "
            f"FROM {entity} WHERE connection = ? AND source_id IN (SELECT unnest(?::VARCHAR[]))",
            [connection, ids],
        ).fetchall()
        return {r[0]: r[1:] for r in rows}

    def _write_history(self, changed: list[str]) -> None:
        cols = ", ".join(HISTORY_COLUMNS)
        self.con.execute(
            f"INSERT OR IGNORE INTO ticket_history (connection, source_id, content_hash, seen_at, run_id, "
            f"{cols}) SELECT connection, source_id, content_hash, last_synced_at, run_id, {cols} "
            "FROM batch_in WHERE source_id IN (SELECT unnest(?::VARCHAR[]))",
            [changed],
        )

    def _close_scope(
        self, connection: str, run_id: int, scope: Scope, now: datetime, run_started: datetime
    ) -> int:
        """Stored rows the scope covers but the batch lacked become deletion candidates."""
        parent = "NULL" if scope.entity in ("tickets", "people") else "ticket_id"
        sql = f"FROM {scope.entity} WHERE connection = ? AND deleted_at IS NULL "
        params: list[Any] = [connection]
        listed_from = now
        if scope.ticket_ids is None:
            listed_from = scope.since or run_started
            sql += "AND last_synced_at < ? "
            params.append(listed_from)
        else:
            column = "source_id" if scope.entity == "tickets" else "ticket_id"
            sql += f"AND last_synced_at < ? AND {column} IN (SELECT unnest(?::VARCHAR[])) "
            params += [now, list(scope.ticket_ids)]
        for column, value in scope.match.items():
            sql += f"AND {column} = ? "
            params.append(value)
        missing = self.con.execute(f"SELECT source_id, {parent} {sql}", params).fetchall()
        if missing:
            self._suspect(connection, run_id, scope.entity, missing, listed_from, now)
        return len(missing)

    def _suspect(
        self,
        connection: str,
        run_id: int,
        entity: str,
        missing: list[tuple[str, str | None]],
        listed_from: datetime,
        now: datetime,
    ) -> None:
        table = pa.table(
            {
                "source_id": [m[0] for m in missing],
                "ticket_id": pa.array([m[1] for m in missing], pa.string()),
            }
        )
        self.con.register("missing_in", table)
        try:
            self.con.execute(
                "INSERT INTO suspected_deletions (connection, entity, source_id, ticket_id, state, "
                "listed_from, detected_at, run_id) SELECT ?, ?, source_id, ticket_id, 'candidate', ?, ?, ? "
                "FROM missing_in ON CONFLICT (connection, entity, source_id) DO UPDATE SET "
                "listed_from = excluded.listed_from, detected_at = excluded.detected_at, "
                "run_id = excluded.run_id, state = CASE WHEN suspected_deletions.state = 'held' "
                "THEN 'held' ELSE 'candidate' END",
                [connection, entity, listed_from, now, run_id],
            )
        finally:
            with contextlib.suppress(duckdb.Error):
                self.con.unregister("missing_in")

    def _delete(
        self, connection: str, entity: str, ids: list[str], now: datetime, proof: str
    ) -> int:
        if not ids:
            return 0
        ids = [str(i) for i in ids]
        n = _rowcount(
            self.con.execute(
                f"UPDATE {entity} SET deleted_at = ?, deleted_proof = ? WHERE connection = ? "
                "AND deleted_at IS NULL AND source_id IN (SELECT unnest(?::VARCHAR[])) RETURNING 1",
                [now, proof, connection, ids],
            ).fetchall()
        )
        self.con.execute(
            "DELETE FROM suspected_deletions WHERE connection = ? AND entity = ? "
            "AND source_id IN (SELECT unnest(?::VARCHAR[]))",
            [connection, entity, ids],
        )
        if entity == "tickets":  # a ticket's children go with it, proven as well as it is
            child_proof = "parent" if proof in VENDOR_PROOFS else proof
            for child in CHILD_ENTITIES:
                self.con.execute(
                    f"UPDATE {child} SET deleted_at = ?, deleted_proof = ? WHERE connection = ? "
                    "AND deleted_at IS NULL AND ticket_id IN (SELECT unnest(?::VARCHAR[]))",
                    [now, child_proof, connection, ids],
                )
            self.con.execute(
                "DELETE FROM suspected_deletions WHERE connection = ? AND entity <> 'tickets' "
                "AND ticket_id IN (SELECT unnest(?::VARCHAR[]))",
                [connection, ids],
            )
        return n

    # -- deletion candidates (see deskbridge.pull.deletions) ----------------------------------
    def deletion_candidates(self, connection: str) -> list[Candidate]:
        """Candidates still to check, once those seen again (or gone already) are dropped."""
        for entity in models.SYNCED_ENTITIES:
            self.con.execute(
                f"DELETE FROM suspected_deletions s WHERE s.connection = ? AND s.entity = ? AND NOT EXISTS "
                f"(SELECT 1 FROM {entity} t WHERE t.connection = s.connection AND t.source_id = s.source_id "
                "AND t.deleted_at IS NULL AND t.last_synced_at < s.detected_at)",
                [connection, entity],
            )
        rows = self.con.execute(
            "SELECT entity, source_id, ticket_id, listed_from, detected_at FROM suspected_deletions "
            "WHERE connection = ? AND state = 'candidate' ORDER BY entity <> 'tickets', entity, source_id",
            [connection],
        ).fetchall()
        return [Candidate(*row) for row in rows]

    def live_count(self, connection: str, entity: str) -> int:
        sql = f"SELECT count(*) FROM {entity} WHERE connection = ? AND deleted_at IS NULL"
        return int(self.con.execute(sql, [connection]).fetchone()[0])  # type: ignore[index]

    def store_rows(self, connection: str, run_id: int, batch: Batch) -> None:
        """Store the rows of a re-read (no scopes, no deletions): a record found still there."""
        now = utcnow()
        with self.transaction():
            for entity, rows in batch.rows.items():
                if rows:
                    self._upsert(connection, run_id, entity, rows, now)

    def settle_deletions(self, connection: str, entity: str, decision: Decision) -> Counter[str]:
        now = utcnow()
        counts: Counter[str] = Counter()
        with self.transaction():
            counts[f"{entity}.deleted"] += self._delete(
                connection, entity, decision.not_found, now, "not_found"
            )
            counts[f"{entity}.deleted"] += self._delete(
                connection, entity, decision.listing, now, "listing"
            )
            self._drop_suspects(connection, entity, decision.present)
            if decision.held:  # one statement for all of them: a guard may hold thousands
                self.con.execute(
                    "UPDATE suspected_deletions s SET state = 'held', reason = h.reason FROM "
                    "(SELECT unnest(?::VARCHAR[]) AS source_id, unnest(?::VARCHAR[]) AS reason) h "
                    "WHERE s.connection = ? AND s.entity = ? AND s.source_id = h.source_id",
                    [list(decision.held), list(decision.held.values()), connection, entity],
                )
        counts["deletions.held"] += len(decision.held)
        return counts

    def held_deletions(self, connection: str | None = None) -> list[tuple[Any, ...]]:
        """``(connection, entity, source_id, ticket_id, reason, detected_at)`` of held rows."""
        sql = (
            "SELECT connection, entity, source_id, ticket_id, reason, detected_at FROM suspected_deletions "
            "WHERE state = 'held'"
        )
        params: list[Any] = []
        if connection is not None:
            sql += " AND connection = ?"
            params.append(connection)
        return self.con.execute(sql + " ORDER BY 1, 2, 3", params).fetchall()

    def resolve_held(
        self, connection: str, *, confirm: bool, entity: str | None = None
    ) -> Counter[str]:
        """Apply (``confirm``, proof ``operator``) or drop the held deletions of a connection."""
        counts: Counter[str] = Counter()
        now = utcnow()
        held: dict[str, list[str]] = {}
        for _, ent, source_id, *_ in self.held_deletions(connection):
            if entity is None or ent == entity:
                held.setdefault(ent, []).append(source_id)
        with self.transaction():
            for ent in sorted(
                held, key=lambda e: e != "tickets"
            ):  # tickets first: children go with them
                ids = held[ent]
                if confirm:
                    counts[ent] += self._delete(connection, ent, ids, now, "operator")
                else:
                    self._drop_suspects(connection, ent, ids)
                    counts[ent] += len(ids)
        return counts

    def _drop_suspects(self, connection: str, entity: str, ids: list[str]) -> None:
        if ids:
            self.con.execute(
                "DELETE FROM suspected_deletions WHERE connection = ? AND entity = ? "
                "AND source_id IN (SELECT unnest(?::VARCHAR[]))",
                [connection, entity, [str(i) for i in ids]],
            )

    def view(self, connection: str) -> ConnectionView:
        return ConnectionView(self, connection)


class ConnectionView(WarehouseView):
    """What a connector may ask about one connection's stored rows."""

    def __init__(self, warehouse: Warehouse, connection: str) -> None:
        self.warehouse, self.connection = warehouse, connection

    @property
    def con(self) -> duckdb.DuckDBPyConnection:  # the warehouse's current one (it may reopen it)
        return self.warehouse.con

    def ids(self, entity: str, *, deleted: bool = False, **equals: Any) -> list[str]:
        where, params = self._where(deleted, equals)
        return [
            r[0]
            for r in self.con.execute(
                f"SELECT source_id FROM {entity} WHERE {where}", params
            ).fetchall()
        ]

    def child_counts(self, entity: str, **equals: Any) -> dict[str, int]:
        where, params = self._where(False, equals)
        sql = f"SELECT ticket_id, count(*) FROM {entity} WHERE {where} GROUP BY ticket_id"
        return dict(self.con.execute(sql, params).fetchall())

    def values(self, entity: str, column: str, ids: list[str]) -> dict[str, Any]:
        if column not in models.ENTITY_MODELS[entity].model_fields:
            raise ValueError(f"{entity} has no column {column!r}")
        where, params = self._where(False, {"source_id": ids})
        return dict(
            self.con.execute(
                f"SELECT source_id, {column} FROM {entity} WHERE {where}", params
            ).fetchall()
        )

    def distinct(self, entity: str, column: str, **equals: Any) -> set[Any]:
        if column not in models.ENTITY_MODELS[entity].model_fields:
            raise ValueError(f"{entity} has no column {column!r}")
        where, params = self._where(False, equals)
        sql = f"SELECT DISTINCT {column} FROM {entity} WHERE {where} AND {column} IS NOT NULL"
        return {r[0] for r in self.con.execute(sql, params).fetchall()}

    def _where(self, deleted: bool, equals: dict[str, Any]) -> tuple[str, list[Any]]:
        sql = f"connection = ? AND deleted_at IS {'NOT ' if deleted else ''}NULL"
        params: list[Any] = [self.connection]
        for column, value in equals.items():
            if isinstance(value, list | tuple | set):
                sql += f" AND {column} IN (SELECT unnest(?::VARCHAR[]))"
                params.append([str(v) for v in value])
            else:
                sql += f" AND {column} = ?"
                params.append(value)
        return sql, params

    def hashes(self, entity: str) -> dict[str, str]:
        rows = self.con.execute(
            f"SELECT source_id, content_hash FROM {entity} WHERE connection = ? AND deleted_at IS NULL",
            [self.connection],
        ).fetchall()
        return dict(rows)


def _refuse_foreign(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """A DuckDB database with tables but none of deskbridge's belongs to something else."""
    sql = "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
    tables = {r[0] for r in con.execute(sql).fetchall()}
    if tables and not tables & {"meta", "sync_runs", "tickets"}:
        raise WarehouseError(
            f"{path} is a DuckDB database of something else (tables {', '.join(sorted(tables)[:3])}...), not a "
            "deskbridge warehouse; set [warehouse] path (or --db) to a new file"
        )


def _estimate(record: dict[str, Any]) -> int:
    """Bytes a record takes in DuckDB, roughly: its text, and 16 per other value."""
    return sum(len(v) if isinstance(v, str | bytes) else 16 for v in record.values())


def _rowcount(rows: list[Any]) -> int:
    return len(rows)


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
