"""The warehouse's SQL on DuckLake tables, which have no keys, sequences or RETURNING.

The warehouse's statements are written for a DuckDB file, whose tables have primary keys: upserts
say ``INSERT OR REPLACE``, ``INSERT OR IGNORE`` or ``INSERT ... ON CONFLICT DO UPDATE``. DuckLake
has no constraints, so :class:`LakeConnection` rewrites exactly those statement shapes into
``MERGE INTO`` on the keys the models declare (:data:`KEYS`): the same rows end up stored, and the
uniqueness the file gets from its keys holds because every write goes through a merge on them.
DDL loses its ``PRIMARY KEY`` clauses, sequence defaults and comments on view columns (run ids come from
:meth:`~deskbridge.warehouse.lake.LakeWarehouse.start_run`); ``UPDATE ... RETURNING 1``, used to
count what an update touched, becomes a count and the update, in the caller's transaction.
Everything else passes through unchanged, so both backends run one body of SQL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import duckdb

from deskbridge.warehouse import layout

# (columns in order, key columns) of every table, from the models (through the column tables
# generated from them); meta is created by migrate().
KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    name: (tuple(column for column, _type in columns), layout.KEYS[name])
    for name, columns in layout.COLUMNS.items()
}
KEYS["meta"] = (("key", "value"), ("key",))

_INSERT = re.compile(
    r"^\s*INSERT\s+(?:OR\s+(?P<or>REPLACE|IGNORE)\s+)?INTO\s+(?P<table>\w+)\s*"
    r"(?:\((?P<cols>[^)]*)\))?\s*(?P<source>(?:VALUES|SELECT)\b.*?)"
    r"(?:\s+ON\s+CONFLICT\s*(?:\([^)]*\))?\s*DO\s+(?:UPDATE\s+SET\s+(?P<set>.*)|NOTHING))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_RETURNING = re.compile(
    r"^\s*UPDATE\s+(?P<table>\w+)\s+SET\s+(?P<set>.*?)\s+WHERE\s+(?P<where>.*?)\s+RETURNING\s+1\s*$",
    re.IGNORECASE | re.DOTALL,
)


def to_merge(sql: str) -> str | None:
    """The ``MERGE INTO`` for an upsert on a keyed table; None if ``sql`` is no such upsert."""
    m = _INSERT.match(sql)
    if not m or (m["or"] is None and m["set"] is None and "ON CONFLICT" not in sql.upper()):
        return None
    table = m["table"]
    columns, keys = KEYS[table]
    cols = [c.strip() for c in m["cols"].split(",")] if m["cols"] else list(columns)
    on = " AND ".join(f"{table}.{k} = excluded.{k}" for k in keys)
    if m["set"]:
        matched = f" WHEN MATCHED THEN UPDATE SET {m['set']}"
    elif (m["or"] or "").upper() == "REPLACE":
        sets = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in keys)
        matched = f" WHEN MATCHED THEN UPDATE SET {sets}" if sets else ""
    else:  # OR IGNORE, DO NOTHING
        matched = ""
    names = ", ".join(cols)
    values = ", ".join(f"excluded.{c}" for c in cols)
    # One source row per key, as a keyed insert keeps: a merge would insert each of them.
    source = (
        f"SELECT * FROM ({m['source']}) AS src({names}) "
        f"QUALIFY row_number() OVER (PARTITION BY {', '.join(keys)}) = 1"
    )
    return (
        f"MERGE INTO {table} USING ({source}) AS excluded({names}) ON {on}{matched} "
        f"WHEN NOT MATCHED THEN INSERT ({names}) VALUES ({values})"
    )


def to_ddl(sql: str) -> str | None:
    """DDL without keys and sequences; '' for a statement DuckLake has no use for."""
    if re.match(r"^\s*CREATE\s+SEQUENCE\b", sql, re.IGNORECASE):
        return ""
    comment = re.match(r"^\s*COMMENT\s+ON\s+COLUMN\s+(\w+)\.", sql, re.IGNORECASE)
    if comment:  # DuckLake keeps comments on table columns only; a view's stay in the dictionary
        return None if comment[1] in KEYS else ""
    if not re.match(r"^\s*CREATE\s+TABLE\b", sql, re.IGNORECASE):
        return None
    sql = re.sub(r",\s*PRIMARY KEY\s*\([^)]*\)", "", sql, flags=re.IGNORECASE)
    sql = re.sub(r"\s+PRIMARY KEY\b", "", sql, flags=re.IGNORECASE)
    return re.sub(r"\s+DEFAULT\s+nextval\('[^']*'\)", "", sql, flags=re.IGNORECASE)


class Rows:
    """A fetched result, for a statement the connection answered itself."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None


class LakeConnection:
    """A DuckDB connection with a DuckLake attached and in use, speaking the file's dialect."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.raw = con
        self.depth = 0  # open BEGINs: an inner one joins the outer transaction

    def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> Any:
        """Run ``sql``, rewritten where DuckLake lacks what it uses."""
        word = sql.split(maxsplit=1)[0].upper() if sql.strip() else ""
        if word in ("BEGIN", "COMMIT", "ROLLBACK"):
            return self._transaction(word, sql)
        ddl = to_ddl(sql)
        if ddl == "":
            return Rows([])
        merge = to_merge(sql) if ddl is None else None
        update = _RETURNING.match(sql) if ddl is None and merge is None else None
        if update:
            return self._counted_update(update, list(parameters or []))
        return self.raw.execute(ddl or merge or sql, parameters)

    def _transaction(self, word: str, sql: str) -> Any:
        """Nested transactions join the outer one (a lake migrates in one catalog commit: every
        statement on its own would cost a round of catalog queries)."""
        if word == "BEGIN":
            self.depth += 1
            return self.raw.execute(sql) if self.depth == 1 else Rows([])
        if word == "COMMIT" and self.depth > 1:
            self.depth -= 1
            return Rows([])
        self.depth = 0
        return self.raw.execute(sql)

    def _counted_update(self, m: re.Match[str], params: list[Any]) -> Rows:
        where_params = params[m["set"].count("?") :]
        rows = self.raw.execute(
            f"SELECT 1 FROM {m['table']} WHERE {m['where']}", where_params
        ).fetchall()
        if rows:
            self.raw.execute(f"UPDATE {m['table']} SET {m['set']} WHERE {m['where']}", params)
        return Rows(rows)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def duplicate_keys(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Keys held by more than one row, per table: always empty while every write merges on them."""
    out = {}
    for table, (_columns, keys) in KEYS.items():
        row = con.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {table} GROUP BY {', '.join(keys)} "
            "HAVING count(*) > 1)"
        ).fetchone()
        if row and row[0]:
            out[table] = int(row[0])
    return out
