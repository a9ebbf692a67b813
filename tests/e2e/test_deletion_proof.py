"""A deletion needs proof: an interrupted full refresh (SIGKILL, or a burst of 500s), then plain
syncs, leave the warehouse equal to ground truth with nothing wrongly deleted."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pytest

from conftest import CONTRACT_VENDORS
from deskbridge.testing import duplicate_keys, projection, truth_diff
from sandbox_proc import SandboxProcess
from test_crash_resume import PAGE, kill_after_start, run_sync

pytestmark = pytest.mark.slow


def check(tmp_path: Path, sandbox: SandboxProcess) -> None:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        assert truth_diff(projection(con, "proof"), sandbox.truth()) == []
        assert duplicate_keys(con) == {}
        held = con.execute("SELECT count(*) FROM suspected_deletions WHERE state = 'held'").fetchone()
        unproven = con.execute(
            "SELECT count(*) FROM tickets WHERE deleted_at IS NOT NULL AND deleted_proof <> 'not_found'"
        ).fetchone()
    finally:
        con.close()
    assert held == (0,) and unproven == (0,)


@pytest.mark.parametrize("vendor", CONTRACT_VENDORS)
def test_full_refresh_killed_or_failing_then_plain_syncs_deletes_nothing_wrongly(vendor: str, tmp_path: Path) -> None:
    """SIGKILLs at several points of a full refresh, then a burst of 500s in another: plain syncs
    after them end equal to ground truth, every deletion proven by the vendor."""
    sandbox = SandboxProcess(vendor, "--tickets", "300", "--latency-ms", "10")
    try:
        config = tmp_path / "config.toml"
        env = sandbox.write_config(config, "proof", **PAGE.get(vendor, {}))
        log = tmp_path / "sync.log"
        assert run_sync(config, env, log).wait(timeout=300) == 0, log.read_text()
        for delay in (0.4, 1.2):
            kill_after_start(config, env, log, delay, "--full-refresh")
            assert run_sync(config, env, log).wait(timeout=300) == 0, log.read_text()
        sandbox.mutate(20)  # real deletions among the changes must still be found
        proc = run_sync(config, env, log, "--full-refresh")
        time.sleep(0.6)
        sandbox.knobs(fail_every_n=1)  # every request answers 500 until the run gives up
        proc.wait(timeout=300)
        sandbox.knobs(fail_every_n=0)
        for _ in range(2):
            assert run_sync(config, env, log).wait(timeout=300) == 0, log.read_text()
        check(tmp_path, sandbox)
    finally:
        sandbox.stop()
