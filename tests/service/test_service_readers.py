"""Analysts read the snapshot in a loop while the service completes 20 scheduled runs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import CONTRACT_OPTIONS
from service_proc import SandboxProcess, ServiceProcess, query, write_config

from deskbridge import registry
from deskbridge.testing import duplicate_keys, projection, truth_diff

pytestmark = pytest.mark.slow

READER = Path(__file__).with_name("snapshot_reader.py")
RUNS = 20
# Kayako, and Omnidesk once its connector is installed: two connections share one writer.
VENDORS = ["kayako", *(v for v in ("omnidesk",) if v in registry.complete())]


@pytest.fixture(autouse=True)
def _kill_leftover_services() -> Iterator[None]:
    yield
    ServiceProcess.kill_all()


def test_readers_never_see_an_error_or_a_half_written_state(tmp_path: Path) -> None:
    """20 runs with agent changes between them; a reader never errs and never sees a partial run."""
    boxes = {f"{v}_desk": SandboxProcess(v, "--tickets", "20") for v in VENDORS}
    snapshot = tmp_path / "warehouse.snapshot.duckdb"
    stop, result = tmp_path / "stop", tmp_path / "reader.json"
    reader: subprocess.Popen[bytes] | None = None
    try:
        env = write_config(tmp_path / "config.toml", boxes, '{ every = "1s" }', CONTRACT_OPTIONS)
        reader = subprocess.Popen(
            [sys.executable, str(READER), str(snapshot), str(stop), str(result)]
        )
        service = ServiceProcess(tmp_path / "config.toml", env)
        seen = 0
        while seen < RUNS:
            seen = total_runs(service.wait_for(more_runs_than(seen), timeout=60))
            for box in boxes.values():
                box.mutate(3)
        # each connection finishes two more runs: the second one began after the last change
        after = {c["connection"]: c["runs"] + 2 for c in service.health()[1]["connections"]}
        service.wait_for(
            lambda b: all(c["runs"] >= after[c["connection"]] for c in b["connections"]), timeout=90
        )
        code, seconds = service.stop()
        stop.touch()
        reader.wait(timeout=30)
        summary = json.loads(result.read_text())
        truths = {name: box.truth() for name, box in boxes.items()}
    finally:
        stop.touch()
        if reader is not None and reader.poll() is None:
            reader.kill()
        for box in boxes.values():
            box.stop()
    assert code == 0 and seconds < 10
    assert summary["errors"] == [] and summary["violations"] == []
    assert summary["queries"] > 200 and len(summary["snapshots"]) >= RUNS // 2
    statuses = dict(
        query(tmp_path / "warehouse.duckdb", "SELECT status, count(*) FROM sync_runs GROUP BY 1")
    )
    assert statuses["success"] >= RUNS and set(statuses) <= {"success", "interrupted"}
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        for name, truth in truths.items():
            assert truth_diff(projection(con, name), truth) == []
        assert duplicate_keys(con) == {}
    finally:
        con.close()
    print(
        f"\nreader: {summary['iterations']} iterations, {summary['queries']} queries, "
        f"{len(summary['snapshots'])} snapshots, {len(summary['errors'])} errors; "
        f"runs: {statuses}; shutdown {seconds:.2f}s"
    )


def total_runs(body: dict[str, Any]) -> int:
    return sum(c["runs"] for c in body["connections"])


def more_runs_than(n: int) -> Callable[[dict[str, Any]], bool]:
    return lambda body: total_runs(body) > n
