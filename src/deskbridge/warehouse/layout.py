"""The schema as a run needs it, without SQLModel: Arrow schemas, and "is this warehouse current?".

Opening a warehouse for writing used to derive and re-run the whole DDL from the SQLModel
declarations, whose import alone costs more than the rest of a run's start-up. The column tables
generated from them (:mod:`deskbridge.sdk.columns`, :mod:`deskbridge.warehouse.columns`) answer
the same questions. A warehouse that :func:`migrate` brought to this
version of deskbridge carries :func:`schema_key` in ``meta``; :func:`migrate` checks it, the
version and that every table and view is there. A new, empty database runs the script generated
from the same declarations (:mod:`deskbridge.warehouse.creation`); only any other warehouse
imports SQLModel and migrates.
"""

from __future__ import annotations

import functools
import hashlib
from typing import TYPE_CHECKING

import duckdb

from deskbridge.sdk import canonical
from deskbridge.sdk import columns as sdk_columns
from deskbridge.warehouse import columns
from deskbridge.warehouse.views import VIEWS

if TYPE_CHECKING:
    import pyarrow as pa

KEY = "schema_key"  # meta key: the schema_key() the warehouse was last migrated to
COLUMNS = {**sdk_columns.COLUMNS, **columns.COLUMNS}
KEYS = {**sdk_columns.KEYS, **columns.KEYS}


@functools.cache
def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema bulk writes into ``table`` use: its columns in order, typed.

    pyarrow is imported here, at the first write, not with the warehouse: a run that finds
    nothing new never loads it.
    """
    import pyarrow as pa

    types = {
        "JSON": pa.string(),
        "BOOLEAN": pa.bool_(),
        "BIGINT": pa.int64(),
        "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
        "DOUBLE": pa.float64(),
    }
    return pa.schema([pa.field(n, types.get(t, pa.string())) for n, t in COLUMNS[table]])


def schema_key() -> str:
    """What a migration to this version of deskbridge installs: version, tables, views."""
    parts = [str(canonical.SCHEMA_VERSION), columns.CATALOG_DIGEST, repr(VIEWS)]
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=16).hexdigest()


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Bring the warehouse on ``con`` to the current schema (:func:`deskbridge.warehouse.schema.migrate`);
    returns the version. A warehouse already there costs two small queries and no SQLModel; a new
    one runs the generated creation script, in one transaction, and no SQLModel either."""
    if current(con):
        return canonical.SCHEMA_VERSION
    if _empty(con):
        _create(con)
        return canonical.SCHEMA_VERSION
    from deskbridge.warehouse import schema

    version = schema.migrate(con)
    # Last: a warehouse carries the key only once all the migration did is in it.
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [KEY, schema_key()])
    return version


def current(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse holds every table and view of this version, this version's number and
    its ``schema_key``: anything else (older, newer, a table or view gone) takes the migration."""
    have = {
        name
        for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT internal "
            "UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal"
        ).fetchall()
    }
    if not {"meta", *COLUMNS, *(view.name for view in VIEWS)} <= have:
        return False
    meta = dict(
        con.execute(
            "SELECT key, value FROM meta WHERE key IN ('schema_version', ?)", [KEY]
        ).fetchall()
    )
    return meta == {"schema_version": str(canonical.SCHEMA_VERSION), KEY: schema_key()}


def _empty(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the database holds no table, view or sequence of its own (a new file)."""
    row = con.execute(
        "SELECT (SELECT count(*) FROM duckdb_tables() WHERE NOT internal) "
        "+ (SELECT count(*) FROM duckdb_views() WHERE NOT internal) "
        "+ (SELECT count(*) FROM duckdb_sequences())"
    ).fetchone()
    return row == (0,)


def _create(con: duckdb.DuckDBPyConnection) -> None:
    """What :func:`deskbridge.warehouse.schema.migrate` does to an empty database, from the script
    generated from it (:mod:`deskbridge.warehouse.creation`), with the version, time and key."""
    from datetime import datetime

    from deskbridge.warehouse.creation import SCRIPT
    from deskbridge.warehouse.transaction import transaction

    with transaction(con):
        con.execute(SCRIPT)
        con.execute(
            "INSERT INTO meta VALUES ('schema_version', ?), ('migrated_at', ?), (?, ?)",
            [
                str(canonical.SCHEMA_VERSION),
                datetime.now().astimezone().isoformat(),
                KEY,
                schema_key(),
            ],
        )
