"""A run slower than its interval is never started twice, and failing runs back off."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from service_proc import DESKBRIDGE, SandboxProcess, ServiceProcess, query, write_config

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _kill_leftover_services() -> Iterator[None]:
    yield
    ServiceProcess.kill_all()


def test_slow_run_is_never_started_twice(tmp_path: Path) -> None:
    """With requests 300 ms late runs outlast their 1 s interval: fires skip, runs never overlap."""
    box = SandboxProcess("kayako", "--tickets", "20")
    db = tmp_path / "warehouse.duckdb"
    try:
        box.knobs(latency_ms=300)
        env = write_config(tmp_path / "config.toml", {"desk": box}, '{ every = "1s" }', {})
        service = ServiceProcess(tmp_path / "config.toml", env)
        body = service.wait_for(lambda b: b["connections"][0]["runs"] >= 3, timeout=90)
        assert service.stop()[0] == 0
    finally:
        box.stop()
    assert body["connections"][0]["skipped_overlaps"] >= 2
    spans = query(
        db, "SELECT started_at, ended_at FROM sync_runs WHERE status = 'success' ORDER BY run_id"
    )
    assert len(spans) >= 3 and all(end - start > timedelta(seconds=1) for start, end in spans)
    assert all(later[0] >= earlier[1] for earlier, later in pairwise(spans))


def status_while_backing_off(
    service: ServiceProcess, config: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """``deskbridge status`` run wholly inside one backoff wait, which it must then show.

    Started once the run before the wait has closed the warehouse (``running`` is false) and
    ended before ``backoff_until``: no run can start, or hold the warehouse, in between. A status
    that outlasts the wait (a busy machine) proves nothing either way: the next wait is used.
    """
    for _ in range(5):
        body = service.wait_for(lambda b: not b["connections"][0]["running"], timeout=60)
        conn = body["connections"][0]
        until = datetime.fromisoformat(conn["backoff_until"])
        shown = subprocess.run(
            [DESKBRIDGE, "status", "-c", str(config)],
            env={**env, "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        if datetime.now(UTC) < until:
            return shown
        service.wait_for(
            lambda b, seen=conn["consecutive_failures"]: (
                b["connections"][0]["consecutive_failures"] > seen
            ),
            timeout=60,
        )
    raise AssertionError("deskbridge status never ended within a backoff wait")


def test_failing_runs_back_off_and_show_in_status(tmp_path: Path) -> None:
    """Failing runs wait 1, 2, 4, 8 s between tries, shown by health and status; success resets."""
    box = SandboxProcess("kayako", "--tickets", "20")
    db = tmp_path / "warehouse.duckdb"
    config = tmp_path / "config.toml"
    backoff = ("--backoff-base", "1s", "--backoff-max", "8s")
    try:
        box.knobs(fail_every_n=1)
        env = write_config(config, {"desk": box}, '{ every = "1s" }', {}, retries=0)
        service = ServiceProcess(config, env, *backoff)
        service.wait_for(lambda b: b["connections"][0]["consecutive_failures"] >= 4, timeout=60)
        shown = status_while_backing_off(service, config, env)
        code, body = service.health()
        assert service.stop()[0] == 0
        assert (
            code == 503 and body["status"] == "failing" and body["connections"][0]["backoff_until"]
        )
        assert service.events("run.backoff")
        assert shown.returncode == 0 and "backing off until" in shown.stdout, shown.stdout

        spans = query(
            db, "SELECT started_at, ended_at FROM sync_runs WHERE status = 'failed' ORDER BY run_id"
        )
        waits = [(later[0] - earlier[1]).total_seconds() for earlier, later in pairwise(spans)]
        assert len(waits) >= 3 and all(
            w >= want for w, want in zip(waits, (1, 2, 4, 8), strict=False)
        ), waits

        box.knobs(fail_every_n=0)
        service = ServiceProcess(config, env, *backoff)
        body = service.wait_for(
            lambda b: b["connections"][0]["last_status"] == "success", timeout=60
        )
        code, after = service.health()
        assert service.stop()[0] == 0
    finally:
        box.stop()
    assert code == 200 and after["connections"][0]["consecutive_failures"] == 0
    assert after["connections"][0]["backoff_until"] is None
    assert query(db, "SELECT backoff_until FROM service_state") == [(None,)]
    assert os.path.exists(tmp_path / "warehouse.snapshot.duckdb")
