"""A ticket create whose answer was lost is not sent again by a push that did not pull first
(``serve`` pushes a link after pulling one side)."""

from __future__ import annotations

from pathlib import Path

import httpx
from pushkit import make_pair

from deskbridge.push.run import run_link


class LoseFirstCreate(httpx.AsyncBaseTransport):
    """The target's emulator; the first ticket create is applied, and its answer never arrives."""

    def __init__(self, app: object) -> None:
        self.inner, self.lost = httpx.ASGITransport(app=app), False  # type: ignore[arg-type]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        creates_ticket = (
            request.method == "POST" and request.url.params.get("e") == "/Tickets/Ticket"
        )
        if creates_ticket and not self.lost:
            self.lost = True
            await response.aread()
            raise httpx.ReadError(
                "connection reset after the vendor applied the request", request=request
            )
        return response


async def test_a_lost_create_answer_is_found_not_repeated_without_a_pull(tmp_path: Path) -> None:
    """First push: one create's answer is lost (pending). A push without a pull (as serve runs
    it) pulls the target first, finds the ticket by its marker: one twin per source ticket."""
    pair = make_pair(
        tmp_path, ("kayako", 3), ("kayako", 1), direction="a_to_b", author={"b": "staff:1"}
    )
    try:
        target = pair.emulators["b_side"]
        lossy = LoseFirstCreate(target.app)
        first = await run_link(
            pair.wh,
            pair.settings,
            pair.link,
            transport_for=lambda n: lossy if n == "b_side" else pair.transport(n),
        )
        assert lossy.lost and first.failures[0][0] == "tickets"  # its notes wait for the twin too
        sources = len(pair.emulators["a_side"].ground_truth()["tickets"])
        assert len(target.ground_truth()["tickets"]) == 1 + sources  # the lost one landed
        await run_link(pair.wh, pair.settings, pair.link, pull=False, transport_for=pair.transport)
        assert len(target.ground_truth()["tickets"]) == 1 + sources
        linked = pair.wh.con.execute(
            "SELECT count(*) FROM crosswalk WHERE entity = 'tickets' AND state = 'linked'"
        ).fetchone()
        assert linked == (sources,)
    finally:
        pair.wh.close()
