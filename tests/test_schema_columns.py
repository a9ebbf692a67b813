"""The schema without SQLModel: the generated column tables stay equal to the declarations, a
warehouse at the current schema opens without migrating, and a sync on one never imports
SQLModel or SQLAlchemy (through the real CLI, against an emulator over loopback): start-up is
the floor of every incremental run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from deskbridge.sandbox import build_emulator, start_in_thread
from deskbridge.sdk import canonical, models
from deskbridge.warehouse import layout, schema
from deskbridge.warehouse.store import Warehouse

ROOT = Path(__file__).resolve().parents[1]


def test_generated_column_tables_are_the_declarations() -> None:
    """sdk/columns.py and warehouse/columns.py are what the SQLModel declarations generate."""
    for path, (source, declared) in schema.GENERATED.items():
        assert (ROOT / path).read_text() == schema.render_columns(source, declared), (
            f"{path} drifted from {source}; regenerate with: python -m deskbridge.warehouse.schema"
        )


def test_generated_creation_script_is_the_migration() -> None:
    """warehouse/creation.py is what the migration generates for an empty warehouse."""
    assert (ROOT / schema.CREATION).read_text() == schema.render_creation(), (
        f"{schema.CREATION} drifted; regenerate with: python -m deskbridge.warehouse.schema"
    )


def catalog(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[object, ...]]]:
    """Everything a warehouse's schema is: tables, columns, keys, views, comments, sequences,
    and ``meta`` but the time it was migrated."""
    here = "database_name = current_database()"
    queries = {
        "tables": f"SELECT table_name, comment, sql FROM duckdb_tables() WHERE {here}",
        "columns": "SELECT table_name, column_index, column_name, data_type, is_nullable, "
        f"column_default, comment FROM duckdb_columns() WHERE {here}",
        "constraints": "SELECT table_name, constraint_type, constraint_column_names "
        f"FROM duckdb_constraints() WHERE {here}",
        "views": f"SELECT view_name, comment, sql FROM duckdb_views() WHERE {here}",
        "sequences": "SELECT sequence_name, start_value, increment_by FROM duckdb_sequences() "
        f"WHERE {here}",
        "meta": "SELECT key, value FROM meta WHERE key <> 'migrated_at'",
    }
    return {name: sorted(con.execute(sql).fetchall(), key=repr) for name, sql in queries.items()}


def test_a_new_warehouse_is_what_the_migration_makes_of_an_empty_one(tmp_path: Path) -> None:
    """A new warehouse file is created from the generated script, without SQLModel; the result
    equals what the migration from the declarations makes of an empty database, key for key."""
    with Warehouse(tmp_path / "new.duckdb") as wh:
        created = catalog(wh.con)
        assert meta(wh)["schema_version"] == str(canonical.SCHEMA_VERSION)
    con = duckdb.connect(str(tmp_path / "migrated.duckdb"))
    try:
        schema.migrate(con)
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [layout.KEY, layout.schema_key()])
        assert catalog(con) == created
        assert len(created["columns"]) > 100 and created["constraints"]
    finally:
        con.close()


def test_canonical_fields_and_columns_are_the_models() -> None:
    """Row hashes read canonical_fields: the same fields, in the same order, as the models'."""
    skip = {"connection", "source_id", *canonical.BOOKKEEPING}
    for entity, model in models.ENTITY_MODELS.items():
        assert canonical.canonical_fields(entity) == tuple(
            name for name in model.model_fields if name not in skip
        )
        assert canonical.column_names(entity) == set(model.model_fields)
    with pytest.raises(KeyError):
        canonical.canonical_fields("ticket_fields")


def test_arrow_schemas_are_the_models() -> None:
    for model in schema.TABLES:
        name = model.__table__.name  # type: ignore[attr-defined]
        assert layout.arrow_schema(name) == schema.arrow_schema(model)


def meta(wh: Warehouse) -> dict[str, str]:
    return dict(wh.con.execute("SELECT key, value FROM meta").fetchall())


def test_a_current_warehouse_opens_without_migrating(tmp_path: Path) -> None:
    """Reopened as is, nothing is migrated; a missing view, a stale key or an older version is."""
    path = tmp_path / "w.duckdb"
    with Warehouse(path) as wh:
        first = meta(wh)
    assert first[layout.KEY] == layout.schema_key()
    with Warehouse(path) as wh:
        assert meta(wh) == first  # migrated_at unchanged: no migration ran
        wh.con.execute("DROP VIEW current_tickets")
    with Warehouse(path) as wh:
        assert layout.current(wh.con)
        assert meta(wh)["migrated_at"] != first["migrated_at"]
        wh.con.execute("UPDATE meta SET value = 'stale' WHERE key = ?", [layout.KEY])
    with Warehouse(path) as wh:
        assert meta(wh)[layout.KEY] == layout.schema_key()


HEAVY = ["pyarrow", "sqlalchemy", "sqlmodel"]
# starlette: an emulator's web stack, no part of a sync; click: httpx's own command line
WATCHED = [*HEAVY, "starlette", "click"]
# Runs the `deskbridge` console script's `sync` in this process, then names the packages of
# argv it imported and whether the garbage collector is on again.
DRIVER = """
import gc, json, sys
from deskbridge.cli.launch import main
watched, sys.argv, code = set(sys.argv[1:]), ["deskbridge", "sync"], 0
try:
    main()
except SystemExit as exc:
    code = exc.code
heavy = sorted({m.split(".")[0] for m in sys.modules if sys.modules[m]} & watched)
dataset = "pyarrow.dataset" in sys.modules
print("IMPORTED " + json.dumps({"code": code, "heavy": heavy, "gc": gc.isenabled(), "dataset": dataset}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("vendor", ["kayako", "omnidesk"])
def test_sync_on_a_current_warehouse_imports_no_sqlmodel(tmp_path: Path, vendor: str) -> None:
    """The first sync creates the warehouse (from the generated script, no SQLModel) and writes
    (Arrow); the next one, which finds nothing new, imports neither. Neither imports the
    emulators' web stack nor httpx's command line, nor pyarrow.dataset (rows reach DuckDB
    through the Arrow C stream), and both end with the garbage collector on."""
    sandbox = start_in_thread(build_emulator(vendor, seed=3, tickets=5))
    try:
        creds = sandbox.emulator.credentials()
        env = {**os.environ, **{f"COLS_{k.upper()}": v for k, v in creds.items()}}
        (tmp_path / "config.toml").write_text(
            f'[warehouse]\npath = "w.duckdb"\n\n[connections.desk]\ntype = "{vendor}"\n'
            f'base_url = "{sandbox.base_url}"\ncredentials = {{ '
            + ", ".join(f'{k} = "env:COLS_{k.upper()}"' for k in creds)
            + " }\n"
        )
        runs = [
            subprocess.run(
                [sys.executable, "-c", DRIVER, *WATCHED],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=120,
                env=env,
            )
            for _ in range(2)
        ]
    finally:
        sandbox.stop()
    reports = [
        json.loads(run.stdout.rsplit("IMPORTED ", 1)[1]) if "IMPORTED " in run.stdout else run
        for run in runs
    ]
    assert reports == [
        {"code": 0, "heavy": ["pyarrow"], "gc": True, "dataset": False},
        {"code": 0, "heavy": [], "gc": True, "dataset": False},
    ]
