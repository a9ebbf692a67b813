"""A cancelled sync keeps the batches it had completed, and the next run finishes the job."""

from __future__ import annotations

import asyncio
from pathlib import Path

from conftest import CONTRACT_OPTIONS, make_harness


async def test_cancel_commits_pending_batches_then_resumes(tmp_path: Path) -> None:
    """With nothing committed yet, a cancel commits the complete batches, run 'interrupted'."""
    h = make_harness(
        "kayako", tmp_path, tickets=200, options={**CONTRACT_OPTIONS["kayako"], "page_size": 20}
    )
    h.emulator.knobs.latency_ms = 5
    try:
        run = asyncio.create_task(h.sync(commit_rows=10**6, commit_interval_s=3600))
        while h.emulator.total_requests < 80:
            await asyncio.sleep(0.01)
        run.cancel()
        await asyncio.wait([run])
        assert run.cancelled()
        (kept,) = h.wh.con.execute("SELECT count(*) FROM tickets").fetchone()  # type: ignore[misc]
        (counts,) = h.wh.con.execute("SELECT counts FROM sync_runs").fetchone()  # type: ignore[misc]
        assert [r[1] for r in h.runs()] == ["interrupted"]
        assert 0 < kept < 200 and f'"tickets.read": {kept}' in counts

        h.emulator.knobs.latency_ms = 0
        await h.sync()
        h.assert_truth()
        assert [r[1] for r in h.runs()] == ["interrupted", "success"]
    finally:
        h.wh.close()
