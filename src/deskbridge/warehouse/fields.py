"""Custom ticket fields: values written with their ticket, the catalog, and each connection's pivot.

A ticket row that carries ``"fields"`` (see :mod:`deskbridge.sdk.customfields`) replaces that
ticket's ``ticket_fields`` rows in the same transaction as the ticket: a field cleared at the
vendor loses its row, a deleted ticket's rows get ``deleted_at`` with it. A batch that carries
the catalog replaces the connection's ``fields`` rows (a definition the vendor no longer has
gets ``deleted_at``), refreshes the labels of stored values (a field renamed at the vendor) and
recreates the connection's pivot view, ``ticket_fields_<connection>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

import duckdb
import orjson

from deskbridge.sdk import canonical
from deskbridge.warehouse.idlist import IDS, id_list
from deskbridge.warehouse.layout import arrow_schema
from deskbridge.warehouse.sqltext import ident, literal
from deskbridge.warehouse.staging import staged

if TYPE_CHECKING:
    import pyarrow as pa

VIEW_PREFIX = "ticket_fields_"
# the value column the pivot view reads for each field type
PIVOT_COLUMN = {
    "integer": "value_number::BIGINT",
    "number": "value_number",
    "date": "value_time::DATE",
    "datetime": "value_time",
    "boolean": "value_bool",
    "multichoice": "value_json",
}


def typed_columns(kind: str, value: Any) -> dict[str, Any]:
    """The ``value_*`` columns of one value: its own typed column, text, and JSON."""
    out: dict[str, Any] = {"value_text": None, "value_number": None, "value_time": None}
    out["value_bool"] = value if isinstance(value, bool) else None
    if isinstance(value, bool):
        out["value_text"] = "true" if value else "false"
    elif isinstance(value, int | float):
        out["value_number"], out["value_text"] = float(value), str(value)
    elif isinstance(value, datetime):
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        out["value_time"], out["value_text"] = value, value.isoformat()
    elif isinstance(value, date):
        out["value_time"] = datetime.combine(value, time(), UTC)
        out["value_text"] = value.isoformat()
    elif isinstance(value, list):
        out["value_text"] = ", ".join(map(str, value))
    elif value is not None:
        out["value_text"] = str(value)
    out["value_json"] = None if value is None else orjson.dumps(value, default=str).decode()
    return out


def field_records(
    connection: str, run_id: int, rows: Iterable[Mapping[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """``ticket_fields`` records of the tickets whose rows carry ``fields``."""
    out = []
    for row in rows:
        for value in row.get(canonical.FIELDS_KEY) or ():
            out.append(
                {
                    "connection": connection,
                    "ticket_id": str(row["source_id"]),
                    "field_key": str(value["key"]),
                    "field_id": value.get("field_id"),
                    "label": value.get("label"),
                    "type": value["type"],
                    **typed_columns(value["type"], value.get("value")),
                    "last_synced_at": now,
                    "deleted_at": None,
                    "run_id": run_id,
                }
            )
    return out


def view_name(connection: str) -> str:
    """The pivot view's name: the connection name with anything but letters, digits and _ as _."""
    return VIEW_PREFIX + re.sub(r"[^0-9A-Za-z_]", "_", connection)


def column_name(label: str | None, key: str) -> str:
    """A pivot column's name: the label in snake case (``Custom Look Up 1`` -> ``custom_look_up_1``),
    so analysts need no quoting; the key when the label has no letter or digit."""
    name = re.sub(r"[^0-9a-z]+", "_", (label or "").casefold()).strip("_")
    name = name or re.sub(r"[^0-9a-z]+", "_", key.casefold()).strip("_") or "field"
    return f"field_{name}" if name[0].isdigit() else name


def pivot_sql(connection: str, catalog: list[tuple[str, str | None, str]]) -> str:
    """One row per live ticket of ``connection``, one column per live field, named by label."""
    taken: set[str] = {"ticket_id", "number", "subject"}
    columns = []
    for key, label, kind in catalog:
        name = column_name(label, key)
        if name in taken:  # two fields with one label: the key tells them apart
            name = column_name(f"{name} {key}", key)
        taken.add(name)
        value = PIVOT_COLUMN.get(kind, "value_text")
        columns.append(f"max({value}) FILTER (WHERE f.field_key = {literal(key)}) AS {ident(name)}")
    select = ", ".join(["t.source_id AS ticket_id", "t.number", "t.subject", *columns])
    return (
        f"CREATE OR REPLACE VIEW {ident(view_name(connection))} AS SELECT {select} FROM tickets t "
        "LEFT JOIN ticket_fields f ON f.connection = t.connection AND f.ticket_id = t.source_id "
        f"AND f.deleted_at IS NULL WHERE t.connection = {literal(connection)} "
        "AND t.deleted_at IS NULL GROUP BY t.source_id, t.number, t.subject"
    )


