"""The push's bookkeeping in DuckDB, one bulk statement per table per chunk.

A chunk's outcomes (crosswalk rows linked, rows refused, rows skipped) are written through
registered Arrow tables, never row by row: a push of 10k tickets records tens of thousands
of outcomes, and a statement per outcome costs more than the writes it records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

XW_KEY = ("entity", "origin", "origin_id")
_XW = pa.schema(
    [
        ("entity", pa.string()),
        ("origin", pa.string()),
        ("origin_id", pa.string()),
        ("a_id", pa.string()),
        ("b_id", pa.string()),
        ("state", pa.string()),
        ("marker", pa.string()),
        ("base_a", pa.string()),
        ("base_b", pa.string()),
    ]
)
_XW_KEY = pa.schema([(k, pa.string()) for k in XW_KEY])
_FAIL = pa.schema(
    [
        ("entity", pa.string()),
        ("target", pa.string()),
        ("source_id", pa.string()),
        ("op", pa.string()),
        ("reason", pa.string()),
    ]
)
_KEY = pa.schema([("entity", pa.string()), ("target", pa.string()), ("source_id", pa.string())])
_SKIP = pa.schema(
    [
        ("entity", pa.string()),
        ("target", pa.string()),
        ("source_id", pa.string()),
        ("reason", pa.string()),
    ]
)


class PushStore:
    """Writes one link's push outcomes; every method runs inside the caller's transaction."""

    def __init__(self, con: duckdb.DuckDBPyConnection, link: str) -> None:
        self.con, self.link = con, link

    def intents(self, rows: Iterable[dict[str, Any]]) -> None:
        """Pending crosswalk rows, recorded before their writes are sent; existing rows are kept."""
        self._with(
            "xw_in",
            _table(({**r, "base_a": None, "base_b": None} for r in rows), _XW),
            "INSERT OR IGNORE INTO crosswalk (link, entity, origin, origin_id, a_id, b_id, "
            "state, marker) SELECT ?, entity, origin, origin_id, a_id, b_id, 'pending', marker FROM xw_in",
            [self.link],
        )

    def created(self, row: dict[str, Any]) -> None:
        """A pending create's new id, known before its follow-up requests are sent."""
        self.con.execute(
            "UPDATE crosswalk SET a_id = coalesce(?, a_id), b_id = coalesce(?, b_id), state = 'created' "
            "WHERE link = ? AND entity = ? AND origin = ? AND origin_id = ? AND state IN ('pending', 'created')",
            [row["a_id"], row["b_id"], self.link, row["entity"], row["origin"], row["origin_id"]],
        )

    def withdrawn(self, rows: list[dict[str, Any]]) -> None:
        """Pending rows of writes the target refused: nothing landed, so nothing is pending."""
        self._with(
            "xw_out",
            _table(rows, _XW_KEY),
            "DELETE FROM crosswalk x USING xw_out WHERE x.link = ? "
            "AND x.state = 'pending' AND x.entity = xw_out.entity AND x.origin = xw_out.origin "
            "AND x.origin_id = xw_out.origin_id",
            [self.link],
        )

    def linked(self, rows: list[dict[str, Any]], now: datetime) -> None:
        """Upsert crosswalk rows; their bases merge into what the row held (per field, newest wins)."""
        merged: dict[tuple[str, ...], dict[str, Any]] = {}
        for row in rows:  # two writes of one pair in a chunk (a->b and b->a) become one row
            key = tuple(row[k] for k in XW_KEY)
            old = merged.get(key)
            if old is None:
                merged[key] = {
                    **row,
                    "base_a": dict(row.get("base_a") or {}),
                    "base_b": dict(row.get("base_b") or {}),
                }
                continue
            for side in ("a", "b"):
                old[f"{side}_id"] = row.get(f"{side}_id") or old[f"{side}_id"]
                old[f"base_{side}"].update(row.get(f"base_{side}") or {})
            old["state"] = row["state"]
        table = _table(
            (
                {**r, "base_a": _dump(r["base_a"]), "base_b": _dump(r["base_b"])}
                for r in merged.values()
            ),
            _XW,
        )
        self._with(
            "xw_in",
            table,
            "INSERT INTO crosswalk (link, entity, origin, origin_id, a_id, b_id, state, marker, base_a, base_b, pushed_at) "
            "SELECT ?, entity, origin, origin_id, a_id, b_id, state, marker, base_a, base_b, ? FROM xw_in "
            "ON CONFLICT DO UPDATE SET a_id = coalesce(excluded.a_id, crosswalk.a_id), "
            "b_id = coalesce(excluded.b_id, crosswalk.b_id), state = excluded.state, "
            "base_a = json_merge_patch(coalesce(crosswalk.base_a, '{}'), coalesce(excluded.base_a, '{}')), "
            "base_b = json_merge_patch(coalesce(crosswalk.base_b, '{}'), coalesce(excluded.base_b, '{}')), "
            "pushed_at = excluded.pushed_at",
            [self.link, now],
        )
        self._with(
            "xw_in",
            table,
            "UPDATE crosswalk x SET hash_a = md5(coalesce(x.base_a::VARCHAR, '')), "
            "hash_b = md5(coalesce(x.base_b::VARCHAR, '')) FROM xw_in WHERE x.link = ? AND x.entity = xw_in.entity "
            "AND x.origin = xw_in.origin AND x.origin_id = xw_in.origin_id",
            [self.link],
        )

    def resolved(self, rows: list[dict[str, Any]], now: datetime) -> None:
        """Failures of these (entity, target, source id) went through this time."""
        latest = {(r["entity"], r["target"], r["source_id"]): r for r in rows}
        self._with(
            "ok_in",
            _table(latest.values(), _KEY),
            "UPDATE push_failures f SET resolved_at = ? FROM ok_in WHERE f.link = ? AND f.entity = ok_in.entity "
            "AND f.target = ok_in.target AND f.source_id = ok_in.source_id AND f.resolved_at IS NULL",
            [now, self.link],
        )

    def failed(self, rows: list[dict[str, Any]], now: datetime) -> None:
        """Refused rows: one per (entity, target, source id), attempts counted across runs."""
        latest = {(r["entity"], r["target"], r["source_id"]): r for r in rows}
        self._with(
            "fail_in",
            _table(latest.values(), _FAIL),
            "INSERT INTO push_failures SELECT ?, entity, target, source_id, op, reason, 1, ?, ?, NULL FROM fail_in "
            "ON CONFLICT DO UPDATE SET op = excluded.op, reason = excluded.reason, attempts = push_failures.attempts + 1, "
            "last_failed_at = excluded.last_failed_at, resolved_at = NULL",
            [self.link, now, now],
        )

    def skipped(self, rows: list[dict[str, Any]], now: datetime) -> None:
        latest = {(r["entity"], r["target"], r["source_id"]): r for r in rows}
        self._with(
            "skip_in",
            _table(latest.values(), _SKIP),
            "INSERT OR REPLACE INTO push_skips SELECT ?, entity, target, source_id, reason, ? FROM skip_in",
            [self.link, now],
        )

    def _with(self, name: str, table: pa.Table, sql: str, params: list[Any]) -> None:
        if table.num_rows == 0:
            return
        self.con.register(name, table)
        try:
            self.con.execute(sql, params)
        finally:
            self.con.unregister(name)


def _table(rows: Iterable[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist([{k: r.get(k) for k in schema.names} for r in rows], schema=schema)


def _dump(base: dict[str, Any] | None) -> str | None:
    return json.dumps(base, default=str) if base else None
