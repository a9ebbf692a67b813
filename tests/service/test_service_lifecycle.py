"""Stopping and restarting the service: SIGTERM mid-run, resuming, missed runs after downtime."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from conftest import CONTRACT_OPTIONS
from service_proc import SandboxProcess, ServiceProcess, query, write_config

from deskbridge.testing import duplicate_keys, projection, truth_diff

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _kill_leftover_services() -> Iterator[None]:
    yield
    ServiceProcess.kill_all()


def runs(db: Path) -> list[tuple[int, str]]:
    return query(db, "SELECT run_id, status FROM sync_runs ORDER BY run_id")  # type: ignore[return-value]


def test_sigterm_mid_run_then_restart_ends_equal_to_truth(tmp_path: Path) -> None:
    """SIGTERM mid-run exits 0 promptly keeping what was complete; a restart finishes the job."""
    box = SandboxProcess("kayako", "--tickets", "300", "--latency-ms", "20")
    db = tmp_path / "warehouse.duckdb"
    try:
        options = {"kayako": {**CONTRACT_OPTIONS["kayako"], "page_size": 20}}
        env = write_config(tmp_path / "config.toml", {"desk": box}, '{ every = "1h" }', options)
        service = ServiceProcess(tmp_path / "config.toml", env, log_level="debug")
        # reads run ahead of the commits, so the first checkpoint lands some 100 requests in
        service.wait_event("http.request", timeout=30, count=150)
        code, seconds = service.stop(signal.SIGTERM)
        assert (code, runs(db)) == (0, [(1, "interrupted")])
        assert seconds < 10
        (counts,) = query(db, "SELECT counts FROM sync_runs")[0]
        kept = query(db, "SELECT count(*) FROM tickets")[0][0]
        assert 0 < kept < 300 and '"tickets.read"' in counts

        service = ServiceProcess(tmp_path / "config.toml", env)
        service.wait_for(lambda b: b["connections"][0]["last_status"] == "success", timeout=90)
        code, _ = service.stop(signal.SIGINT)
        assert code == 0
        con = duckdb.connect(str(db), read_only=True)
        try:
            assert truth_diff(projection(con, "desk"), box.truth()) == []
            assert duplicate_keys(con) == {}
        finally:
            con.close()
        assert runs(db) == [(1, "interrupted"), (2, "success")]
    finally:
        box.stop()
    print(f"\nSIGTERM mid-run: exit {code} after {seconds:.2f}s with {kept} tickets kept")


def test_missed_slots_after_downtime_run_once(tmp_path: Path) -> None:
    """After downtime spanning hourly slots the service runs once on start, then waits a slot."""
    box = SandboxProcess("kayako", "--tickets", "20")
    db = tmp_path / "warehouse.duckdb"
    try:
        env = write_config(
            tmp_path / "config.toml", {"desk": box}, '{ every = "1h" }', CONTRACT_OPTIONS
        )
        service = ServiceProcess(tmp_path / "config.toml", env)
        service.wait_for(lambda b: b["connections"][0]["runs"] == 1, timeout=60)
        assert service.stop()[0] == 0

        con = duckdb.connect(str(db))
        con.execute(
            "UPDATE sync_runs SET started_at = started_at - INTERVAL 5 HOUR, "
            "ended_at = ended_at - INTERVAL 5 HOUR"
        )
        con.close()
        service = ServiceProcess(tmp_path / "config.toml", env)
        service.wait_for(lambda b: b["connections"][0]["runs"] == 1, timeout=60)
        _, body = service.health()
        assert service.stop()[0] == 0
        assert runs(db) == [(1, "success"), (2, "success")]
        state = body["connections"][0]
        planned = datetime.fromisoformat(state["next_run_at"]) - datetime.fromisoformat(
            state["last_started_at"]
        )
        assert abs(planned.total_seconds() - 3600) < 5  # the next slot, an hour on

        service = ServiceProcess(tmp_path / "config.toml", env)  # nothing missed: no run on start
        planned = service.events("service.started")[0]["next_runs"]["desk"]
        assert service.stop()[0] == 0
        assert runs(db) == [(1, "success"), (2, "success")]
        (started,) = query(db, "SELECT started_at FROM sync_runs WHERE run_id = 2")[0]
        assert abs((datetime.fromisoformat(planned) - started).total_seconds() - 3600) < 1
    finally:
        box.stop()
