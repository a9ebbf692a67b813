"""``deskbridge warehouse migrate --to ducklake``: a file warehouse copied into a lake.

A user outgrowing one DuckDB file keeps everything the file knows (rows, history, cursor state,
runs, crosswalk and push tables, service state), so the next run goes on incrementally instead of
resyncing every helpdesk.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from deskbridge.sdk.errors import WarehouseError
from deskbridge.warehouse.dialect import KEYS
from deskbridge.warehouse.digest import RAW_DIGEST_SQL
from deskbridge.warehouse.lake import LakeSpec, LakeWarehouse
from deskbridge.warehouse.sqltext import literal


def copy_file_into(source: Path, spec: LakeSpec) -> dict[str, int]:
    """Copy the file warehouse at ``source`` into the empty lake ``spec``; rows per table.

    Every table goes over in one lake transaction: a failure leaves the lake as empty as it was.
    Run ids keep their numbers, and the catalog's run-id sequence continues after them.
    """
    wh = LakeWarehouse(spec)
    try:
        busy = wh.con.execute("SELECT count(*) FROM sync_runs").fetchone()
        if busy and busy[0]:
            raise WarehouseError(
                f"{spec.describe()} already holds {busy[0]} runs; migrate into an empty lake"
            )
        alias = f"source_{os.getpid()}_{threading.get_ident()}"
        wh.con.execute(f"ATTACH {literal(str(source))} AS {alias} (READ_ONLY)")
        try:
            counts = _copy_tables(wh, alias)
        finally:
            wh.con.execute(f"DETACH {alias}")
        if spec.postgres and counts.get("sync_runs"):
            top = wh.con.execute("SELECT max(run_id) FROM sync_runs").fetchone()
            seed_run_ids(spec.postgres, int(top[0]))  # type: ignore[index]
    finally:
        wh.close()
    return counts


def _copy_tables(wh: LakeWarehouse, alias: str) -> dict[str, int]:
    """Each table's columns the file has. An older file lacks newer ones: they stay empty, but
    for the payload digest, computed here as the migration would have."""
    have: dict[str, set[str]] = {}
    for table, column in wh.con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = ?", [alias]
    ).fetchall():
        have.setdefault(table, set()).add(column)
    counts: dict[str, int] = {}
    with wh.transaction():
        for table, (columns, _keys) in KEYS.items():
            # meta is the lake's own bookkeeping (schema version, comments digest)
            if table == "meta" or table not in have:
                continue
            digest = "raw_digest" in columns and "raw_digest" not in have[table]
            names = [c for c in columns if c in have[table] or (digest and c == "raw_digest")]
            picks = ", ".join(RAW_DIGEST_SQL if digest and c == "raw_digest" else c for c in names)
            cols = ", ".join(names)
            wh.con.execute(f"INSERT INTO {table} ({cols}) SELECT {picks} FROM {alias}.main.{table}")
            row = wh.con.execute(f"SELECT count(*) FROM {alias}.main.{table}").fetchone()
            counts[table] = int(row[0])  # type: ignore[index]
    return counts


def seed_run_ids(dsn: str, at_least: int) -> None:
    """Make the catalog's run-id sequence continue after ``at_least``."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute("CREATE SEQUENCE IF NOT EXISTS deskbridge_run_ids")
        pg.execute(
            "SELECT setval('deskbridge_run_ids', greatest(%s, "
            "(SELECT last_value FROM deskbridge_run_ids)))",
            [at_least],
        )
