"""DuckDB DDL derived from the SQLModel tables, and forward migration.

Importing SQLModel costs a run more than all its other imports together, so a run opens a
warehouse already at the current schema through :mod:`deskbridge.warehouse.layout`, which
needs only :mod:`deskbridge.sdk.columns` and :mod:`deskbridge.warehouse.columns`: the column
tables this module generates from the declarations. A new warehouse runs
:mod:`deskbridge.warehouse.creation`, the script this module generates of what :func:`migrate`
does to an empty database. ``python -m deskbridge.warehouse.schema`` rewrites all three; a test
fails when they drift.
"""

from __future__ import annotations

import hashlib
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import sqlalchemy as sa
from sqlmodel import SQLModel

from deskbridge.sdk import models
from deskbridge.sdk.errors import FatalError
from deskbridge.warehouse import comments, tables
from deskbridge.warehouse.digest import RAW_DIGEST_SQL
from deskbridge.warehouse.sqltext import literal

SDK_TABLES: tuple[type[SQLModel], ...] = (
    *models.ENTITY_MODELS.values(),
    models.TicketField,
    models.FieldDef,
)
WAREHOUSE_TABLES: tuple[type[SQLModel], ...] = (
    tables.TicketHistory,
    tables.SyncRun,
    tables.SyncState,
    tables.ServiceState,
    tables.SuspectedDeletion,
    *tables.PUSH_TABLES,
)
TABLES = SDK_TABLES + WAREHOUSE_TABLES
# What each table holds, for tables whose model has no docstring (see table_descriptions()).
TABLE_DESCRIPTIONS: dict[str, str] = {
    "tickets": "One row per ticket: subject, vendor and canonical status and priority, people, times.",
    "notes": "Replies (kind = reply) and internal notes (kind = note) on tickets.",
    "time_entries": "Time logged on tickets: seconds worked and billable, worker, work and bill time.",
    "people": "Staff and requesters (kind).",
    "attachments": "Attachment metadata (not the files).",
    "meta": "Warehouse bookkeeping as key/value pairs.",
}
# meta is created by migrate() itself, before anything else.
META_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    (
        "meta",
        "key",
        "VARCHAR",
        "schema_version, migrated_at, schema_key, catalog_digest or snapshot_at.",
    ),
    ("meta", "value", "VARCHAR", "The value, as text."),
)

# Steps that additive migration cannot derive; keyed by the version they lead to.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    # deletions recorded before deleted_proof: their proof is unknown, so a push never acts on them
    2: tuple(
        f"UPDATE {entity} SET deleted_proof = 'legacy' WHERE deleted_at IS NOT NULL AND deleted_proof IS NULL"
        for entity in models.SYNCED_ENTITIES
    ),
    # the payload digest an upsert compares, for rows stored before the column
    4: tuple(
        f"UPDATE {entity} SET raw_digest = {RAW_DIGEST_SQL} WHERE raw_digest IS NULL AND raw IS NOT NULL"
        for entity in models.SYNCED_ENTITIES
    ),
}


def duck_type(column: sa.Column[Any]) -> str:
    if isinstance(column.type, sa.JSON):
        return "JSON"
    kind = column.type.impl_instance if isinstance(column.type, sa.TypeDecorator) else column.type
    return {bool: "BOOLEAN", int: "BIGINT", float: "DOUBLE", datetime: "TIMESTAMPTZ"}.get(
        kind.python_type, "VARCHAR"
    )


def arrow_type(column: sa.Column[Any]) -> pa.DataType:
    by_duck_type: dict[str, pa.DataType] = {
        "JSON": pa.string(),
        "BOOLEAN": pa.bool_(),
        "BIGINT": pa.int64(),
        "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
        "DOUBLE": pa.float64(),
    }
    return by_duck_type.get(duck_type(column), pa.string())


def arrow_schema(model: type[SQLModel]) -> pa.Schema:
    table = model.__table__  # type: ignore[attr-defined]
    return pa.schema([pa.field(c.name, arrow_type(c)) for c in table.columns])