class FieldWriter:
    """Custom field writes of :class:`~deskbridge.warehouse.batches.BatchWriter`."""

    con: duckdb.DuckDBPyConnection
    views_changed: bool = False

    def _write_ticket_fields(
        self, connection: str, run_id: int, rows: Sequence[Mapping[str, Any]], now: datetime
    ) -> None:
        """Bring the fields of the tickets whose rows carry them to what the rows say.

        Only rows that differ are replaced: DuckDB's primary key makes a delete and re-insert of
        the same key costly at commit (20,000 tickets with 5 fields each: 16 s instead of 7 s).
        """
        carried = [str(r["source_id"]) for r in rows if canonical.FIELDS_KEY in r]
        if not carried:
            return
        stored = {
            (t, k): rest
            for t, k, *rest in self.con.execute(
                "SELECT ticket_id, field_key, type, CAST(value_json AS VARCHAR), deleted_at "
                f"FROM ticket_fields WHERE connection = ? AND ticket_id IN (SELECT {IDS})",
                [connection, id_list(carried)],
            ).fetchall()
        }
        records = [
            r
            for r in field_records(connection, run_id, rows, now)
            if stored.pop((r["ticket_id"], r["field_key"]), None)
            != [r["type"], r["value_json"], None]  # labels follow the catalog
        ]
        gone = [*stored, *((r["ticket_id"], r["field_key"]) for r in records)]
        if not (gone or records):
            return
        import pyarrow as pa  # at the first write, see layout.arrow_schema

        if gone:
            keys = pa.table({"ticket_id": [g[0] for g in gone], "field_key": [g[1] for g in gone]})
            self._run_with(
                "gone_in",
                keys,
                "DELETE FROM ticket_fields t USING gone_in g WHERE "
                "t.connection = ? AND t.ticket_id = g.ticket_id AND t.field_key = g.field_key",
                [connection],
            )
        if records:
            schema = arrow_schema("ticket_fields")
            self._insert("ticket_fields", pa.Table.from_pylist(records, schema=schema))
            self.con.execute(
                "UPDATE ticket_fields t SET label = f.label FROM fields f WHERE t.connection = ? "
                "AND f.connection = t.connection AND f.field_key = t.field_key AND f.label IS NOT NULL "
                f"AND t.label IS DISTINCT FROM f.label AND t.ticket_id IN (SELECT {IDS})",
                [connection, id_list(carried)],
            )

    def _stored_field_values(
        self, connection: str, rows: list[dict[str, Any]]
    ) -> dict[str, list[dict[str, Any]]]:
        """The stored fields of the tickets whose rows lack ``fields`` (as ``value_json`` holds
        them, which hashes alike), so a ticket read without its fields keeps its content hash."""
        bare = [str(r["source_id"]) for r in rows if canonical.FIELDS_KEY not in r]
        stored: dict[str, list[dict[str, Any]]] = {}
        if not bare:
            return stored
        for ticket_id, key, value in self.con.execute(
            "SELECT ticket_id, field_key, value_json FROM ticket_fields WHERE connection = ? "
            f"AND deleted_at IS NULL AND ticket_id IN (SELECT {IDS})",
            [connection, id_list(bare)],
        ).fetchall():
            stored.setdefault(ticket_id, []).append({"key": key, "value": orjson.loads(value)})
        return stored

    def _write_catalog(
        self, connection: str, specs: Sequence[Mapping[str, Any]], now: datetime
    ) -> int:
        """Store the connection's whole catalog; returns how many definitions changed or went."""
        import pyarrow as pa  # at the first write, see layout.arrow_schema

        records = [_spec_record(connection, spec, now) for spec in specs]
        before = self._catalog_rows(connection)
        self.con.execute(
            "UPDATE fields SET deleted_at = ? WHERE connection = ? AND deleted_at IS NULL "
            f"AND field_key NOT IN (SELECT {IDS})",
            [now, connection, id_list(r["field_key"] for r in records)],
        )
        self.con.execute(
            f"DELETE FROM fields WHERE connection = ? AND field_key IN (SELECT {IDS})",
            [connection, id_list(r["field_key"] for r in records)],
        )
        if records:
            schema = arrow_schema("fields")
            self._insert("fields", pa.Table.from_pylist(records, schema=schema))
        self.con.execute(
            "UPDATE ticket_fields t SET label = f.label FROM fields f WHERE t.connection = ? "
            "AND f.connection = t.connection AND f.field_key = t.field_key AND f.deleted_at IS NULL "
            "AND t.label IS DISTINCT FROM f.label",
            [connection],
        )
        live = self.con.execute(
            "SELECT field_key, label, type FROM fields WHERE connection = ? AND deleted_at IS NULL "
            "ORDER BY try_cast(field_id AS BIGINT) NULLS LAST, field_id, field_key",
            [connection],
        ).fetchall()
        changed = len(self._catalog_rows(connection) ^ before)
        if changed or not self._has_view(view_name(connection)):
            self.con.execute(pivot_sql(connection, live))
            self.views_changed = True  # checkpointed after the commit: see Warehouse.apply_batch
        return changed

    def _has_view(self, name: str) -> bool:
        found = self.con.execute(
            "SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND database_name = current_database()",
            [name],
        ).fetchone()
        return bool(found and found[0])

    def _catalog_rows(self, connection: str) -> set[tuple[Any, ...]]:
        return set(
            self.con.execute(
                "SELECT field_key, field_id, label, type, writable, CAST(choices AS VARCHAR) "
                "FROM fields WHERE connection = ? AND deleted_at IS NULL",
                [connection],
            ).fetchall()
        )

    def _insert(self, table: str, data: pa.Table) -> None:
        cols = ", ".join(data.column_names)
        self._run_with(
            "fields_in", data, f"INSERT INTO {table} ({cols}) SELECT {cols} FROM fields_in"
        )

    def _run_with(
        self, name: str, data: pa.Table, sql: str, params: list[Any] | None = None
    ) -> None:
        """Run ``sql`` with ``data`` as the relation ``name``."""
        with staged(self.con, name, data):
            self.con.execute(sql, params or [])


