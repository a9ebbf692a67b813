"""Adaptive pacing: the AIMD state on a fake clock, then sessions against a rate-limited emulator."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from deskbridge import registry
from deskbridge.sandbox import build_emulator
from deskbridge.sdk.adaptive import Aimd
from deskbridge.sdk.emulator import Emulator, Knobs
from deskbridge.sdk.http import HttpOptions, HttpSession

TICKETS = "/api/v2/ticket"


# -- the controller as a function of its state ------------------------------------------------
def served_for(aimd: Aimd, seconds: float, rate: float, start: float, rtt: float = 0.01) -> float:
    """Feed ``rate`` successes a second for ``seconds``; returns the time reached."""
    now = start
    for _ in range(int(seconds * rate)):
        now += 1 / rate
        aimd.served(now - rtt, now)
    return now


def test_unpaced_until_the_first_throttle() -> None:
    """A vendor that never throttles is never paced: every request may go at once."""
    aimd = Aimd(max_window=8)
    now = served_for(aimd, 2, 50, 0.0)
    aimd.sent(now)
    aimd.sent(now)
    assert (aimd.rate, aimd.delay(now), aimd.window) == (0.0, 0.0, 8.0)


def test_the_window_opens_from_one_doubling_each_round_trip() -> None:
    """One request, then two, four, eight: one more per success until ``concurrency``."""
    aimd = Aimd(max_window=8)
    widths = []
    now = 0.0
    for _ in range(4):
        widths.append(aimd.window)
        now += 0.02
        for _ in range(int(aimd.window)):
            aimd.served(now - 0.02, now)
    assert widths == [1.0, 2.0, 4.0, 8.0]
    assert aimd.window == 8.0


def test_a_429_cuts_to_a_share_of_what_was_served_and_pauses() -> None:
    """The first 429 paces at 0.9 x the successes of the last second and pauses for Retry-After."""
    aimd = Aimd(max_window=8)
    now = served_for(aimd, 1, 20, 0.0)
    aimd.throttled(now - 0.01, now, 2.0)
    assert aimd.rate == pytest.approx(18.0)
    assert aimd.delay(now) == pytest.approx(2.0)
    assert aimd.delay(now + 2.0) == 0.0
    aimd.sent(now + 2.0)
    assert aimd.delay(now + 2.0) == pytest.approx(1 / 18)


def test_one_cut_per_epoch_but_every_retry_after_counts() -> None:
    """429s to requests sent before the cut do not cut again; their Retry-After still pauses."""
    aimd = Aimd(max_window=8)
    now = served_for(aimd, 1, 10, 0.0)
    aimd.throttled(now - 0.01, now, 1.0)
    aimd.throttled(now - 0.005, now + 0.001, 3.0)
    assert aimd.rate == pytest.approx(9.0)
    assert aimd.paused_until == pytest.approx(now + 3.001)
    aimd.throttled(now + 0.005, now + 0.01, None)  # sent after the cut: a new signal
    assert aimd.rate == pytest.approx(8.1)


def test_additive_increase_wins_a_cut_back_in_climb_s() -> None:
    """After a cut, successes at the paced rate raise it linearly, by the cut in ``climb_s``."""
    aimd = Aimd(max_window=8, climb_s=10.0)
    now = served_for(aimd, 1, 10, 0.0)
    aimd.throttled(now, now, None)
    assert aimd.rate == pytest.approx(9.0)
    rates = []
    for _ in range(4):
        now = served_for(aimd, 2.5, aimd.rate, now)
        rates.append(round(aimd.rate, 1))
    assert rates == [9.2, 9.5, 9.7, 10.0]


def test_rising_latency_shrinks_the_window_then_it_regrows() -> None:
    """Round trips well above the lowest seen cut the window (once per round trip), and
    fast ones grow it again by one per window of successes, up to ``concurrency``."""
    aimd = Aimd(max_window=10)
    now = served_for(aimd, 1, 50, 0.0, rtt=0.05)
    assert aimd.window == 10.0
    now = served_for(aimd, 3, 20, now, rtt=0.6)
    assert aimd.rtts[""].rising(2.0, 0.1) and aimd.window < 7
    cut = aimd.window
    now = served_for(aimd, 4, 50, now, rtt=0.05)
    assert not aimd.rtts[""].rising(2.0, 0.1) and cut < aimd.window <= 10.0
    served_for(aimd, 20, 50, now, rtt=0.05)
    assert aimd.window == 10.0


def test_a_slower_kind_of_call_is_not_read_as_queueing() -> None:
    """Pages of tickets taking 50 times a note's round trip leave the window alone: each kind
    of call is compared with its own fastest."""
    aimd = Aimd(max_window=8)
    now = 0.0
    for _ in range(100):
        now += 0.01
        aimd.served(now - 0.01, now, "notes")
        aimd.served(now - 0.5, now, "tickets")
    assert aimd.window == 8.0


def test_the_rate_stops_growing_where_pacing_no_longer_binds() -> None:
    """With successes at 5/s while paced at 20/s, the pace does not climb without bound."""
    aimd = Aimd(max_window=8)
    aimd.throttled(0.0, 0.0, None)
    aimd.rate = 20.0
    served_for(aimd, 30, 5, 0.0)
    assert aimd.rate == 20.0


# -- sessions against emulators -----------------------------------------------------------
def omnidesk(**knobs: float) -> Emulator:
    return build_emulator("omnidesk", tickets=5, knobs=Knobs(**knobs))  # type: ignore[arg-type]


def session_to(app: object, **options: object) -> HttpSession:
    return HttpSession(
        "omnidesk",
        "http://emulator",
        options=HttpOptions(**{"backoff_max_s": 5.0, **options}),  # type: ignore[arg-type]
        transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
    )


async def hammer(s: HttpSession, key: str, seconds: float, workers: int = 8) -> int:
    """Workers fetching one cheap page until ``seconds`` have passed; returns the successes."""
    stop = time.monotonic() + seconds
    done = 0

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < stop:
            await s.fetch(
                "GET",
                TICKETS,
                params={"apiKey": key, "itemLimit": "1"},
                parse=lambda r: r.status_code,
                resource="tickets",
            )
            done += 1

    await asyncio.gather(*(worker() for _ in range(workers)))
    return done


async def test_the_pace_converges_on_an_unannounced_token_bucket() -> None:
    """A vendor limiting to 20 requests/s, unannounced: the session settles near that rate
    with few 429s, sustained past the start (the bucket's saved-up second included)."""
    emulator = omnidesk(rate_limit_per_s=20)
    async with session_to(emulator.app) as s:
        started = time.monotonic()
        done = await hammer(s, emulator.credentials()["api_key"], 4.0)
        elapsed = time.monotonic() - started
    refused = emulator.total_requests - done
    assert 0.75 * 20 <= done / elapsed <= (20 * elapsed + 20) / elapsed
    assert refused / emulator.total_requests <= 0.12  # mostly the start: 8 sent unpaced at once
    assert s.total == emulator.total_requests


async def test_retry_after_holds_every_request_of_the_session() -> None:
    """After one 429 with Retry-After: 1, no request of the session reaches the vendor for a
    second, not only the one that was refused."""
    emulator = omnidesk()
    arrivals: list[float] = []

    async def recording(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] == "http":
            arrivals.append(time.monotonic())
        await emulator.app(scope, receive, send)

    emulator.inject("429")
    async with session_to(recording) as s:
        await hammer(s, emulator.credentials()["api_key"], 1.5, workers=4)
    first, rest = arrivals[0], arrivals[1:]
    assert rest and all(t - first >= 0.95 for t in rest[3:])  # 3 others were already in flight
    assert len(rest) > 10


async def test_ceilings_hold_when_the_vendor_sets_no_limit() -> None:
    """Adaptive pacing stays under the configured rate_limit_per_s and concurrency."""
    emulator = omnidesk(latency_ms=20)
    in_flight = peak = 0

    async def counting(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await emulator.app(scope, receive, send)
        finally:
            in_flight -= 1

    async with session_to(counting, concurrency=3, rate_limit_per_s=25) as s:
        started = time.monotonic()
        done = await hammer(s, emulator.credentials()["api_key"], 1.0)
        elapsed = time.monotonic() - started
    assert peak == 3
    assert done <= 25 + 25 * elapsed  # aiolimiter's bucket: one second saved up, then 25/s


async def test_a_queueing_vendor_gets_fewer_requests_in_flight() -> None:
    """A vendor whose answers slow with each request in flight: the window shrinks below the
    configured concurrency, so round trips come back down."""
    in_flight = 0

    async def queueing(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight
        in_flight += 1
        await asyncio.sleep(0.01 + 0.03 * in_flight)
        in_flight -= 1
        return httpx.Response(200, json=[])

    async with HttpSession(
        "acme",
        "http://t",
        options=HttpOptions(concurrency=16),
        transport=httpx.MockTransport(queueing),
    ) as s:
        await hammer(s, "k", 2.0, workers=16)
        throttle = s._throttle
    assert throttle is not None and throttle.aimd.window < 12


@pytest.mark.parametrize("vendor", registry.complete())
async def test_every_emulator_takes_the_token_bucket_knob(vendor: str) -> None:
    """Set through the admin plane, the bucket lets its burst through, then answers 429 with
    Retry-After, the gateway's plain page, on any vendor path."""
    emulator = build_emulator(vendor, tickets=2)
    transport = httpx.ASGITransport(app=emulator.app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as http:
        knobs = await http.post(
            "/__emulator__/knobs", json={"rate_limit_per_s": 2, "rate_burst_s": 1.5}
        )
        assert (knobs.json()["rate_limit_per_s"], knobs.json()["rate_burst_s"]) == (2.0, 1.5)
        answers = [await http.get("/any/path") for _ in range(4)]
    assert [r.status_code == 429 for r in answers] == [False, False, False, True]  # 3 saved
    refused = answers[-1]
    assert (refused.headers["retry-after"], refused.text) == ("1", "Too Many Requests")