def create_table_sql(model: type[SQLModel]) -> str:
    table = model.__table__  # type: ignore[attr-defined]
    cols = []
    for column in table.columns:
        null = " NOT NULL" if column.primary_key else ""
        default = (
            " DEFAULT nextval('sync_run_ids')"
            if column.name == "run_id" and model is tables.SyncRun
            else ""
        )
        cols.append(f"    {column.name} {duck_type(column)}{null}{default}")
    keys = ", ".join(c.name for c in table.primary_key.columns)
    body = ",\n".join([*cols, f"    PRIMARY KEY ({keys})"])
    return f"CREATE TABLE IF NOT EXISTS {table.name} (\n{body}\n)"


META_DDL = "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)"
SEQUENCE_DDL = "CREATE SEQUENCE IF NOT EXISTS sync_run_ids START 1"


def creation_script() -> str:
    """What :func:`migrate` does to an empty warehouse, as one script, less the rows of ``meta``
    that carry the version and the time: tables, views, descriptions and their digest. A new
    warehouse runs the copy in :mod:`deskbridge.warehouse.creation` (no SQLModel)."""
    catalog, digest = comments.catalog(table_descriptions(), describe())
    statements = [
        META_DDL,
        SEQUENCE_DDL,
        *(create_table_sql(model) for model in TABLES),
        *catalog,
        f"INSERT INTO meta VALUES ({literal(comments.DIGEST_KEY)}, {literal(digest)})",
    ]
    return ";\n".join(statements) + ";\n"


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Create what is missing and bring an older warehouse forward; returns the version."""
    con.execute(META_DDL)
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    found = int(row[0]) if row else 0
    if found > models.SCHEMA_VERSION:
        raise FatalError(
            f"warehouse schema version {found} is newer than this deskbridge "
            f"(knows {models.SCHEMA_VERSION}); upgrade deskbridge"
        )
    con.execute(SEQUENCE_DDL)
    for model in TABLES:
        con.execute(create_table_sql(model))
        _add_missing_columns(con, model)
    for version in range(found + 1, models.SCHEMA_VERSION + 1):
        for statement in MIGRATIONS.get(version, ()):
            con.execute(statement)
    con.execute(
        "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?), ('migrated_at', ?)",
        [str(models.SCHEMA_VERSION), datetime.now().astimezone().isoformat()],
    )
    comments.install(con, table_descriptions(), describe())
    return models.SCHEMA_VERSION


def _add_missing_columns(con: duckdb.DuckDBPyConnection, model: type[SQLModel]) -> None:
    table = model.__table__  # type: ignore[attr-defined]
    # pragma_table_info, not information_schema.columns: that one binds every view, ~20x slower.
    have = {
        name
        for (name,) in con.execute("SELECT name FROM pragma_table_info(?)", [table.name]).fetchall()
    }
    for column in table.columns:
        if column.name not in have:
            con.execute(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {duck_type(column)}")


def table_descriptions() -> dict[str, str]:
    """What each table holds, in declaration order: its model's docstring, else TABLE_DESCRIPTIONS."""
    out = {}
    for model in TABLES:
        name = model.__table__.name  # type: ignore[attr-defined]
        doc = " ".join((model.__doc__ or "").split("\n\n")[0].split())
        out[name] = doc or TABLE_DESCRIPTIONS.get(name, "")
    return {**out, "meta": TABLE_DESCRIPTIONS["meta"]}


def describe() -> list[tuple[str, str, str, str]]:
    """(table, column, type, meaning) for every column, for the data dictionary."""
    out = []
    for model in TABLES:
        table = model.__table__  # type: ignore[attr-defined]
        fields = model.model_fields
        for column in table.columns:
            info = fields.get(column.name)
            meaning = (info.description if info else "") or ""
            out.append((table.name, column.name, duck_type(column), meaning))
    return out + list(META_COLUMNS)


