"""`deskbridge warehouse migrate --to ducklake`: a file warehouse goes into a lake unchanged."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from deskbridge.cli.app import app
from deskbridge.testing import NO_PG, duplicate_keys, pg_dsn, scratch_lake
from deskbridge.warehouse.dialect import KEYS
from deskbridge.warehouse.dialect import duplicate_keys as keyed_twice
from deskbridge.warehouse.lake import LakeSpec, LakeWarehouse

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "push"))
from pushkit import Pair, make_pair

pytestmark = pytest.mark.skipif(pg_dsn() is None, reason=NO_PG)


def content(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows but meta (each warehouse's own bookkeeping), sorted."""
    out = {}
    for table, (columns, _keys) in KEYS.items():
        if table != "meta":
            rows = con.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
            out[table] = sorted(rows, key=repr)
    return out


async def test_file_warehouse_migrates_into_a_lake_equal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows, history, cursors, runs, crosswalk and push tables arrive equal; the next cycle on
    the lake goes on from there: no write, no duplicate, run ids continue."""
    pair = make_pair(
        tmp_path, ("kayako", 8), ("kayako", 8), author={"a": "staff:1", "b": "staff:1"}
    )
    await pair.cycle()
    pair.emulators["a_side"].mutate(5)
    await pair.cycle()
    before = content(pair.wh.con)
    top = pair.wh.con.execute("SELECT max(run_id) FROM sync_runs").fetchone()
    pair.wh.close()
    assert before["crosswalk"] and before["sync_state"] and before["ticket_history"]

    with scratch_lake(tmp_path / "lake") as spec:
        monkeypatch.setenv("LAKE_CATALOG", spec.catalog)
        result = CliRunner().invoke(
            app,
            [
                "warehouse", "migrate", "--to", "ducklake", "--db", str(tmp_path / "push.duckdb"),
                "--catalog", "env:LAKE_CATALOG", "--data-path", str(spec.data_path),
                "-c", str(_config(tmp_path)),
            ],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        lake = LakeWarehouse(spec)
        try:
            assert content(lake.con) == before
            on_lake = Pair(pair.emulators, pair.settings, pair.link, lake)
            assert (await on_lake.cycle()).writes == 0
            assert duplicate_keys(lake.con) == {} and keyed_twice(lake.con) == {}
            (first,) = lake.con.execute(
                "SELECT min(run_id) FROM sync_runs WHERE run_id > ?", [top[0]]
            ).fetchone()
            assert first == top[0] + 1  # type: ignore[index]
        finally:
            lake.close()
        again = CliRunner().invoke(
            app, ["warehouse", "migrate", "--to", "ducklake", "--db", str(tmp_path / "push.duckdb"),
                  "--catalog", "env:LAKE_CATALOG", "--data-path", str(spec.data_path),
                  "-c", str(_config(tmp_path))],
        )  # fmt: skip
        assert again.exit_code == 1 and "migrate into an empty lake" in again.output


def test_a_file_from_before_payload_digests_arrives_with_them(tmp_path: Path) -> None:
    """A file warehouse without ``raw_digest`` (schema 3) goes into the lake with each row's digest
    filled in, as opening the file would have: the lake's next read of them rewrites nothing."""
    from deskbridge.sdk.contract import Batch
    from deskbridge.warehouse.digest import RAW_DIGEST_SQL
    from deskbridge.warehouse.lakecopy import copy_file_into
    from deskbridge.warehouse.store import Warehouse

    path = tmp_path / "old.duckdb"
    with Warehouse(path) as wh:
        run_id, started = wh.start_run("c", False)
        rows = {
            "tickets": [{"source_id": "1", "subject": "s", "raw": {"id": 1}}],
            "notes": [{"source_id": "n1", "ticket_id": "1", "body": "b", "raw": {"id": "n1"}}],
        }
        wh.apply_batch("c", run_id, started, Batch(rows=rows), {})
        for entity in ("tickets", "notes", "time_entries", "people", "attachments"):
            wh.con.execute(f"ALTER TABLE {entity} DROP COLUMN raw_digest")
    with scratch_lake(tmp_path / "lake") as spec:
        copy_file_into(path, spec)
        lake = LakeWarehouse(spec)
        try:
            digests = [
                lake.con.execute(
                    f"SELECT source_id, raw_digest, {RAW_DIGEST_SQL} FROM {entity}"
                ).fetchall()
                for entity in ("tickets", "notes")
            ]
        finally:
            lake.close()
    assert [[(sid, a == b and a is not None) for sid, a, b in rows] for rows in digests] == [
        [("1", True)],
        [("n1", True)],
    ]


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text("")
    return path


def test_lake_spec_names_the_catalog_without_its_password() -> None:
    spec = LakeSpec("dbname=lake host=db password=hunter2", Path("/data"))
    assert spec.describe() == "ducklake dbname=lake host=db password=*** data /data"
    assert spec.attach_sql() == (
        "ATTACH 'ducklake:postgres:dbname=lake host=db password=hunter2' AS lake "
        "(DATA_PATH '/data')"
    )
