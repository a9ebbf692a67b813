"""Safe defaults through the real CLI over loopback sandboxes: config, pull-only sync, Ctrl-C, snapshot."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest
from e2e.sandbox_proc import DESKBRIDGE, SandboxProcess

from deskbridge.warehouse.status import status_of

pytestmark = pytest.mark.slow
START = "start with: cp config.example.toml config.toml"


def run(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DESKBRIDGE, *args],
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
    )


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_no_config_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    """Without a config file every command that needs one exits 2 naming where it looked; DESKBRIDGE_CONFIG is honoured."""
    default = f"error: no config file at {tmp_path / 'config.toml'} (the default; give --config or set DESKBRIDGE_CONFIG); {START}"
    for command in (
        ["sync"],
        ["check"],
        ["push"],
        ["status"],
        ["serve"],
        ["migrate", "--from", "a", "--to", "b"],
    ):
        result = run(tmp_path, *command, env={"DESKBRIDGE_CONFIG": ""})
        assert (result.returncode, result.stdout, result.stderr) == (2, "", default + "\n"), command
    by_env = run(tmp_path, "sync", env={"DESKBRIDGE_CONFIG": "missing.toml"})
    assert (
        by_env.stderr
        == f"error: no config file at {tmp_path / 'missing.toml'} (DESKBRIDGE_CONFIG); {START}\n"
    )
    by_option = run(tmp_path, "check", "--config", "nope.toml")
    assert (
        by_option.stderr
        == f"error: no config file at {tmp_path / 'nope.toml'} (--config); {START}\n"
    )
    assert list(tmp_path.iterdir()) == []
    assert run(tmp_path, "connectors").returncode == 0 and run(tmp_path, "--help").returncode == 0
    (tmp_path / "elsewhere.toml").write_text(f'[warehouse]\npath = "{tmp_path / "w.duckdb"}"\n')
    chosen = run(tmp_path, "sync", env={"DESKBRIDGE_CONFIG": "elsewhere.toml"})
    assert chosen.returncode == 0 and (tmp_path / "w.duckdb").exists(), chosen.stderr


def two_kayakos(tmp_path: Path, a: SandboxProcess, b: SandboxProcess) -> dict[str, str]:
    """A config with connections src and dst and the link copy (src to dst); returns its environment."""
    env_a = a.write_config(tmp_path / "a.toml", "src", closed_reconcile_every="0s")
    env_b = b.write_config(tmp_path / "b.toml", "dst", closed_reconcile_every="0s")
    text_a = (tmp_path / "a.toml").read_text()
    text_b = (tmp_path / "b.toml").read_text().split("\n\n", 1)[1]  # without its [warehouse]
    link = '[links.copy]\na = "src"\nb = "dst"\ndirection = "a_to_b"\nauthor = { b = "staff:1" }\n'
    (tmp_path / "config.toml").write_text(f"{text_a}\n{text_b}\n{link}")
    return {**env_a, **env_b}


def test_sync_pulls_only_and_names_the_push(tmp_path: Path) -> None:
    """A plain sync writes nothing to a helpdesk and prints what waits; sync --push writes it."""
    a, b = (
        SandboxProcess("kayako", "--tickets", "12"),
        SandboxProcess("kayako", "--tickets", "3", "--seed", "9"),
    )
    try:
        env = two_kayakos(tmp_path, a, b)
        before = b.truth()
        synced = run(tmp_path, "sync", env=env)
        assert synced.returncode == 0, synced.stderr
        assert b.truth() == before
        planned = run(tmp_path, "push", "--dry-run", env=env)
        assert planned.returncode == 0, planned.stderr
        (plan,) = (tmp_path / "plans").iterdir()
        waiting = f"{len(json.loads(plan.read_text()))} changes to push: deskbridge push copy"
        assert [line for line in synced.stdout.splitlines() if "to push" in line] == [waiting]
        assert b.truth() == before
        pushed = run(tmp_path, "sync", "--push", env=env)
        assert pushed.returncode == 0, pushed.stderr
        assert "Link copy: did" in pushed.stdout and b.truth() != before
        again = run(tmp_path, "sync", env=env)
        assert again.returncode == 0 and "to push" not in again.stdout, again.stdout
    finally:
        a.stop()
        b.stop()


def test_config_error_is_no_run_and_ctrl_c_is_interrupted(tmp_path: Path) -> None:
    """An unset credential fails before any run; Ctrl-C records 'interrupted' with what was kept, no failure."""
    box = SandboxProcess("kayako", "--tickets", "400", "--latency-ms", "100")
    try:
        env = box.write_config(
            tmp_path / "config.toml", "support", page_size=20, closed_reconcile_every="0s"
        )
        unset = {**env, "E2E_SUPPORT_SECRET_KEY": ""}
        refused = run(tmp_path, "sync", env=unset)
        assert (refused.returncode, refused.stderr) == (
            2,
            "error: connections.support.credentials.secret_key: environment variable E2E_SUPPORT_SECRET_KEY is not set\n",
        )
        db = tmp_path / "warehouse.duckdb"
        assert not db.exists()
        log = tmp_path / "sync.log"
        with log.open("w") as sink:
            proc = subprocess.Popen(
                [DESKBRIDGE, "--log-level", "debug", "--log-json", "sync"],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=sink,
                text=True,
                # A test run started in the background inherits SIGINT ignored, as its children
                # would, and a sync then rightly ignores Ctrl-C: give this one the default.
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )
        # Interrupted once some pages are in, by progress rather than by the clock: at 100 ms an
        # answer the ~450 requests of the run take ~6 s, so most are still to come.
        deadline = time.monotonic() + 60
        while log.read_text().count('"http.request"') < 60 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        stderr = log.read_text()
        assert proc.returncode == 130, stderr
        assert (
            stderr.splitlines()[-1]
            == "error: interrupted; what was committed is kept: rerun to resume"
        )
        ((status, error, kept),) = rows(
            db, "SELECT status, error, (SELECT count(*) FROM tickets) FROM sync_runs"
        )
        assert status == "interrupted" and error == f"{kept:,} tickets committed; rerun to resume"
        con = duckdb.connect(str(db), read_only=True)
        try:
            assert status_of(con, "support").consecutive_failures == 0
        finally:
            con.close()
        assert run(tmp_path, "sync", env=env).returncode == 0
        assert rows(db, "SELECT status FROM sync_runs ORDER BY run_id") == [
            ("interrupted",),
            ("success",),
        ]
    finally:
        box.stop()


def test_plain_sync_publishes_the_snapshot(tmp_path: Path) -> None:
    """After a plain sync the analysts' snapshot exists beside the warehouse with the same tickets."""
    box = SandboxProcess("kayako", "--tickets", "15")
    try:
        env = box.write_config(tmp_path / "config.toml", "support")
        synced = run(tmp_path, "sync", env=env)
        snapshot = tmp_path / "warehouse.snapshot.duckdb"
        assert synced.returncode == 0 and f"snapshot published: {snapshot}" in synced.stdout
        count = "SELECT count(*) FROM tickets"
        assert rows(snapshot, count) == rows(tmp_path / "warehouse.duckdb", count) == [(15,)]
    finally:
        box.stop()
