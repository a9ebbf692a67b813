"""Kayako's reconcile listings ask for their pages together, up to the count cache's total."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from conftest import make_harness
from test_kayako_sync import last_run, open_ids

PAGE = 20


def pages(n: int) -> int:
    """ListAll requests the overlapping pager makes for ``n`` tickets, one page at a time."""
    count, start = 1, 0
    while n - start >= PAGE:
        start += PAGE - 1
        count += 1
    return count


pytestmark = pytest.mark.asyncio


class ListingsInFlight(httpx.AsyncBaseTransport):
    """The emulator's transport, noting how many ticketid-sorted ListAll pages are out at once."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.in_flight = self.most = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        route = request.url.params.get("e", "")
        listing = route.startswith("/Tickets/Ticket/ListAll/") and "/ticketid/" in route
        self.in_flight += listing
        self.most = max(self.most, self.in_flight)
        try:
            return await self.inner.handle_async_request(request)
        finally:
            self.in_flight -= listing


async def test_reconcile_pages_go_out_together_and_cost_what_one_at_a_time_did(
    tmp_path: Path,
) -> None:
    h = make_harness("kayako", tmp_path, tickets=200, options={"page_size": PAGE})
    h.emulator.knobs.latency_ms = 5
    h.transport = wire = ListingsInFlight(h.transport)
    await h.sync()  # a first sync walks everything: that is its reconcile
    h.assert_truth()
    assert last_run(h)[1] == 0 and wire.most == 0
    await h.sync()  # the next run lists the open tickets
    h.assert_truth()
    assert wire.most >= 3  # several pages of one listing were out at the same time
    _, reconcile = last_run(h)
    assert reconcile == pages(len(open_ids(h)))  # the count was right: no page asked in vain
    h.wh.close()
