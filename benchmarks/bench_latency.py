"""Request rate under latency: concurrency 8 and 32 against one request at a time.

    python benchmarks/bench_latency.py --vendor kayako --latency-ms 50 --tickets 2000

Each sync is a full sync of a fresh sandbox with ``--latency-ms`` added to every request. The
rate is requests per second of the run itself (its record's start to end, so process start-up
is left out). The baseline, measured in the same run, is the same sync with ``concurrency = 1``
over ``--baseline-tickets``; the ideal at concurrency c is c times its rate. On a shared machine
the sandbox's own CPU can cap the rate before the latency does: its figure is printed too.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchkit import EXE, Run, Sandbox, sync, write_config

OPTIONS = {"kayako": {"page_size": 100}, "omnidesk": {"page_size": 100}}


def full_sync(
    vendor: str, tickets: int, latency_ms: float, concurrency: int, exe: str
) -> tuple[Run, float]:
    """The run, and the CPU seconds the sandbox spent serving it."""
    with Sandbox(vendor, tickets, latency_ms, exe) as box, tempfile.TemporaryDirectory() as tmp:
        config, env = write_config(box, Path(tmp), concurrency, OPTIONS.get(vendor))
        before = box.cpu_s()
        run = sync(config, env, exe)
        return run, box.cpu_s() - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendor", default="kayako")
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--baseline-tickets", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--exe", default=EXE, help="the deskbridge executable to measure")
    args = parser.parse_args()

    base, _ = full_sync(args.vendor, args.baseline_tickets, args.latency_ms, 1, args.exe)
    print(f"{args.vendor}, {args.latency_ms:g} ms per request, {args.exe}")
    print(
        f"  sequential, {args.baseline_tickets} tickets: {base.requests} requests in "
        f"{base.run_s:.1f} s = {base.rate:.1f} req/s (baseline)"
    )
    for c in args.concurrency:
        run, served = full_sync(args.vendor, args.tickets, args.latency_ms, c, args.exe)
        ratio = run.rate / base.rate
        print(
            f"  concurrency {c:>2}, {args.tickets} tickets: {run.requests} requests in "
            f"{run.run_s:.1f} s = {run.rate:.1f} req/s = {ratio:.1f}x sequential "
            f"({ratio / c:.2f} of the ideal {c}x); CPU: client {run.cpu_s:.1f} s, "
            f"sandbox {served:.1f} s"
        )


if __name__ == "__main__":
    main()
