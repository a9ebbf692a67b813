"""The commands a user runs, end to end over real loopback sockets: sandbox, check, sync, status."""

from __future__ import annotations

import subprocess
from pathlib import Path

import duckdb
import pytest
from sandbox_proc import DESKBRIDGE, SandboxProcess

from deskbridge.testing import duplicate_keys, projection, truth_diff

pytestmark = pytest.mark.slow


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DESKBRIDGE, *args], env=env, capture_output=True, text=True, timeout=180)


def test_kayako_sandbox_check_sync_status(tmp_path: Path) -> None:
    """check passes, sync equals the sandbox's truth, a second sync is incremental, status reports it."""
    sandbox = SandboxProcess("kayako", "--tickets", "150")
    try:
        config = tmp_path / "config.toml"
        env = sandbox.write_config(config, "support", closed_reconcile_every="0s")
        checked = run("check", "-c", str(config), env=env)
        assert checked.returncode == 0 and "ok" in checked.stdout, checked.stdout + checked.stderr
        first = run("sync", "-c", str(config), env=env)
        assert first.returncode == 0, first.stderr
        assert "✓ support" in first.stdout
        sandbox.mutate(20)
        second = run("sync", "support", "-c", str(config), env=env)
        assert second.returncode == 0, second.stderr
        status = run("status", "-c", str(config), env=env)
        assert status.returncode == 0 and "support" in status.stdout and "success" in status.stdout
        con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
        try:
            assert truth_diff(projection(con, "support"), sandbox.truth()) == []
            assert duplicate_keys(con) == {}
            requests = con.execute("SELECT requests FROM sync_runs ORDER BY run_id").fetchall()
        finally:
            con.close()
        assert requests[1][0] < requests[0][0] / 4  # the second run fetched what changed
    finally:
        sandbox.stop()


def test_wrong_secret_fails_check_and_sync_clearly(tmp_path: Path) -> None:
    """A wrong secret: check and sync exit non-zero with the vendor's words and no secret shown."""
    sandbox = SandboxProcess("kayako", "--tickets", "20")
    try:
        config = tmp_path / "config.toml"
        env = sandbox.write_config(config, "support")
        env["E2E_SUPPORT_SECRET_KEY"] = "not-the-secret-at-all"
        checked = run("check", "-c", str(config), env=env)
        assert checked.returncode == 1 and "FAILED TO AUTHENTICATE" in checked.stdout
        synced = run("sync", "-c", str(config), env=env)
        assert synced.returncode == 1 and "FAILED TO AUTHENTICATE" in synced.stdout
        assert "not-the-secret-at-all" not in synced.stdout + synced.stderr + checked.stdout
    finally:
        sandbox.stop()


def test_bad_config_names_the_key(tmp_path: Path) -> None:
    """An unknown connector type exits 2 with one line naming the key."""
    config = tmp_path / "config.toml"
    config.write_text('[connections.x]\ntype = "zendesk"\nbase_url = "http://h"\n')
    result = run("sync", "-c", str(config), env={})
    assert result.returncode == 2
    assert "connections.x.type: unknown connector type 'zendesk'" in result.stderr
