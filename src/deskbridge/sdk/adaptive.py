"""Adaptive request pacing: finding a vendor's limits without being told them.

A vendor that rate-limits says so only by answering 429 (or 503) with ``Retry-After``; one that
is overloaded says so by answering slower. :class:`Aimd` reacts to both, as TCP does to loss and
delay, with additive increase and multiplicative decrease (AIMD):

* **rate** (requests/s, paced evenly): unpaced until the first 429/503, then cut to ``decrease``
  times the rate the vendor was serving, and raised linearly on success so that a cut is won back
  in ``climb_s`` seconds; past the rate of the last cut it probes, ``probe`` faster each second,
  so one stray 429 does not slow a run for long. A token-bucket limit is a rate, so the rate is
  what converges on it.
* **window** (requests in flight): opens from one, by one per success (doubling each round
  trip) up to the configured ``concurrency``, so a limit is first met by a few requests rather
  than by ``concurrency`` of them at once, a few round trips' cost; cut by ``decrease``
  when the smoothed round trip of a kind of call (a resource: a page of tickets costs more than a
  note) rises well above the lowest seen for it (the vendor queues), raised by one per window of
  successes otherwise.
* **pause**: a ``Retry-After`` holds every request of the session until it has passed.
* **memory**: :data:`PACES` keeps the limit each host was last found at; the next session to it
  starts paced as if it had just been cut there (a little below, climbing back, then probing up)
  instead of unpaced, so a limit costs its first-contact 429s once, not every run.

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
    probe: float = 0.02  # growth a second past the rate of the last cut
    min_rate: float = 0.5
    latency_factor: float = 2.0  # "rising": smoothed RTT above this times the lowest...
    latency_floor_s: float = 0.1  # ...and at least this much above it
    window: float = 1.0
    opening: bool = True  # the window grows by one per success until its first cut
    rate: float = 0.0  # requests/s; 0 = unpaced (no throttle seen yet)
    slope: float = 0.0  # requests/s gained per second of success since the last cut
    peak: float = 0.0  # the rate served when last cut
    paused_until: float = 0.0
    next_at: float = 0.0  # the earliest time the pacer lets the next request go
    rtts: dict[str, _Rtt] = field(default_factory=dict)  # by kind of call
    rate_cut_at: float = -math.inf
    window_cut_at: float = -math.inf
    _served: deque[float] = field(default_factory=deque)  # success times of the last second

    def delay(self, now: float) -> float:
        """Seconds until a request may be sent (0: now); reserves nothing."""
        return max(0.0, self.paused_until - now, self.next_at - now)

    def sent(self, now: float) -> None:
        """A request leaves now: the next one is paced 1/rate later."""
        if self.rate > 0:
            # a sender woken a little late keeps its place: one interval of lateness is not
            # lost, or each late wake-up would shave the rate below the one set
            gap = 1.0 / self.rate
            self.next_at = max(self.next_at, now - gap) + gap

    def served(self, sent_at: float, now: float, kind: str = "") -> None:
        """A success (any answer but 429/503) to a ``kind`` of call sent at ``sent_at``."""
        self._count(now)
        rtt = self.rtts.setdefault(kind, _Rtt())
        rtt.sample(now - sent_at)
        if rtt.rising(self.latency_factor, self.latency_floor_s):
            if sent_at >= self.window_cut_at:
                self.window = max(1.0, self.window * self.decrease)
                self.window_cut_at, self.opening = now, False
        else:
            grow = 1.0 if self.opening else 1.0 / self.window
            self.window = min(float(self.max_window), self.window + grow)
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

    def resume(self, limit: float) -> None:
        """Start paced as just after a cut at ``limit`` (a rate a former session was cut at)."""
        self.peak = limit
        self.rate = max(self.min_rate, limit * self.decrease)
        self.slope = limit * (1 - self.decrease) / self.climb_s

    def limit(self) -> float | None:
        """The vendor's limit as found: the rate of the last cut, or the rate probed up to
        since (a cut right after a pause saw few successes, and says too little); None for a
        session never paced."""
        return max(self.peak, self.rate) if self.rate > 0 else None

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


@dataclass
class _Rtt:
    """The round trips of one kind of call: smoothed, and the lowest seen."""

    smooth: float = 0.0
    low: float = math.inf

    def sample(self, rtt: float) -> None:
        self.smooth = rtt if self.smooth == 0 else self.smooth + (rtt - self.smooth) / 8
        # the lowest forgets slowly upwards, so bigger pages of the same call are not read as
        # queueing forever
        self.low = rtt if rtt < self.low else self.low + (rtt - self.low) / 128

    def rising(self, factor: float, floor_s: float) -> bool:
        """Whether the smoothed round trip is well above the lowest seen: the vendor queues."""
        return self.smooth > max(self.low * factor, self.low + floor_s)


class Paces:
    """The limit each host was last found at, by key (vendor and host), for the next session.

    Kept for the process (the service's runs share it) and, through :meth:`items` and
    :meth:`update`, by whoever persists it between processes. A limit older than ``ttl_s`` is
    forgotten: a vendor's plan may have changed, and an unpaced start finds it again.
    """

    def __init__(self, ttl_s: float = 24 * 3600.0) -> None:
        self.ttl_s = ttl_s
        self._limits: dict[str, tuple[float, float]] = {}  # key -> (limit, wall time found)

    def start(self, key: str, concurrency: int) -> Aimd:
        """The pacing of a new session to ``key``: resumed at its remembered limit, if any."""
        aimd = Aimd(concurrency)
        limit = self.get(key)
        if limit is not None:
            aimd.resume(limit)
        return aimd

    def get(self, key: str) -> float | None:
        found = self._limits.get(key)
        if found is None or time.time() - found[1] > self.ttl_s:
            return None
        return found[0]

    def keep(self, key: str, aimd: Aimd) -> None:
        """Remember where a session ended up; one that never met a limit changes nothing."""
        limit = aimd.limit()
        if limit is not None:
            self._limits[key] = (limit, time.time())

    def forget(self) -> None:
        self._limits.clear()

    def items(self) -> dict[str, tuple[float, float]]:
        return dict(self._limits)

    def update(self, limits: dict[str, tuple[float, float]]) -> None:
        """Take limits persisted by an earlier process; newer ones already known win."""
        for key, (limit, found_at) in limits.items():
            if key not in self._limits or self._limits[key][1] < found_at:
                self._limits[key] = (limit, found_at)


PACES = Paces()


class Throttle:
    """The asyncio side of :class:`Aimd`: a window of requests in flight and a paced start.

    ``async with throttle.slot():`` waits for a place in the window, then for the pacer and any
    ``Retry-After`` pause; report each answer with :meth:`served` or :meth:`throttled`.
    """

    def __init__(self, aimd: Aimd) -> None:
        self.aimd = aimd
        self.in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    def slot(self) -> _Slot:
        return _Slot(self)

    def served(self, sent_at: float, kind: str = "") -> None:
        self.aimd.served(sent_at, time.monotonic(), kind)
        self._wake()

    def throttled(self, sent_at: float, retry_after: float | None) -> None:
        self.aimd.throttled(sent_at, time.monotonic(), retry_after)

    async def _enter(self) -> None:
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
        self.aimd.sent(time.monotonic())

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

    async def __aenter__(self) -> None:
        await self.throttle._enter()

    async def __aexit__(self, *exc: object) -> None:
        self.throttle._leave()
