"""Adaptive request pacing: finding a vendor's limits without being told them.

A vendor that rate-limits says so only by answering 429 (or 503) with ``Retry-After``; one that
is overloaded says so by answering slower. :class:`Aimd` reacts to both, as TCP does to loss and
delay, with additive increase and multiplicative decrease (AIMD):

* **rate** (requests/s, paced evenly): unpaced until the first 429/503, then cut to ``decrease``
  times the rate the vendor was serving, and raised linearly on success so that a cut is won back
  in ``climb_s`` seconds; past the rate of the last cut it probes, ``probe`` faster each second,
  so one stray 429 does not slow a run for long. A token-bucket limit is a rate, so the rate is
  what converges on it.
* **window** (requests in flight): starts at the configured ``concurrency``; cut by ``decrease``
  when the smoothed round trip rises well above the lowest seen (the vendor queues), raised by one
  per window of successes otherwise.
* **pause**: a ``Retry-After`` holds every request of the session until it has passed.

Each response cuts at most once: a throttle or slow answer to a request sent before the last cut
says nothing new. The configured ``concurrency`` and ``rate_limit_per_s`` stay ceilings.

:class:`Aimd` is a pure function of its state and the times it is given, so tests drive it with
a fake clock; :class:`Throttle` is the asyncio gate :class:`~deskbridge.sdk.http.HttpSession`
holds around each request.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from dataclasses import dataclass, field


@dataclass
class Aimd:
    """The state of one session's pacing; every method takes the current time (seconds)."""

    max_window: int
    decrease: float = 0.9  # multiplicative decrease
    climb_s: float = 10.0  # seconds of success to win back one cut
    probe: float = 0.05  # growth a second past the rate of the last cut
    min_rate: float = 0.5
    latency_factor: float = 2.0  # "rising": smoothed RTT above this times the lowest...
    latency_floor_s: float = 0.1  # ...and at least this much above it
    window: float = field(init=False)
    rate: float = 0.0  # requests/s; 0 = unpaced (no throttle seen yet)
    slope: float = 0.0  # requests/s gained per second of success since the last cut
    peak: float = 0.0  # the rate served when last cut
    paused_until: float = 0.0
    next_at: float = 0.0  # the earliest time the pacer lets the next request go
    srtt: float = 0.0
    min_rtt: float = math.inf
    rate_cut_at: float = -math.inf
    window_cut_at: float = -math.inf
    _served: deque[float] = field(default_factory=deque)  # success times of the last second

    def __post_init__(self) -> None:
        self.window = float(self.max_window)

    def delay(self, now: float) -> float:
        """Seconds until a request may be sent (0: now); reserves nothing."""
        return max(0.0, self.paused_until - now, self.next_at - now)

    def sent(self, now: float) -> None:
        """A request leaves now: the next one is paced 1/rate later."""
        if self.rate > 0:
            self.next_at = max(self.next_at, now) + 1.0 / self.rate

    def served(self, sent_at: float, now: float) -> None:
        """A success (any answer but 429/503) to a request sent at ``sent_at``."""
        self._count(now)
        self._sample(now - sent_at)
        if self.rising():
            if sent_at >= self.window_cut_at:
                self.window = max(1.0, self.window * self.decrease)
                self.window_cut_at = now
        else:
            self.window = min(float(self.max_window), self.window + 1.0 / self.window)
        if self.rate > 0 and self.rate < 2 * self.served_rate(now):
            # per success, so a second of successes at the paced rate adds `slope`
            step = self.slope if self.rate < self.peak else self.probe * self.rate
            self.rate += step / self.rate

    def throttled(self, sent_at: float, now: float, retry_after: float | None) -> None:
        """A 429 or 503 to a request sent at ``sent_at``; ``retry_after`` in seconds if given."""
        if retry_after is not None:
            self.paused_until = max(self.paused_until, now + retry_after)
            self.next_at = max(self.next_at, self.paused_until)
        served = self.served_rate(now)
        if sent_at <= self.rate_cut_at or not served:
            return  # the last cut answered this already, or nothing served to go by
        self.peak = min(self.rate, served) if self.rate > 0 else served
        self.rate = max(self.min_rate, self.peak * self.decrease)
        self.slope = self.peak * (1 - self.decrease) / self.climb_s
        self.rate_cut_at = now

    def rising(self) -> bool:
        """Whether the smoothed round trip is well above the lowest seen: the vendor queues."""
        base = self.min_rtt
        return self.srtt > max(base * self.latency_factor, base + self.latency_floor_s)

    def served_rate(self, now: float) -> float:
        """Successes in the last second: what the vendor has been serving."""
        self._expire(now)
        return float(len(self._served))

    def _count(self, now: float) -> None:
        self._served.append(now)
        self._expire(now)

    def _expire(self, now: float) -> None:
        while self._served and now - self._served[0] > 1.0:
            self._served.popleft()

    def _sample(self, rtt: float) -> None:
        self.srtt = rtt if self.srtt == 0 else self.srtt + (rtt - self.srtt) / 8
        # the baseline forgets slowly upwards, so a change in the mix of calls (bigger pages)
        # is not read as queueing forever
        self.min_rtt = rtt if rtt < self.min_rtt else self.min_rtt + (rtt - self.min_rtt) / 256


class Throttle:
    """The asyncio side of :class:`Aimd`: a window of requests in flight and a paced start.

    ``async with throttle.slot() as sent_at`` waits for a place in the window, then for the
    pacer and any ``Retry-After`` pause; report the answer with :meth:`served` or
    :meth:`throttled`.
    """

    def __init__(self, aimd: Aimd) -> None:
        self.aimd = aimd
        self.in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    def slot(self) -> _Slot:
        return _Slot(self)

    def served(self, sent_at: float) -> None:
        self.aimd.served(sent_at, time.monotonic())
        self._wake()

    def throttled(self, sent_at: float, retry_after: float | None) -> None:
        self.aimd.throttled(sent_at, time.monotonic(), retry_after)

    async def _enter(self) -> float:
        while self.in_flight >= max(1, int(self.aimd.window)):
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # pass on the place this waiter was given
                raise
        self.in_flight += 1
        try:
            while (wait := self.aimd.delay(time.monotonic())) > 0:
                await asyncio.sleep(wait)
        except BaseException:
            self._leave()
            raise
        now = time.monotonic()
        self.aimd.sent(now)
        return now

    def _leave(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        free = max(1, int(self.aimd.window)) - self.in_flight
        while free > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1


class _Slot:
    def __init__(self, throttle: Throttle) -> None:
        self.throttle = throttle

    async def __aenter__(self) -> float:
        return await self.throttle._enter()

    async def __aexit__(self, *exc: object) -> None:
        self.throttle._leave()
