"""Request rate under latency: concurrency 8 and 32 against one request at a time, and the floor.

    python benchmarks/bench_latency.py --vendor kayako --latency-ms 50 --tickets 2000

Each sync is a full sync of a fresh sandbox with ``--latency-ms`` added to every request. The
rate is requests per second of the run itself (its record's start to end, so process start-up
is left out). The baseline, measured in the same run, is the same sync with ``concurrency = 1``
over ``--baseline-tickets``; the ideal at concurrency c is c times its rate.

The ideal assumes the client's CPU is free. On a small or shared machine it is not: at 50 ms a
2-core box runs out of CPU before the latency binds. So each concurrency also runs the floor
client (``benchmarks/floor.py``: the same kind of requests with bare httpx, at the same
concurrency, against the same sandbox), whose rate is what this machine can reach at all; and
prints the client's CPU seconds (process user + system) and the sandbox's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import floor
from benchkit import EXE, Run, Sandbox, sync, write_config

OPTIONS = {"kayako": {"page_size": 100}, "omnidesk": {"page_size": 100}}


@dataclass
class Floor:
    requests: int
    seconds: float
    cpu_s: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def floor_run(box: Sandbox, concurrency: int) -> Floor:
    """The floor client against ``box``, in this process: its requests, wall and CPU seconds."""
    for key, value in box.info["credentials"].items():
        os.environ[f"BENCH_{key.upper()}"] = value
    before, cpu, started = box.requests(), time.process_time(), time.perf_counter()
    asyncio.run(floor.run(box.vendor, box.info["base_url"], concurrency))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return Floor(box.requests() - before, seconds, cpu)


def full_sync(
    vendor: str, tickets: int, latency_ms: float, concurrency: int, exe: str, with_floor: bool
) -> tuple[Run, float, Floor | None]:
    """The run, the CPU seconds the sandbox spent serving it, and the floor on the same data."""
    with Sandbox(vendor, tickets, latency_ms, exe) as box, tempfile.TemporaryDirectory() as tmp:
        config, env = write_config(box, Path(tmp), concurrency, OPTIONS.get(vendor))
        before = box.cpu_s()
        run = sync(config, env, exe)
        served = box.cpu_s() - before
        return run, served, floor_run(box, concurrency) if with_floor else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendor", default="kayako")
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--baseline-tickets", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--no-floor", action="store_true", help="skip the floor client")
    parser.add_argument("--exe", default=EXE, help="the deskbridge executable to measure")
    args = parser.parse_args()

    base, _, _ = full_sync(args.vendor, args.baseline_tickets, args.latency_ms, 1, args.exe, False)
    print(f"{args.vendor}, {args.latency_ms:g} ms per request, {args.exe}")
    print(
        f"  sequential, {args.baseline_tickets} tickets: {base.requests} requests in "
        f"{base.run_s:.1f} s = {base.rate:.1f} req/s (baseline)"
    )
    for c in args.concurrency:
        run, served, low = full_sync(
            args.vendor, args.tickets, args.latency_ms, c, args.exe, not args.no_floor
        )
        ratio = run.rate / base.rate
        print(
            f"  concurrency {c:>2}, {args.tickets} tickets: {run.requests} requests in "
            f"{run.run_s:.1f} s = {run.rate:.1f} req/s = {ratio:.1f}x sequential "
            f"({ratio / c:.2f} of the ideal {c}x); CPU: client {run.cpu_s:.1f} s, "
            f"sandbox {served:.1f} s"
        )
        if low is not None:
            print(
                f"      floor client at {c}: {low.requests} requests in {low.seconds:.1f} s = "
                f"{low.rate:.1f} req/s ({low.rate / base.rate:.1f}x sequential); CPU "
                f"{low.cpu_s:.1f} s; deskbridge at {run.rate / low.rate:.2f} of the floor's rate"
            )


if __name__ == "__main__":
    main()
