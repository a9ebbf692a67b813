"""Concurrent requests share one token grant, also while the token endpoint is refusing them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from conftest import make_harness
from trackit_helpers import by_route, emu_of

from deskbridge_connectors.trackit.emulator import TrackitEmulator

pytestmark = pytest.mark.asyncio

CONCURRENCY = 16


class LiftAfterGrant(httpx.AsyncBaseTransport):
    """The emulator's transport; once a token is granted, the rest of the run is unlimited."""

    def __init__(self, inner: httpx.AsyncBaseTransport, emu: TrackitEmulator) -> None:
        self.inner, self.emu = inner, emu
        self.refused: list[str] = []  # paths answered 429

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if response.status_code == 429:
            self.refused.append(request.url.path)
        if request.url.path.endswith("/token") and response.status_code == 200:
            self.emu.knobs.rate_limit_per_s = 0
        return response


async def drain_bucket(h_transport: httpx.AsyncBaseTransport) -> None:
    """Spend the emulator's token bucket so the run's first contact is answered 429."""
    async with httpx.AsyncClient(transport=h_transport, base_url="http://testserver") as client:
        while (await client.get("/TrackIt/WebApi/token")).status_code != 429:
            pass


async def test_a_refused_grant_is_shared_by_every_request_waiting_on_it(tmp_path: Path) -> None:
    """First contact finds the vendor's rate limit spent: the 16 requests waiting for a token
    share the one refused grant and retry after its Retry-After, instead of each sending one."""
    h = make_harness(
        "trackit",
        tmp_path,
        tickets=30,
        options={"closed_reconcile_every": "0s"},
        concurrency=CONCURRENCY,
        adaptive=False,  # every request starts at once, as with adaptive pacing turned off
        retries=3,
    )
    emu = emu_of(h)
    emu.knobs.rate_limit_per_s = 2  # a full token again by the time Retry-After: 1 has passed
    await drain_bucket(h.transport)
    emu.reset_counts()

    h.transport = wire = LiftAfterGrant(h.transport, emu)
    await h.sync()
    h.assert_truth()
    # one grant refused with 429 + Retry-After, one granted after it; nothing in between
    assert by_route(emu)["token"] == 2
    assert wire.refused == ["/TrackIt/WebApi/token"]


async def test_a_concurrent_sync_logs_in_once(tmp_path: Path) -> None:
    """A full sync at concurrency 32: one password grant for every request of the run."""
    h = make_harness(
        "trackit",
        tmp_path,
        tickets=60,
        options={"closed_reconcile_every": "0s"},
        concurrency=32,
        adaptive=False,
    )
    emu = emu_of(h)
    emu.knobs.latency_ms = 5  # requests overlap the token request
    result = await h.sync()
    h.assert_truth()
    assert by_route(emu)["token"] == 1
    assert emu.total_requests == sum(result.requests.values()) + 1
