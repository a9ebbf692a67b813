"""``deskbridge export``: every table and view of a warehouse file as Parquet, one file each."""

from __future__ import annotations

from pathlib import Path

import duckdb

from deskbridge.warehouse.sqltext import literal

FORMATS = {"parquet": "(FORMAT parquet, COMPRESSION zstd)"}


def relations(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Names of the tables and views in the main schema, tables first."""
    tables = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND database_name = current_database() AND NOT internal "
        "ORDER BY 1"
    ).fetchall()
    views = con.execute(
        "SELECT view_name FROM duckdb_views() WHERE schema_name = 'main' AND database_name = current_database() AND NOT internal "
        "ORDER BY 1"
    ).fetchall()
    return [name for (name,) in tables + views]


def export(
    con: duckdb.DuckDBPyConnection, out_dir: Path, fmt: str = "parquet"
) -> list[tuple[str, int, Path]]:
    """Write each relation to ``out_dir/<name>.<fmt>``; returns (name, rows, file) per relation."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; known: {', '.join(FORMATS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in relations(con):
        target = out_dir / f"{name}.{fmt}"
        rows = con.execute(
            f"COPY (SELECT * FROM {name}) TO {literal(str(target))} {FORMATS[fmt]}"
        ).fetchone()
        written.append((name, int(rows[0]) if rows else 0, target))
    return written
