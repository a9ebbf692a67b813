"""A deletion needs proof: an interrupted full refresh (SIGKILL, or a burst of 500s), then plain
syncs, leave the warehouse equal to ground truth with nothing wrongly deleted."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import duckdb
import pytest
from conftest import CONTRACT_VENDORS
from sandbox_proc import SandboxProcess
from test_crash_resume import PAGE, kill_after_start, run_sync

from deskbridge.testing import duplicate_keys, projection, truth_diff

pytestmark = pytest.mark.slow


def check(tmp_path: Path, sandbox: SandboxProcess) -> None:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        assert truth_diff(projection(con, "proof"), sandbox.truth()) == []
        assert duplicate_keys(con) == {}
        held = con.execute(
            "SELECT count(*) FROM suspected_deletions WHERE state = 'held'"
        ).fetchone()
        unproven = con.execute(
            "SELECT count(*) FROM tickets WHERE deleted_at IS NOT NULL AND deleted_proof <> 'not_found'"
        ).fetchone()
    finally:
        con.close()
    assert held == (0,) and unproven == (0,)


@pytest.mark.parametrize("vendor", CONTRACT_VENDORS)
def test_full_refresh_killed_or_failing_then_plain_syncs_deletes_nothing_wrongly(
    vendor: str, tmp_path: Path
) -> None:
    """SIGKILLs at several points of a full refresh, then a burst of 500s in another: plain syncs
    after them end equal to ground truth, every deletion proven by the vendor."""
    sandbox = SandboxProcess(vendor, "--tickets", "300", "--latency-ms", "10")
    try:
        config = tmp_path / "config.toml"
        env = sandbox.write_config(config, "proof", **PAGE.get(vendor, {}))
        log = tmp_path / "sync.log"
        assert run_sync(config, env, log).wait(timeout=300) == 0, log.read_text()
        for delay in (0.4, 1.2):
            kill_after_start(config, env, log, delay, "--full-refresh", "--push")
            assert run_sync(config, env, log, "--push").wait(timeout=300) == 0, log.read_text()
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


def link_config(path: Path, source: SandboxProcess, target: SandboxProcess) -> dict[str, str]:
    """Two connections and a one-way link between them that propagates deletions."""
    env = dict(os.environ)
    text = f'[warehouse]\npath = "{path.parent / "warehouse.duckdb"}"\n\n'
    for name, box in (("src", source), ("dst", target)):
        creds = []
        for key, value in box.info["credentials"].items():
            env[f"E2E_{name.upper()}_{key.upper()}"] = value
            creds.append(f'{key} = "env:E2E_{name.upper()}_{key.upper()}"')
        opts = "".join(f"{k} = {json.dumps(v)}\n" for k, v in PAGE.get(box.vendor, {}).items())
        text += (
            f'[connections.{name}]\ntype = "{box.vendor}"\nbase_url = "{box.info["base_url"]}"\n'
            f"credentials = {{ {', '.join(creds)} }}\nretry_backoff_s = 0.05\n\n"
            f"[connections.{name}.options]\n{opts}\n"
        )
    extra = (
        'author = { b = "staff:1" }\ndefaults = { b = { subject = "(no subject)" } }\n'
        if target.vendor == "kayako"
        else ""
    )
    text += (
        f'[links.pair]\na = "src"\nb = "dst"\ndirection = "a_to_b"\ndeletes = "propagate"\n{extra}'
    )
    path.write_text(text)
    return env


@pytest.mark.parametrize("vendor", CONTRACT_VENDORS)
def test_full_refresh_killed_deletes_nothing_through_a_propagate_link(
    vendor: str, tmp_path: Path
) -> None:
    """A link that propagates deletions: full refreshes SIGKILLed mid-pull, then ``sync --push``
    runs (which pull, then push the link), delete nothing at the other side."""
    source = SandboxProcess(vendor, "--tickets", "150", "--latency-ms", "10")
    target = SandboxProcess("trackit" if vendor == "kayako" else "kayako", "--tickets", "3")
    try:
        config, log = tmp_path / "config.toml", tmp_path / "sync.log"
        env = link_config(config, source, target)
        assert run_sync(config, env, log, "--push").wait(timeout=300) == 0, log.read_text()
        twins = len(target.truth()["tickets"])
        assert twins >= 150
        for delay in (0.4, 1.2):
            kill_after_start(config, env, log, delay, "--full-refresh", "--push")
            assert run_sync(config, env, log, "--push").wait(timeout=300) == 0, log.read_text()
        assert len(target.truth()["tickets"]) == twins
        con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
        try:
            assert truth_diff(projection(con, "src"), source.truth()) == []
        finally:
            con.close()
    finally:
        source.stop()
        target.stop()
