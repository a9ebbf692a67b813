"""SIGKILL a sync at several points; the next run ends equal to ground truth with no duplicates."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from conftest import CONTRACT_VENDORS
from deskbridge.testing import duplicate_keys, projection, truth_diff
from sandbox_proc import DESKBRIDGE, SandboxProcess

pytestmark = pytest.mark.slow
PAGE = {"kayako": {"page_size": 40}, "whmcs": {"page_size": 25}, "m4": {"reconcile_chunk": 25}}


def run_sync(config: Path, env: dict[str, str], *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([DESKBRIDGE, "sync", "-c", str(config), *extra], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.parametrize("vendor", CONTRACT_VENDORS)
def test_sigkill_at_several_points_then_resume(vendor: str, tmp_path: Path) -> None:
    """Kills during the first run and during incremental runs never leave a gap or a duplicate."""
    sandbox = SandboxProcess(vendor, "--tickets", "500", "--latency-ms", "15")
    try:
        config = tmp_path / "config.toml"
        env = sandbox.write_config(config, "crash", **PAGE.get(vendor, {}))
        for delay in (1.5, 2.5, 3.5):
            proc = run_sync(config, env)
            time.sleep(delay)
            proc.kill()
            proc.wait()
        for delay in (1.2, 2.0):
            sandbox.mutate(30)
            proc = run_sync(config, env)
            time.sleep(delay)
            proc.kill()
            proc.wait()
        final = run_sync(config, env)
        _, stderr = final.communicate(timeout=300)
        assert final.returncode == 0, stderr.decode()
        con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
        try:
            assert truth_diff(projection(con, "crash"), sandbox.truth()) == []
            assert duplicate_keys(con) == {}
            statuses = [s for (s,) in con.execute("SELECT status FROM sync_runs ORDER BY run_id").fetchall()]
        finally:
            con.close()
        assert statuses[-1] == "success"
        assert "interrupted" in statuses  # at least one kill landed mid-run
    finally:
        sandbox.stop()
