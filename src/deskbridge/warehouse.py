"""The DuckDB warehouse: bulk upserts, history, deletes, cursor state and run records.

Every :class:`~deskbridge.contract.Batch` is applied in one transaction: its rows (bulk, via
Arrow), the ``ticket_history`` rows for tickets whose content changed, the deletions it proves,
and the cursor state that covers it. Nothing is ever dropped; gone records get ``deleted_at``.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from . import models
from .contract import Batch, Scope, StreamSpec, WarehouseView, content_hash
from .errors import StateVersionError
from .redact import redact_mapping, scrub
from .schema import arrow_schema, migrate

CHILD_ENTITIES = ("notes", "time_entries", "attachments")
HISTORY_COLUMNS = ("subject", "status", "status_category", "priority", "assignee_id", "updated_at")


# DuckDB caches table blocks up to its memory limit (by default 80% of RAM), so a writer's
# memory would grow with the warehouse; bounded, it stays flat and spills to disk instead.
MEMORY_LIMIT = "128MB"
UPSERT_SLICE = 2_000  # rows per INSERT ... ON CONFLICT: DuckDB holds one in memory whatever the limit


def utcnow() -> datetime:
    return datetime.now(UTC)


class Warehouse:
    """One DuckDB file, opened for writing."""

    def __init__(self, path: Path | str, *, read_only: bool = False, memory_limit: str = MEMORY_LIMIT) -> None:
        self.path = Path(path)
        self.con = duckdb.connect(str(self.path), read_only=read_only)
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET memory_limit = ?", [memory_limit])
        if not read_only:
            migrate(self.con)
        self._schemas = {e: arrow_schema(m) for e, m in models.ENTITY_MODELS.items()}
        self._fields = {e: models.canonical_fields(e) for e in models.ENTITY_MODELS}

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
        """Commit one batch atomically; returns counts like ``tickets.read``, ``notes.deleted``."""
        counts: Counter[str] = Counter()
        now = utcnow()
        self.con.execute("BEGIN TRANSACTION")
        try:
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
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
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
        records, changed = list(latest.values()), 0
        for start in range(0, len(records), UPSERT_SLICE):  # an upsert cannot spill: keep each one small
            table = pa.Table.from_pylist(records[start : start + UPSERT_SLICE], schema=self._schemas[entity])
            self.con.register("batch_in", table)
            try:
                changed += self._count_changed(entity)
                if entity == "tickets":
                    self._write_history()
                self.con.execute(_upsert_sql(entity, table.column_names))
            finally:
                with contextlib.suppress(duckdb.Error):  # an aborted transaction must not hide its cause
                    self.con.unregister("batch_in")
        return Counter({f"{entity}.read": len(latest), f"{entity}.changed": changed})

    def _count_changed(self, entity: str) -> int:
        (n,) = self.con.execute(
            f"SELECT count(*) FROM batch_in b LEFT JOIN {entity} t USING (connection, source_id) "
            "WHERE t.content_hash IS DISTINCT FROM b.content_hash OR t.deleted_at IS NOT NULL"
        ).fetchone()  # type: ignore[misc]
        return int(n)

    def _write_history(self) -> None:
        cols = ", ".join(f"b.{c}" for c in HISTORY_COLUMNS)
        self.con.execute(
            f"INSERT OR IGNORE INTO ticket_history (connection, source_id, content_hash, seen_at, run_id, "
            f"{', '.join(HISTORY_COLUMNS)}) SELECT b.connection, b.source_id, b.content_hash, "
            f"b.last_synced_at, b.run_id, {cols} FROM batch_in b LEFT JOIN tickets t "
            "USING (connection, source_id) WHERE t.content_hash IS DISTINCT FROM b.content_hash "
            "OR t.deleted_at IS NOT NULL"
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


def _upsert_sql(entity: str, columns: list[str]) -> str:
    keep = {"connection", "source_id", "first_seen_at"}
    updates = [f"{c} = excluded.{c}" for c in columns if c not in keep and c not in ("run_id", "deleted_at")]
    updates.append("deleted_at = NULL")
    updates.append(
        f"run_id = CASE WHEN {entity}.content_hash = excluded.content_hash "
        f"AND {entity}.deleted_at IS NULL THEN {entity}.run_id ELSE excluded.run_id END"
    )
    cols = ", ".join(columns)
    return (
        f"INSERT INTO {entity} ({cols}) SELECT {cols} FROM batch_in "
        f"ON CONFLICT (connection, source_id) DO UPDATE SET {', '.join(updates)}"
    )


def _rowcount(rows: list[Any]) -> int:
    return len(rows)
