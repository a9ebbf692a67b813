"""The DuckDB warehouse: bulk upserts, history, deletes, cursor state and run records.

Every :class:`~deskbridge.contract.Batch` is applied in one transaction: its rows (bulk, via
Arrow), the ``ticket_history`` rows for tickets whose content changed, the deletions it proves,
and the cursor state that covers it. Nothing is ever dropped; gone records get ``deleted_at``.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from . import models
from .contract import Batch, Scope, StreamSpec, WarehouseView, content_hash
from .duckerrors import check_file, locked, record_too_large, size_bytes, translate
from .errors import StateVersionError, WarehouseError
from .redact import redact_mapping, scrub
from .schema import arrow_schema, migrate

CHILD_ENTITIES = ("notes", "time_entries", "attachments")
HISTORY_COLUMNS = ("subject", "status", "status_category", "priority", "assignee_id", "updated_at")


# DuckDB caches table blocks up to its memory limit (by default 80% of RAM), so a writer's
# memory would grow with the warehouse; bounded, it stays flat and spills to disk instead.
MEMORY_LIMIT = "128MB"
UPSERT_SLICE = 2_000  # rows per write: DuckDB holds one in memory whatever the limit
# Uncommitted rows stay in memory until COMMIT and cannot spill: a transaction writes at most this
# share of memory_limit (estimated), or it commits what it has and goes on (see apply_batch).
WRITE_SHARE = 4


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
            with contextlib.suppress(duckdb.Error):  # a failed COMMIT has ended the transaction already
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
                counts[f"{scope.entity}.deleted"] += self._close_scope(connection, scope, now, run_started)
            for entity, ids in batch.deleted.items():
                counts[f"{entity}.deleted"] += self._delete(connection, entity, ids, now)
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
                raise record_too_large(entity, record["source_id"], n, self.write_budget, self.memory_limit)
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
            with contextlib.suppress(duckdb.Error):  # an aborted transaction must not hide its cause
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

    def _close_scope(self, connection: str, scope: Scope, now: datetime, run_started: datetime) -> int:
        sql = f"FROM {scope.entity} WHERE connection = ? AND deleted_at IS NULL "
        params: list[Any] = [connection]
        if scope.ticket_ids is None:
            sql += "AND last_synced_at < ? "
            params.append(scope.since or run_started)
        else:
            column = "source_id" if scope.entity == "tickets" else "ticket_id"
            sql += f"AND last_synced_at < ? AND {column} IN (SELECT unnest(?::VARCHAR[])) "
            params += [now, list(scope.ticket_ids)]
        for column, value in scope.match.items():
            sql += f"AND {column} = ? "
            params.append(value)
        gone = [r[0] for r in self.con.execute(f"SELECT source_id {sql}", params).fetchall()]
        return self._delete(connection, scope.entity, gone, now)  # tickets take their children along

    def _delete(self, connection: str, entity: str, ids: list[str], now: datetime) -> int:
        if not ids:
            return 0
        params = [now, connection, [str(i) for i in ids]]
        n = _rowcount(
            self.con.execute(
                f"UPDATE {entity} SET deleted_at = ? WHERE connection = ? AND deleted_at IS NULL "
                "AND source_id IN (SELECT unnest(?::VARCHAR[])) RETURNING 1",
                params,
            ).fetchall()
        )
        if entity == "tickets":  # a ticket's children go with it
            for child in CHILD_ENTITIES:
                self.con.execute(
                    f"UPDATE {child} SET deleted_at = ? WHERE connection = ? AND deleted_at IS NULL "
                    "AND ticket_id IN (SELECT unnest(?::VARCHAR[]))",
                    params,
                )
        return n

    def view(self, connection: str) -> ConnectionView:
        return ConnectionView(self.con, connection)


class ConnectionView(WarehouseView):
    """What a connector may ask about one connection's stored rows."""

    def __init__(self, con: duckdb.DuckDBPyConnection, connection: str) -> None:
        self.con, self.connection = con, connection

    def ids(self, entity: str, *, deleted: bool = False, **equals: Any) -> list[str]:
        where, params = self._where(deleted, equals)
        return [r[0] for r in self.con.execute(f"SELECT source_id FROM {entity} WHERE {where}", params).fetchall()]

    def child_counts(self, entity: str, **equals: Any) -> dict[str, int]:
        where, params = self._where(False, equals)
        sql = f"SELECT ticket_id, count(*) FROM {entity} WHERE {where} GROUP BY ticket_id"
        return dict(self.con.execute(sql, params).fetchall())

    def values(self, entity: str, column: str, ids: list[str]) -> dict[str, Any]:
        if column not in models.ENTITY_MODELS[entity].model_fields:
            raise ValueError(f"{entity} has no column {column!r}")
        where, params = self._where(False, {"source_id": ids})
        return dict(self.con.execute(f"SELECT source_id, {column} FROM {entity} WHERE {where}", params).fetchall())

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
