"""Analysts on a lake: query, export and status read the snapshot of the last successful run."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from deskbridge.cli.app import app
from deskbridge.pull import engine
from deskbridge.sandbox import build_emulator, sandbox_connection
from deskbridge.testing import NO_PG, pg_dsn, scratch_lake
from deskbridge.warehouse.dialect import duplicate_keys
from deskbridge.warehouse.lake import LakeWarehouse
from deskbridge.warehouse.store import worker_id

pytestmark = pytest.mark.skipif(pg_dsn() is None, reason=NO_PG)


async def test_readers_see_the_recorded_snapshot_not_later_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = build_emulator("kayako", tickets=12)
    conn = sandbox_connection(emulator, "http://testserver", name="desk", retries=1)
    transport = httpx.ASGITransport(app=emulator.app)
    with scratch_lake(tmp_path / "lake") as spec:
        wh = LakeWarehouse(spec)
        try:
            first = await engine.sync(wh, conn, transport=transport)
            wh.record_snapshot(first.run_id)  # what serve does after a successful run
            await engine.sync(wh, conn, transport=transport)  # a later run, not yet recorded
            assert duplicate_keys(wh.con) == {}
        finally:
            wh.close()
        monkeypatch.setenv("LAKE_CATALOG", spec.catalog)
        config = tmp_path / "config.toml"
        config.write_text(
            f'[warehouse]\nbackend = "ducklake"\ncatalog = "env:LAKE_CATALOG"\n'
            f'data_path = "{spec.data_path}"\n'
        )
        cli = CliRunner()
        query = cli.invoke(
            app, ["query", "SELECT run_id FROM sync_runs", "--json", "-c", str(config)]
        )
        status = cli.invoke(app, ["status", "--json", "-c", str(config)])
        export = cli.invoke(app, ["export", str(tmp_path / "out"), "-c", str(config)])
        refused = cli.invoke(app, ["query", "DELETE FROM tickets", "-c", str(config)])
    assert query.exit_code == 0, query.output
    assert json.loads(query.output) == [{"run_id": first.run_id}]  # the pinned snapshot
    assert status.exit_code == 0, status.output
    (shown,) = json.loads(status.output)["connections"]
    assert (shown["connection"], shown["last_run_id"], shown["last_worker"]) == (
        "desk",
        first.run_id,
        worker_id(),
    )
    assert export.exit_code == 0, export.output
    assert (tmp_path / "out" / "tickets.parquet").exists()
    assert refused.exit_code == 1 and "read-only" in refused.output.lower(), refused.output
