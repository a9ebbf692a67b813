"""Benchmark: adaptive pacing against a vendor limit the client is not told.

    python benchmarks/bench_adaptive.py --rates 5,20,100 --seconds 60 --latency-ms 20

Serves the Omnidesk emulator as ``deskbridge sandbox`` in its own process (``--server asgi``:
in-process over ``httpx.ASGITransport``, when the machine is too busy to serve R over loopback),
its token bucket set through the admin plane to R requests/s (one second of burst, 429 with ``Retry-After: 1``
above). For each R, ``--concurrency`` tasks (8) share one
:class:`~deskbridge.sdk.http.HttpSession` at that concurrency, fetching a one-ticket page for
``--seconds``, in three modes measured in the same run:

* ``adaptive``: the default, told nothing but the concurrency, first contact with the limit;
* ``again``: adaptive, a second session right after the first: it starts at the pace the first
  one learned (``deskbridge.sdk.adaptive.PACES``; an install without that memory starts over);
* ``static``: the baseline: ``rate_limit_per_s`` set to R by hand, adaptive off;
* ``fixed``: adaptive off, no rate limit: what a connection without a limit set did before,
  and what the machine serves at this concurrency (no pace can beat it).

Printed per run: successes/s as a fraction of R, and the share of requests answered 429, over
the whole run and after the first ``--warmup`` seconds (the sustained figures); and how many
calls were still refused after every retry (the caller would have failed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from deskbridge.cli import logs
from deskbridge.sandbox import build_emulator
from deskbridge.sdk.emulator import Knobs
from deskbridge.sdk.errors import RetriableError
from deskbridge.sdk.http import HttpOptions, HttpSession

MODES = ("adaptive", "again", "static", "fixed")


@dataclass
class Run:
    """Each answer's arrival time and whether it was a 429."""

    seconds: float
    answers: list[tuple[float, bool]] = field(default_factory=list)
    gave_up: int = 0  # requests still refused after every retry

    def figures(self, rate: float, after: float = 0.0) -> tuple[float, float]:
        """(successes/s over R, share answered 429) for the answers after ``after`` seconds."""
        kept = [refused for at, refused in self.answers if at >= after]
        refused = sum(kept)
        return (len(kept) - refused) / (self.seconds - after) / rate, refused / max(1, len(kept))


@dataclass
class Server:
    """Where the emulator answers, and how to set its token bucket."""

    base_url: str
    api_key: str
    set_rate: Callable[[float], None]
    stop: Callable[[], None]
    transport: httpx.AsyncBaseTransport | None = None


def serve_process(latency_ms: float) -> Server:
    exe = shutil.which("deskbridge") or str(Path(sys.executable).with_name("deskbridge"))
    args = [exe, "sandbox", "omnidesk", "--json", "--port", "0", "--tickets", "50"]
    proc = subprocess.Popen(
        [*args, "--latency-ms", str(latency_ms)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())

    def set_rate(rate: float) -> None:
        knobs = {"rate_limit_per_s": rate}
        httpx.post(f"{info['admin_url']}/knobs", json=knobs).raise_for_status()

    def stop() -> None:
        proc.terminate()
        proc.wait(timeout=10)

    return Server(info["base_url"], info["credentials"]["api_key"], set_rate, stop)


def serve_asgi(latency_ms: float) -> Server:
    emulator = build_emulator("omnidesk", tickets=50, knobs=Knobs(latency_ms=latency_ms))

    def set_rate(rate: float) -> None:
        emulator.knobs.rate_limit_per_s = rate

    transport = httpx.ASGITransport(app=emulator.app)  # type: ignore[arg-type]
    api_key = emulator.credentials()["api_key"]
    return Server("http://emulator", api_key, set_rate, lambda: None, transport)


SERVERS = {"process": serve_process, "asgi": serve_asgi}


def forget_paces() -> None:
    """Each R starts with nothing learned: every run here talks to the same host."""
    try:
        from deskbridge.sdk.adaptive import PACES
    except ImportError:  # an install from before the pace memory
        return
    PACES.forget()


def options(mode: str, rate: float, concurrency: int) -> HttpOptions:
    if mode in ("adaptive", "again"):
        return HttpOptions(concurrency=concurrency)
    limit = rate if mode == "static" else 0
    return HttpOptions(concurrency=concurrency, adaptive=False, rate_limit_per_s=limit)


async def run(server: Server, mode: str, rate: float, seconds: float, workers: int) -> Run:
    server.set_rate(rate)
    await asyncio.sleep(1.5)  # the bucket fills: every run starts with its burst saved up
    result = Run(seconds)
    started = time.monotonic()

    async def record(response: httpx.Response) -> None:
        result.answers.append((time.monotonic() - started, response.status_code == 429))

    params = {"apiKey": server.api_key, "itemLimit": "1"}
    opts = options(mode, rate, workers)
    async with HttpSession(
        "omnidesk", server.base_url, options=opts, transport=server.transport
    ) as session:
        session.client.event_hooks["response"].append(record)
        stop = started + seconds

        async def worker() -> None:
            while time.monotonic() < stop:
                try:
                    await session.fetch(
                        "GET",
                        "/api/v2/ticket",
                        params=params,
                        parse=lambda r: None,
                        resource="tickets",
                    )
                except RetriableError:
                    result.gave_up += 1

        await asyncio.gather(*(worker() for _ in range(workers)))
    result.seconds = time.monotonic() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="5,20,100")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=8, help="also the tasks fetching")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--server", choices=SERVERS, default="process")
    args = parser.parse_args()
    logs.configure("error", json=True)  # each 429's retry would print a line
    server = SERVERS[args.server](args.latency_ms)
    try:
        print(
            f"omnidesk emulator ({args.server}), {args.latency_ms:g} ms latency, "
            f"concurrency {args.concurrency}, {args.seconds:g} s a run, "
            f"sustained = after {args.warmup:g} s"
        )
        print(
            f"{'R':>5} {'mode':>9} {'rate/R':>7} {'429 %':>6} {'sustained rate/R':>17} {'429 %':>6}"
            f" {'gave up':>7}"
        )
        for rate in [float(r) for r in args.rates.split(",")]:
            forget_paces()
            for mode in args.modes.split(","):
                result = asyncio.run(run(server, mode, rate, args.seconds, args.concurrency))
                whole, steady = result.figures(rate), result.figures(rate, args.warmup)
                print(
                    f"{rate:>5g} {mode:>9} {whole[0]:>7.3f} {whole[1] * 100:>6.2f} "
                    f"{steady[0]:>17.3f} {steady[1] * 100:>6.2f} {result.gave_up:>7}",
                    flush=True,
                )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
