"""Several `deskbridge serve` workers on one DuckLake: the work spreads, nothing runs twice at once."""

from __future__ import annotations

import itertools
import signal
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import CONTRACT_OPTIONS

from deskbridge.testing import NO_PG, duplicate_keys, pg_dsn, projection, scratch_lake, truth_diff
from deskbridge.warehouse.dialect import duplicate_keys as keyed_twice
from deskbridge.warehouse.lake import LakeSpec, LakeWarehouse

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
from service_proc import SandboxProcess, ServiceProcess, write_config

pytestmark = [pytest.mark.slow, pytest.mark.skipif(pg_dsn() is None, reason=NO_PG)]
VENDORS = ("kayako", "trackit", "m4", "omnidesk", "whmcs", "kayako")


@pytest.fixture(autouse=True)
def _kill_leftover_services() -> Iterator[None]:
    yield
    ServiceProcess.kill_all()


def lake_config(path: Path, boxes: dict[str, SandboxProcess], spec: LakeSpec) -> dict[str, str]:
    """The services' config.toml on the lake; returns the environment it needs."""
    env = write_config(path, boxes, '{ every = "2s" }', CONTRACT_OPTIONS, retries=3)
    text = path.read_text().split("\n", 2)[2]  # write_config's [warehouse] section: replaced
    path.write_text(
        f'[warehouse]\nbackend = "ducklake"\ncatalog = "env:LAKE_CATALOG"\n'
        f'data_path = "{spec.data_path}"\n\n{text}'
    )
    return {**env, "LAKE_CATALOG": spec.catalog}


def runs(spec: LakeSpec) -> list[tuple[Any, ...]]:
    with LakeWarehouse(spec, read_only=True) as wh:
        return wh.con.execute(
            "SELECT connection, run_id, status, started_at, ended_at, worker FROM sync_runs "
            "ORDER BY connection, started_at"
        ).fetchall()


def overlaps(records: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Runs of one connection that started before the previous one ended."""
    out = []
    for prev, run in itertools.pairwise(records):
        same = prev[0] == run[0]
        if same and prev[4] is not None and run[3] < prev[4]:
            out.append((prev, run))
    return out


def successes_after(records: list[tuple[Any, ...]], moment: datetime) -> set[str]:
    return {r[0] for r in records if r[2] == "success" and r[3] > moment}


def test_three_workers_share_six_connections_and_survive_a_sigkill(tmp_path: Path) -> None:
    """3 workers, 6 connections with latency; one worker SIGKILLed mid-run. Afterwards every
    connection equals its truth, no duplicates, and no two runs of a connection overlapped."""
    boxes = {
        f"c{i}_{v}": SandboxProcess(v, "--tickets", "30", "--latency-ms", "20")
        for i, v in enumerate(VENDORS)
    }
    try:
        with scratch_lake(tmp_path / "lake") as spec:
            LakeWarehouse(spec).close()  # the lake made once, as `warehouse migrate` would
            env = lake_config(tmp_path / "config.toml", boxes, spec)
            workers = [ServiceProcess(tmp_path / "config.toml", env) for _ in range(3)]
            workers[0].wait_event("sync.start", timeout=60)
            workers[0].proc.send_signal(signal.SIGKILL)
            workers[0].proc.wait()
            killed_at = datetime.now().astimezone()
            deadline = time.monotonic() + 120
            while successes_after(runs(spec), killed_at) != set(boxes):
                assert time.monotonic() < deadline, runs(spec)
                time.sleep(1)
            for worker in workers[1:]:
                assert worker.stop(signal.SIGTERM)[0] == 0
            records = runs(spec)
            with LakeWarehouse(spec, read_only=True) as wh:
                for name, box in boxes.items():
                    assert truth_diff(projection(wh.con, name), box.truth()) == [], name
                assert duplicate_keys(wh.con) == {}
                assert keyed_twice(wh.con) == {}  # every table, on the keys the file declares
    finally:
        for box in boxes.values():
            box.stop()
    assert overlaps(records) == []
    ran = {r[5] for r in records}
    assert len(ran) >= 2, ran  # the work spread over workers
    skipped = sum(len(w.events("run.skipped")) for w in workers[1:])
    print(f"\n{len(records)} runs by {len(ran)} workers, {skipped} slots skipped on a held lock")
