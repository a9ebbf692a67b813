"""Incremental cost: a sync after 1% of tickets changed, against the full sync before it.

    python benchmarks/bench_incremental.py --vendors kayako omnidesk --tickets 5000

Per vendor: a full sync of a fresh sandbox (the baseline, same run), then ``/mutate`` changes
``--change-pct`` of the tickets and a plain sync reads them: its requests and its time (the run's
own, from its record, and the process wall time) as fractions of the full sync's. Then a sync
that finds nothing: the wall time from launching ``deskbridge sync`` to its first request (the
floor of every incremental run, start-up included) and the process's whole CPU time.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchkit import EXE, Run, Sandbox, sync, time_to_first_request, write_config


def describe(label: str, run: Run) -> str:
    return (
        f"  {label:<24} {run.requests:7d} requests {run.run_s:7.1f} s run "
        f"{run.wall_s:7.1f} s wall {run.cpu_s:6.1f} s CPU"
    )


def measure(vendor: str, tickets: int, change_pct: float, concurrency: int, exe: str) -> None:
    with Sandbox(vendor, tickets, 0.0, exe) as box, tempfile.TemporaryDirectory() as tmp:
        config, env = write_config(box, Path(tmp), concurrency)
        full = sync(config, env, exe)
        box.mutate(max(1, int(tickets * change_pct / 100)))
        inc = sync(config, env, exe)
        first = time_to_first_request(config, env, exe)
        idle = sync(config, env, exe)
    print(f"{vendor}, {tickets} tickets, concurrency {concurrency}, {exe}")
    print(describe("full (baseline)", full))
    print(describe(f"after {change_pct:g}% changed", inc))
    print(describe("nothing changed", idle))
    print(
        f"  {change_pct:g}% changed / full: requests {inc.requests / full.requests:.3f}, "
        f"run time {inc.run_s / full.run_s:.3f}, wall {inc.wall_s / full.wall_s:.3f}"
    )
    print(
        f"  nothing changed: first request {first:.2f} s after launch; "
        f"{idle.cpu_s:.2f} s CPU in all, {idle.requests} requests"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", nargs="+", default=["kayako", "omnidesk"])
    parser.add_argument("--tickets", type=int, default=5000)
    parser.add_argument("--change-pct", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--exe", default=EXE, help="the deskbridge executable to measure")
    args = parser.parse_args()
    for vendor in args.vendors:
        measure(vendor, args.tickets, args.change_pct, args.concurrency, args.exe)


if __name__ == "__main__":
    main()
