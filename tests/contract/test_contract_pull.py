"""The contract suite: every connector, against its emulator over HTTP, into a real DuckDB file."""

from __future__ import annotations

import io
import json

import pytest
from conftest import Harness

from deskbridge.sdk.errors import DeskbridgeError
from deskbridge.testing import secret_hits

pytestmark = pytest.mark.asyncio


async def test_full_sync_equals_ground_truth(harness: Harness) -> None:
    """A first run pulls everything: the warehouse equals the emulator's ground truth."""
    result = await harness.sync()
    harness.assert_truth()
    assert result.status == "success"
    assert harness.runs()[-1][1] == "success"
    truth = harness.emulator.ground_truth()
    assert result.counts["tickets.read"] >= len(truth["tickets"])


async def test_rerun_without_changes_changes_nothing(harness: Harness) -> None:
    """A second run over unchanged data writes no changed row and no history row."""
    await harness.sync()
    history = harness.wh.con.execute("SELECT count(*) FROM ticket_history").fetchone()
    result = await harness.sync()
    assert {
        k: v for k, v in result.counts.items() if k.endswith((".changed", ".deleted")) and v
    } == {}
    assert harness.wh.con.execute("SELECT count(*) FROM ticket_history").fetchone() == history
    harness.assert_truth()


async def test_incremental_rounds_follow_mutations(harness: Harness) -> None:
    """Three rounds of agent changes: after each incremental run the warehouse equals the truth."""
    await harness.sync()
    for _ in range(3):
        harness.emulator.mutate(25)
        await harness.sync()
        harness.assert_truth()


async def test_full_refresh_equals_ground_truth(harness: Harness) -> None:
    """--full-refresh after changes re-pulls everything and still equals the truth."""
    await harness.sync()
    harness.emulator.mutate(40)
    result = await harness.sync(full_refresh=True)
    harness.assert_truth()
    assert harness.wh.con.execute(
        "SELECT full_refresh FROM sync_runs WHERE run_id = ?", [result.run_id]
    ).fetchone() == (True,)


@pytest.mark.parametrize("fault", ["500", "malformed", "truncated", "html200"])
async def test_transient_faults_are_retried_transparently(harness: Harness, fault: str) -> None:
    """One bad answer (5xx, broken or cut body, HTML page) mid-run is retried; the run succeeds."""
    harness.emulator.inject(fault, 1)
    await harness.sync()
    harness.assert_truth()


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("malformed", "malformed"),
        ("truncated", ""),
        ("html200", "HTML page titled '503 Service Unavailable'"),
        ("500", "vendor answered 500"),
    ],
)
async def test_persistent_faults_fail_clearly_and_keep_cursor(
    harness: Harness, fault: str, message: str
) -> None:
    """A fault that outlasts the retries fails the run with a clear error; cursor and rows stay."""
    await harness.sync()
    harness.emulator.mutate(20)
    states, rows = (
        harness.states(),
        harness.wh.con.execute("SELECT count(*) FROM tickets").fetchone(),
    )
    # more than every request in flight can absorb in its retries: they wait concurrently
    harness.emulator.inject(fault, 200)
    with pytest.raises(DeskbridgeError) as info:
        await harness.sync()
    assert message in str(info.value)
    assert harness.config.type in str(info.value)
    run = harness.runs()[-1]
    assert run[1] == "failed" and message in run[4]
    assert harness.states() == states
    assert harness.wh.con.execute("SELECT count(*) FROM tickets").fetchone() == rows
    harness.emulator._faults.queue.clear()
    await harness.sync()
    harness.assert_truth()


async def test_wrong_credentials_fail_clearly(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bad credentials: an auth error naming the vendor, the run recorded as failed."""
    for ref in harness.config.credentials.values():
        monkeypatch.setenv(ref.removeprefix("env:"), "wrong-value-1234")
    with pytest.raises(DeskbridgeError) as info:
        await harness.sync()
    assert "401" in str(info.value) or "auth" in str(info.value).lower()
    assert harness.runs()[-1][1] == "failed"


async def test_rate_limited_vendor_is_honoured(harness: Harness) -> None:
    """With the vendor answering 429 + Retry-After above a rate, the run still completes."""
    harness.emulator.knobs.rate_limit_per_s = 200
    harness.emulator.knobs.retry_after_s = 1
    await harness.sync()
    harness.assert_truth()


async def test_secrets_appear_nowhere(harness: Harness, log_capture: io.StringIO) -> None:
    """Credentials appear in no log line, error message, sync_runs row or warehouse byte."""
    secrets = [v for v in harness.emulator.credentials().values() if len(v) >= 6]
    await harness.sync()
    harness.emulator.mutate(10)
    harness.emulator.inject("500", 200)
    with pytest.raises(DeskbridgeError) as info:
        await harness.sync()
    text = log_capture.getvalue() + str(info.value)
    assert [json.loads(line) for line in log_capture.getvalue().splitlines()]  # logs were captured
    assert [s for s in secrets if s in text] == []
    harness.wh.con.execute("CHECKPOINT")
    assert secret_hits(harness.wh.path, secrets) == []