def _spec_record(connection: str, spec: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    choices = spec.get("choices")
    return {
        "connection": connection,
        "field_key": str(spec["key"]),
        "field_id": None if spec.get("field_id") is None else str(spec["field_id"]),
        "label": spec.get("label"),
        "type": spec["type"],
        "writable": bool(spec["writable"]),
        "choices": None if choices is None else orjson.dumps(list(choices)).decode(),
        "source": spec.get("source"),
        "last_synced_at": now,
        "deleted_at": None,
    }


CATALOG_SQL = """
WITH counts AS (
    SELECT field_key, value_text, count(*) AS n FROM ticket_fields
    WHERE connection = $connection AND deleted_at IS NULL GROUP BY ALL),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY field_key ORDER BY n DESC, value_text) AS r
    FROM counts),
used AS (
    SELECT field_key, sum(n)::BIGINT AS tickets,
           list(value_text ORDER BY r) FILTER (WHERE r <= $samples) AS samples
    FROM ranked GROUP BY field_key)
SELECT f.field_key, f.field_id, f.label, f.type, f.writable, CAST(f.choices AS VARCHAR),
       coalesce(u.tickets, 0), coalesce(u.samples, [])
FROM fields f LEFT JOIN used u USING (field_key)
WHERE f.connection = $connection AND f.deleted_at IS NULL
ORDER BY try_cast(f.field_id AS BIGINT) NULLS LAST, f.field_id, f.field_key
"""


def catalog_rows(
    con: duckdb.DuckDBPyConnection, connection: str, samples: int = 3
) -> list[dict[str, Any]]:
    """The connection's live field catalog, with how many tickets set each field and the
    ``samples`` most common values (``deskbridge fields``)."""
    rows = con.execute(CATALOG_SQL, {"connection": connection, "samples": samples}).fetchall()
    keys = ("key", "field_id", "label", "type", "writable", "choices", "tickets", "samples")
    out = [dict(zip(keys, row, strict=True)) for row in rows]
    for row in out:
        row["choices"] = None if row["choices"] is None else orjson.loads(row["choices"])
    return out
