"""The analysts' catalog: views, and descriptions of every table, view and column.

Descriptions are written with ``COMMENT ON``, so they travel with the file and show up in
``duckdb_tables()``, ``duckdb_views()``, ``duckdb_columns()`` and in BI tools that read them.
Installing is skipped when nothing changed since the last install, which keeps opening cheap.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

import duckdb

from deskbridge.warehouse.sqltext import literal
from deskbridge.warehouse.transaction import transaction
from deskbridge.warehouse.views import VIEWS, View

DIGEST_KEY = "catalog_digest"


def install(
    con: duckdb.DuckDBPyConnection,
    tables: Mapping[str, str],
    columns: Iterable[tuple[str, str, str, str]],
) -> None:
    """Create or replace every view and write all descriptions (``columns``: schema.describe())."""
    statements, digest = catalog(tables, columns)
    if _installed(con) == digest:
        return
    with transaction(con):
        for statement in statements:
            con.execute(statement)
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [DIGEST_KEY, digest])


def catalog(
    tables: Mapping[str, str], columns: Iterable[tuple[str, str, str, str]]
) -> tuple[list[str], str]:
    """The statements that create every view and write every description, and their digest."""
    statements = [*_view_statements(VIEWS), *_table_comments(tables, columns)]
    return statements, hashlib.blake2b("\n".join(statements).encode(), digest_size=16).hexdigest()


def _installed(con: duckdb.DuckDBPyConnection) -> str | None:
    have = {
        name
        for (name,) in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal"
        ).fetchall()
    }
    if not {v.name for v in VIEWS} <= have:
        return None
    row = con.execute("SELECT value FROM meta WHERE key = ?", [DIGEST_KEY]).fetchone()
    return row[0] if row else None


def _view_statements(views: Iterable[View]) -> list[str]:
    out = []
    for view in views:
        out.append(f"CREATE OR REPLACE VIEW {view.name} AS {view.sql.strip()}")
        out.append(f"COMMENT ON VIEW {view.name} IS {literal(view.description)}")
        out += [
            f"COMMENT ON COLUMN {view.name}.{c} IS {literal(m)}" for c, m in view.columns.items()
        ]
    return out


def _table_comments(
    tables: Mapping[str, str], columns: Iterable[tuple[str, str, str, str]]
) -> list[str]:
    out = [f"COMMENT ON TABLE {name} IS {literal(text)}" for name, text in tables.items()]
    out += [f"COMMENT ON COLUMN {t}.{c} IS {literal(m)}" for t, c, _type, m in columns if m]
    return out
