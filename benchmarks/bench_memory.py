"""Peak RSS of a Kayako full sync as the helpdesk grows: flat is the goal.

    python benchmarks/bench_memory.py --tickets 10000 50000 100000 300000

Each size gets a fresh sandbox and one full sync in a process of its own; its peak RSS comes
from ``os.wait4``. The baseline is the smallest size, measured in the same run: the figures are
printed as ratios to it, with the slope per 100k tickets between the two largest sizes (what 1M
would add, extrapolated; below DuckDB's memory limit its cache still grows with the file).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchkit import EXE, Run, Sandbox, sync, write_config


def full_sync(vendor: str, tickets: int, concurrency: int, exe: str) -> Run:
    with Sandbox(vendor, tickets, 0.0, exe) as box, tempfile.TemporaryDirectory() as tmp:
        config, env = write_config(box, Path(tmp), concurrency)
        return sync(config, env, exe)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendor", default="kayako")
    parser.add_argument("--tickets", type=int, nargs="+", default=[2000, 10000, 30000])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--exe", default=EXE, help="the deskbridge executable to measure")
    args = parser.parse_args()
    sizes = sorted(args.tickets)
    runs = [full_sync(args.vendor, n, args.concurrency, args.exe) for n in sizes]
    print(f"{args.vendor} full sync, concurrency {args.concurrency}, {args.exe}")
    base = runs[0]
    for n, run in zip(sizes, runs, strict=True):
        print(
            f"  {n:>8} tickets: peak RSS {run.rss_mb:6.0f} MB ({run.rss_mb / base.rss_mb:.2f}x "
            f"the {sizes[0]}-ticket baseline), {run.wall_s:7.1f} s wall, {run.cpu_s:7.1f} s CPU"
        )
    if len(runs) > 1:  # the last two sizes: DuckDB's cache fills up to its limit first
        slope = (runs[-1].rss_mb - runs[-2].rss_mb) / (sizes[-1] - sizes[-2]) * 100_000
        print(
            f"  slope between the two largest: {slope:.1f} MB per 100k tickets; 1M extrapolated: "
            f"{runs[-1].rss_mb + slope * (1_000_000 - sizes[-1]) / 100_000:.0f} MB"
        )


if __name__ == "__main__":
    main()
