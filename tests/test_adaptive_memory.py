"""The pace a session learned of a vendor's limit carries to the next session to that host."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from test_adaptive import hammer, omnidesk, session_to

from deskbridge.pull.engine import sync
from deskbridge.sandbox import build_emulator, sandbox_connection
from deskbridge.sdk.adaptive import PACES, Aimd, Paces
from deskbridge.sdk.emulator import Knobs
from deskbridge.warehouse.store import Warehouse


def test_a_resumed_pace_starts_below_the_limit_and_climbs_back() -> None:
    """Resumed at a limit of 20/s: paced at 18/s, back at 20 within climb_s, probing past it."""
    aimd = Aimd(max_window=8)
    aimd.resume(20.0)
    assert (aimd.rate, aimd.peak) == (18.0, 20.0)
    now = 0.0
    for _ in range(400):  # 20 s of successes at the paced rate
        now += 1 / aimd.rate
        aimd.served(now - 0.01, now)
    assert aimd.rate > 20.0  # climbed back, then probed past the old limit


def test_only_a_session_that_met_a_limit_is_remembered() -> None:
    paces = Paces()
    paces.keep("omnidesk a:", Aimd(max_window=8))  # never throttled: nothing learned
    assert paces.get("omnidesk a:") is None
    cut = Aimd(max_window=8)
    for i in range(10):
        cut.served(i / 10, i / 10 + 0.01)
    cut.throttled(1.0, 1.0, None)  # 10 served in the last second, then a 429
    paces.keep("omnidesk a:", cut)
    assert paces.get("omnidesk a:") == 10.0
    resumed = paces.start("omnidesk a:", 8)
    assert (resumed.rate, resumed.peak, resumed.max_window) == (9.0, 10.0, 8)
    assert paces.start("omnidesk b:", 8).rate == 0.0  # another host starts unpaced


def test_an_old_limit_is_forgotten_and_a_newer_one_wins() -> None:
    paces = Paces(ttl_s=60)
    paces.update({"k": (5.0, time.time() - 120)})
    assert paces.get("k") is None
    paces.update({"k": (7.0, time.time())})
    paces.update({"k": (3.0, time.time() - 30)})  # older than the one known
    assert paces.get("k") == 7.0


@pytest.mark.asyncio
async def test_a_second_session_starts_at_the_learned_pace_without_429s() -> None:
    """Against an unannounced limit of 10/s: the first session meets it with a few 429s; the
    next session to the same host starts paced below it and is not refused while it climbs."""
    emulator = omnidesk(rate_limit_per_s=10, latency_ms=5)
    key = emulator.credentials()["api_key"]
    async with session_to(emulator.app) as first:
        done = await hammer(first, key, 2.0)
    assert emulator.total_requests > done  # first contact: refused a few times
    time.sleep(1.1)  # the bucket fills again, as between two runs
    before = emulator.total_requests
    async with session_to(emulator.app) as second:
        done = await hammer(second, key, 2.0)
    assert emulator.total_requests - before == done  # no request of the second run refused
    assert done >= 0.8 * 10 * 2


@pytest.mark.asyncio
async def test_the_learned_pace_outlives_the_process_in_the_warehouse(tmp_path: Path) -> None:
    """A sync meets an unannounced limit; the next process (paces forgotten) reads the limit from
    the warehouse and starts paced at it (how that spares 429s: the in-process test above)."""
    emulator = build_emulator("omnidesk", tickets=80, knobs=Knobs(rate_limit_per_s=15))
    config = sandbox_connection(
        emulator, "http://emulator", name="paced", concurrency=8, retries=8, retry_backoff_s=0.05
    )
    refused, known = [], []
    with Warehouse(tmp_path / "w.duckdb") as wh:
        for full_refresh in (False, True):  # the second reads everything again, as the first did
            PACES.forget()  # a new process
            PACES.update(wh.load_paces())
            known.append(PACES.get("omnidesk emulator:"))
            before = emulator.throttled
            await sync(
                wh, config, full_refresh=full_refresh,
                transport=httpx.ASGITransport(app=emulator.app),  # type: ignore[arg-type]
            )  # fmt: skip
            refused.append(emulator.throttled - before)
            time.sleep(1.1)  # the bucket fills again, as between two runs
        stored = wh.load_paces()
        assert list(stored) == ["omnidesk emulator:"] and 5 < stored["omnidesk emulator:"][0] < 25
        assert wh.con.execute("SELECT count(*) FROM tickets").fetchone() == (80,)
    assert known[0] is None and known[1] is not None  # read back by the "new process"
    assert refused[0] >= 1 and refused[1] <= refused[0], refused
