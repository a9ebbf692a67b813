"""SIGKILL a sync at several points; the next run ends equal to ground truth with no duplicates."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import duckdb
import pytest
from conftest import CONTRACT_VENDORS
from sandbox_proc import DESKBRIDGE, SandboxProcess

from deskbridge.testing import duplicate_keys, projection, truth_diff

pytestmark = pytest.mark.slow
PAGE = {
    "kayako": {"page_size": 40, "closed_reconcile_every": "0s"},
    "omnidesk": {"page_size": 20, "listing_page_size": 100},
    "whmcs": {"page_size": 25},
    "m4": {"reconcile_chunk": 25},
    "trackit": {"batch_size": 25, "closed_reconcile_every": "0s"},
}


def run_sync(config: Path, env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen(
            [DESKBRIDGE, "--log-level", "info", "--log-json", "sync", "-c", str(config), *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )


def kill_after_start(
    config: Path, env: dict[str, str], log: Path, delay: float, *args: str
) -> None:
    """Start a sync (with ``args``), wait until its run has begun, let it work ``delay`` seconds, SIGKILL it."""
    proc = run_sync(config, env, log, *args)
    deadline = time.monotonic() + 60
    while (
        b"sync.start" not in log.read_bytes()
        and proc.poll() is None
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    time.sleep(delay)
    proc.kill()
    proc.wait()


@pytest.mark.parametrize("vendor", CONTRACT_VENDORS)
def test_sigkill_at_several_points_then_resume(vendor: str, tmp_path: Path) -> None:
    """Kills during the first run and during incremental runs never leave a gap or a duplicate."""
    sandbox = SandboxProcess(vendor, "--tickets", "500", "--latency-ms", "15")
    try:
        config = tmp_path / "config.toml"
        env = sandbox.write_config(config, "crash", **PAGE.get(vendor, {}))
        log = tmp_path / "sync.log"
        for delay in (0.3, 1.0, 2.0):
            kill_after_start(config, env, log, delay)
        for delay in (0.2, 0.8):
            sandbox.mutate(30)
            kill_after_start(config, env, log, delay)
        final = run_sync(config, env, log)
        assert final.wait(timeout=300) == 0, log.read_text()
        con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
        try:
            assert truth_diff(projection(con, "crash"), sandbox.truth()) == []
            assert duplicate_keys(con) == {}
            statuses = [
                s for (s,) in con.execute("SELECT status FROM sync_runs ORDER BY run_id").fetchall()
            ]
        finally:
            con.close()
        assert statuses[-1] == "success"
        assert "interrupted" in statuses  # at least one kill landed mid-run
    finally:
        sandbox.stop()
