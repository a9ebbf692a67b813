"""Peak RSS of a Kayako full sync as the helpdesk grows: flat is the goal.

    python benchmarks/bench_memory.py --tickets 10000 50000 100000 300000

Each size gets a fresh sandbox and one full sync in a process of its own; its peak RSS comes
from ``os.wait4``. Two baselines are measured in the same run: a sync of a nearly empty
helpdesk (``--empty``, 10 tickets: imports, the DuckDB connection, the snapshot), which separates
the fixed cost from what grows with the data, and the smallest size, which the other sizes are
printed as ratios to. The slope per 100k tickets is fitted (least squares) over every size and
extrapolated to 1M tickets.
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


def slope_per_100k(sizes: list[int], rss: list[float]) -> float:
    """Least-squares MB per 100k tickets over all sizes (0 with a single size)."""
    if len(sizes) < 2:
        return 0.0
    mean_n, mean_r = sum(sizes) / len(sizes), sum(rss) / len(rss)
    spread = sum((n - mean_n) ** 2 for n in sizes)
    return sum((n - mean_n) * (r - mean_r) for n, r in zip(sizes, rss, strict=True)) / spread * 1e5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendor", default="kayako")
    parser.add_argument("--tickets", type=int, nargs="+", default=[2000, 10000, 30000])
    parser.add_argument("--empty", type=int, default=10, help="tickets of the fixed-cost baseline")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--exe", default=EXE, help="the deskbridge executable to measure")
    args = parser.parse_args()
    sizes = sorted(args.tickets)
    empty = full_sync(args.vendor, args.empty, args.concurrency, args.exe)
    runs = []
    for n in sizes:
        runs.append(full_sync(args.vendor, n, args.concurrency, args.exe))
        print(f"  ({n} tickets: {runs[-1].rss_mb:.0f} MB)", flush=True)
    print(f"{args.vendor} full sync, concurrency {args.concurrency}, {args.exe}")
    print(f"  {args.empty:>8} tickets: peak RSS {empty.rss_mb:6.0f} MB (fixed cost)")
    base = runs[0]
    for n, run in zip(sizes, runs, strict=True):
        print(
            f"  {n:>8} tickets: peak RSS {run.rss_mb:6.0f} MB ({run.rss_mb / base.rss_mb:.2f}x "
            f"the {sizes[0]}-ticket baseline, +{run.rss_mb - empty.rss_mb:.0f} MB over the fixed "
            f"cost), {run.wall_s:7.1f} s wall, {run.cpu_s:7.1f} s CPU"
        )
    if len(runs) > 1:
        slope = slope_per_100k(sizes, [r.rss_mb for r in runs])
        print(
            f"  slope (least squares, {sizes[0]}-{sizes[-1]}): {slope:.1f} MB per 100k tickets; "
            f"1M extrapolated: {runs[-1].rss_mb + slope * (1_000_000 - sizes[-1]) / 100_000:.0f} MB"
        )


if __name__ == "__main__":
    main()