# -- the generated column tables --------------------------------------------------------
GENERATED: dict[str, tuple[str, tuple[type[SQLModel], ...]]] = {
    "src/deskbridge/sdk/columns.py": ("deskbridge.sdk.models", SDK_TABLES),
    "src/deskbridge/warehouse/columns.py": ("deskbridge.warehouse.tables", WAREHOUSE_TABLES),
}


def columns_of(model: type[SQLModel]) -> tuple[tuple[str, str], ...]:
    """(column, DuckDB type) of ``model``'s table, in order."""
    table = model.__table__  # type: ignore[attr-defined]
    return tuple((column.name, duck_type(column)) for column in table.columns)


def keys_of(model: type[SQLModel]) -> tuple[str, ...]:
    return tuple(c.name for c in model.__table__.primary_key.columns)  # type: ignore[attr-defined]


def catalog_digest() -> str:
    """Digest of everything :func:`migrate` derives from the models: DDL, descriptions, steps."""
    parts = [create_table_sql(model) for model in TABLES]
    parts += [repr(row) for row in [*table_descriptions().items(), *describe()]]
    parts += [repr(item) for item in sorted(MIGRATIONS.items())]
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=16).hexdigest()


def render_columns(source: str, models_: tuple[type[SQLModel], ...]) -> str:
    """The text of a generated column table for ``models_`` (declared in module ``source``)."""
    lines = [
        f'"""The tables of :mod:`{source}`: columns in order, with DuckDB types, and keys.',
        "",
        "Generated from the SQLModel declarations by ``python -m deskbridge.warehouse.schema``; do not",
        "edit. ``tests/test_schema_columns.py`` fails when it drifts from them. A run reads these",
        "instead of importing SQLModel.",
        '"""',
        "",
        "COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {",
    ]
    for model in models_:
        lines.append(f'    "{model.__tablename__}": (')
        lines += [f'        ("{name}", "{kind}"),' for name, kind in columns_of(model)]
        lines.append("    ),")
    lines += ["}", "KEYS: dict[str, tuple[str, ...]] = {"]
    for model in models_:
        keys = ", ".join(f'"{k}"' for k in keys_of(model)) + (
            "," if len(keys_of(model)) == 1 else ""
        )
        lines.append(f'    "{model.__tablename__}": ({keys}),')
    lines.append("}")
    if source == "deskbridge.warehouse.tables":
        lines += [
            "# Digest of the DDL, descriptions and migration steps of every table (both modules).",
            f'CATALOG_DIGEST = "{catalog_digest()}"',
        ]
    return "\n".join(lines) + "\n"


CREATION = "src/deskbridge/warehouse/creation.py"


def render_creation() -> str:
    """The text of :mod:`deskbridge.warehouse.creation`: :func:`creation_script` as a constant."""
    script = creation_script()
    if '"""' in script or "\\" in script:  # a raw triple-quoted string could not hold it as is
        raise ValueError("the creation script holds a triple quote or a backslash")
    return "\n".join(
        [
            '"""What a new warehouse runs to reach the current schema: tables, views, descriptions.',
            "",
            "Generated from the SQLModel declarations by ``python -m deskbridge.warehouse.schema``; do not",
            "edit. ``tests/test_schema_columns.py`` fails when it drifts from them, or when a warehouse",
            "created from it differs from one the migration creates. A first run reads it instead of",
            "importing SQLModel.",
            '"""',
            "",
            f'SCRIPT = r"""\n{script}"""',
            "",
        ]
    )


def write_generated(root: Path) -> list[Path]:
    """Rewrite the generated modules under the source tree ``root``; returns their paths."""
    written = []
    for path, (source, models_) in GENERATED.items():
        target = root / path
        target.write_text(render_columns(source, models_))
        written.append(target)
    (root / CREATION).write_text(render_creation())
    return [*written, root / CREATION]


if __name__ == "__main__":
    for written in write_generated(Path(sys.argv[1] if len(sys.argv) > 1 else ".")):
        print(written)
