"""Applying a batch: Arrow bulk upserts, ticket history, closed scopes, deletions and candidates.

Every :class:`~deskbridge.sdk.contract.Batch` is applied in one transaction: its rows (bulk, via
Arrow), the ``ticket_history`` rows for tickets whose content changed, the deletions it proves,
and the cursor state that covers it. Nothing is ever dropped; gone records get ``deleted_at``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import duckdb
import orjson

from deskbridge.sdk import canonical
from deskbridge.sdk.contract import Batch, Scope, content_hash
from deskbridge.sdk.redact import redact_mapping
from deskbridge.warehouse.deletions import VENDOR_PROOFS, Candidate, Decision
from deskbridge.warehouse.digest import RAW_DIGEST_SQL, raw_digest
from deskbridge.warehouse.duckerrors import record_too_large
from deskbridge.warehouse.fields import FieldWriter
from deskbridge.warehouse.idlist import IDS, id_list
from deskbridge.warehouse.layout import arrow_schema
from deskbridge.warehouse.staging import staged, streamed

CHILD_ENTITIES = ("notes", "time_entries", "attachments")
HISTORY_COLUMNS = ("subject", "status", "status_category", "priority", "assignee_id", "updated_at")
UPSERT_SLICE = 2_000  # rows per write: DuckDB holds one in memory whatever the limit


def utcnow() -> datetime:
    return datetime.now(UTC)


class BatchWriter(FieldWriter):
    """The batch-writing half of :class:`~deskbridge.warehouse.store.Warehouse`, which owns the
    connection, the memory limit and the transaction these methods write in."""

    con: duckdb.DuckDBPyConnection
    memory_limit: str
    write_budget: int  # bytes one transaction may hold uncommitted
    _written: int  # bytes upserted by the open transaction
    _stored_share: dict[str, float]  # share of the last slice's ids already stored, by entity
    _fields: dict[str, tuple[str, ...]]

    if TYPE_CHECKING:

        def transaction(self) -> AbstractContextManager[None]: ...

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
            if batch.fields is not None:  # first: values written next take its labels
                counts["fields.changed"] += self._write_catalog(connection, batch.fields, now)
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
        given: dict[str, Mapping[str, Any]] = {}
        # a ticket read without looking at its fields hashes with the stored ones
        stored = self._stored_field_values(connection, rows) if entity == "tickets" else {}
        # The last version of a record in a batch wins, in the place of its first: only that
        # version is encoded and hashed (a page of Omnidesk tickets repeats its staff and
        # requesters in every ticket).
        last = {str(row["source_id"]): row for row in rows}
        for source_id, row in last.items():
            record: dict[str, Any] = {f: row.get(f) for f in fields}
            record["source_id"] = source_id
            record["connection"] = connection
            record["raw"] = orjson.dumps(redact_mapping(row.get("raw")), default=str).decode()
            kept = stored.get(record["source_id"])
            hashed = {**row, canonical.FIELDS_KEY: kept} if kept else row
            record["content_hash"] = content_hash(hashed, fields)
            record["first_seen_at"] = record["last_synced_at"] = now
            record["run_id"] = run_id
            latest[source_id] = record
            given[source_id] = row
        changed = 0
        for part in self._slices(entity, list(latest.values())):
            moved = self._write_slice(entity, connection, part)
            changed += len(moved)
            if entity == "tickets":  # before the next slice may commit: a ticket with its fields
                carried = [given[source_id] for source_id in moved]  # the hash covers values
                self._write_ticket_fields(connection, run_id, carried, now)
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

    def _write_slice(self, entity: str, connection: str, part: list[dict[str, Any]]) -> list[str]:
        """Replace the slice's rows; returns the source ids of those that changed.

        DELETE + INSERT, not INSERT ... ON CONFLICT: DuckDB's conflict update of wide rows holds
        several times their size in memory (4 rows of 6 MB failed at 128MB; replaced, 72 MB fit).
        A row read again exactly as stored (same hash, same payload) only has its
        ``last_synced_at`` moved: a reconcile re-reading the open backlog rewrites nothing.
        """
        old = self._kept(entity, connection, [r["source_id"] for r in part])
        changed: list[str] = []
        seen: list[str] = []
        for record in part:
            first_seen, old_run, old_hash, old_raw = old.get(record["source_id"], (None,) * 4)
            record["first_seen_at"] = first_seen or record["first_seen_at"]
            if old_hash != record["content_hash"]:
                changed.append(record["source_id"])
            elif old_raw == raw_digest(record["raw"]):
                seen.append(record["source_id"])
            else:
                record["run_id"] = old_run
        if seen:
            self._touch(entity, connection, seen, part[0]["last_synced_at"])
            unseen = set(seen)
            part = [r for r in part if r["source_id"] not in unseen]
            old = {k: v for k, v in old.items() if k not in unseen}
            if not part:
                return changed
        import pyarrow as pa  # at the first write, see layout.arrow_schema

        table = pa.Table.from_pylist(part, schema=arrow_schema(entity))
        try:
            with streamed(self.con, "batch_in", table) as rows:
                if entity == "tickets" and changed:
                    self._write_history(rows(), changed)
                if old:  # only rows stored before: a first sync deletes nothing, so scans nothing
                    self.con.execute(
                        f"DELETE FROM {entity} WHERE connection = ? AND source_id IN (SELECT {IDS})",
                        [connection, id_list(old)],
                    )
                cols = ", ".join(table.column_names)
                # the payload digest is DuckDB's: native, on the writer's thread, off the GIL
                picks = ", ".join(
                    f"{RAW_DIGEST_SQL} AS raw_digest" if c == "raw_digest" else c
                    for c in table.column_names
                )
                self.con.execute(f"INSERT INTO {entity} ({cols}) SELECT {picks} FROM {rows()}")
        finally:
            del table
            # Arrow's allocator keeps freed buffers for reuse; a slice's would add up to the peak.
            pa.default_memory_pool().release_unused()
        return changed

    def _kept(self, entity: str, connection: str, ids: list[str]) -> dict[str, tuple[Any, ...]]:
        """What an upsert keeps of stored rows: first_seen_at, and run_id, hash and payload digest
        if not deleted.

        DuckDB matches an ``IN`` subquery after the scan, so the query reads its columns for
        every stored row of the table. The payload's digest is stored (``raw_digest``):
        computing ``md5(raw)`` here read every stored payload, 2.4x the query's time at 105k
        notes, and grew with the table. While the slices of an entity are mostly new rows (a
        first sync), the ids are looked up first on their own, which scans only the id columns,
        and the rest is read for the ids found. While they are mostly stored rows (a reconcile
        re-reading an open backlog), that lookup would find nearly every id, so the full query
        runs at once.
        """
        where = f"FROM {entity} WHERE connection = ? AND source_id IN (SELECT {IDS})"
        found = ids
        if self._stored_share.get(entity, 0.0) < 0.5:
            sql = f"SELECT source_id {where}"
            found = [r[0] for r in self.con.execute(sql, [connection, id_list(ids)]).fetchall()]
        rows = (
            self.con.execute(
                f"SELECT source_id, first_seen_at, run_id, CASE WHEN deleted_at IS NULL THEN content_hash END, "
                f"raw_digest {where}",
                [connection, id_list(found)],
            ).fetchall()
            if found
            else []
        )
        self._stored_share[entity] = len(rows) / len(ids) if ids else 0.0
        return {r[0]: r[1:] for r in rows}

    def _touch(self, entity: str, connection: str, ids: list[str], now: datetime) -> None:
        """Rows read again unchanged: seen now (a listing's deletion check counts on it)."""
        self.con.execute(
            f"UPDATE {entity} SET last_synced_at = ? WHERE connection = ? "
            f"AND source_id IN (SELECT {IDS})",
            [now, connection, id_list(ids)],
        )

    def _write_history(self, rows: str, changed: list[str]) -> None:
        """History rows of the ``changed`` tickets among the slice's rows (the relation ``rows``)."""
        cols = ", ".join(HISTORY_COLUMNS)
        self.con.execute(
            f"INSERT OR IGNORE INTO ticket_history (connection, source_id, content_hash, seen_at, run_id, "
            f"{cols}) SELECT connection, source_id, content_hash, last_synced_at, run_id, {cols} "
            f"FROM {rows} WHERE source_id IN (SELECT {IDS})",
            [id_list(changed)],
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
            sql += f"AND last_synced_at < ? AND {column} IN (SELECT {IDS}) "
            params += [now, id_list(scope.ticket_ids)]
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
        import pyarrow as pa  # at the first write, see layout.arrow_schema

        table = pa.table(
            {
                "source_id": [m[0] for m in missing],
                "ticket_id": pa.array([m[1] for m in missing], pa.string()),
            }
        )
        with staged(self.con, "missing_in", table):
            self.con.execute(
                "INSERT INTO suspected_deletions (connection, entity, source_id, ticket_id, state, "
                "listed_from, detected_at, run_id) SELECT ?, ?, source_id, ticket_id, 'candidate', ?, ?, ? "
                "FROM missing_in ON CONFLICT (connection, entity, source_id) DO UPDATE SET "
                "listed_from = excluded.listed_from, detected_at = excluded.detected_at, "
                "run_id = excluded.run_id, state = CASE WHEN suspected_deletions.state = 'held' "
                "THEN 'held' ELSE 'candidate' END",
                [connection, entity, listed_from, now, run_id],
            )

    def _delete(
        self, connection: str, entity: str, ids: list[str], now: datetime, proof: str
    ) -> int:
        if not ids:
            return 0
        ids = [str(i) for i in ids]
        n = len(
            self.con.execute(
                f"UPDATE {entity} SET deleted_at = ?, deleted_proof = ? WHERE connection = ? "
                f"AND deleted_at IS NULL AND source_id IN (SELECT {IDS}) RETURNING 1",
                [now, proof, connection, id_list(ids)],
            ).fetchall()
        )
        self.con.execute(
            "DELETE FROM suspected_deletions WHERE connection = ? AND entity = ? "
            f"AND source_id IN (SELECT {IDS})",
            [connection, entity, id_list(ids)],
        )
        if entity == "tickets":  # a ticket's children go with it, proven as well as it is
            child_proof = "parent" if proof in VENDOR_PROOFS else proof
            for child in CHILD_ENTITIES:
                self.con.execute(
                    f"UPDATE {child} SET deleted_at = ?, deleted_proof = ? WHERE connection = ? "
                    f"AND deleted_at IS NULL AND ticket_id IN (SELECT {IDS})",
                    [now, child_proof, connection, id_list(ids)],
                )
            self.con.execute(
                "UPDATE ticket_fields SET deleted_at = ? WHERE connection = ? "
                f"AND deleted_at IS NULL AND ticket_id IN (SELECT {IDS})",
                [now, connection, id_list(ids)],
            )
            self.con.execute(
                "DELETE FROM suspected_deletions WHERE connection = ? AND entity <> 'tickets' "
                f"AND ticket_id IN (SELECT {IDS})",
                [connection, id_list(ids)],
            )
        return n

    def _commit_if_full(self, size: int) -> None:
        """Commit the rows written so far when the next ``size`` bytes would overflow the budget."""
        if self._written and self._written + size > self.write_budget:
            self.con.execute("COMMIT")
            self.con.execute("BEGIN TRANSACTION")
            self._written = 0
        self._written += size

    # -- deletion candidates (see deskbridge.pull.deletions) ----------------------------------
    def deletion_candidates(self, connection: str) -> list[Candidate]:
        """Candidates still to check, once those seen again (or gone already) are dropped."""
        for entity in canonical.SYNCED_ENTITIES:
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
                    f"(SELECT {IDS} AS source_id, {IDS} AS reason) h "
                    "WHERE s.connection = ? AND s.entity = ? AND s.source_id = h.source_id",
                    [id_list(decision.held), id_list(decision.held.values()), connection, entity],
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
                f"AND source_id IN (SELECT {IDS})",
                [connection, entity, id_list(ids)],
            )


def _estimate(record: dict[str, Any]) -> int:
    """Bytes a record takes in DuckDB, roughly: its text, and 16 per other value."""
    return sum(len(v) if isinstance(v, str | bytes) else 16 for v in record.values())
