"""Kayako full and incremental sync over loopback: wall time, rows/s, requests, peak RSS.

    python benchmarks/bench_kayako.py --tickets 100000

The sandbox runs in its own process (``deskbridge sandbox kayako``), each sync in another
(``deskbridge sync``), so peak RSS is the sync's own. The baseline, measured in the same run,
is the same full sync with one request in flight at a time (``concurrency = 1``) over a
smaller sandbox; ratios compare throughput. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchkit import EXE, Run, Sandbox, sync, write_config


def measure(
    tickets: int, concurrency: int, latency_ms: float, page: int, change_pct: float, exe: str
) -> tuple[Run, Run | None, float]:
    """A full sync and, with ``change_pct``, an incremental one; and the sandbox's build time."""
    with Sandbox("kayako", tickets, latency_ms, exe) as box, tempfile.TemporaryDirectory() as tmp:
        config, env = write_config(box, Path(tmp), concurrency, {"page_size": page})
        full = sync(config, env, exe)
        if not change_pct:
            return full, None, box.build_s
        box.mutate(max(1, int(tickets * change_pct / 100)))
        return full, sync(config, env, exe), box.build_s


def line(label: str, r: Run) -> str:
    return (
        f"{label:<34} {r.wall_s:8.1f} s {r.rows / r.wall_s:9.0f} rows/s "
        f"{r.requests:8.0f} req {r.requests / r.wall_s:7.0f} req/s {r.rss_mb:6.0f} MB peak RSS"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--baseline-tickets", type=int, default=2_000)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--page", type=int, default=500)
    parser.add_argument("--change-pct", type=float, default=1.0)
    parser.add_argument("--exe", default=EXE, help="the deskbridge executable to measure")
    args = parser.parse_args()

    small = (args.latency_ms, args.page, 0, args.exe)
    small_seq = measure(args.baseline_tickets, 1, *small)[0]
    small_conc = measure(args.baseline_tickets, args.concurrency, *small)[0]
    full, inc, build_s = measure(
        args.tickets, args.concurrency, args.latency_ms, args.page, args.change_pct, args.exe
    )
    assert inc is not None, "--change-pct 0 measures no incremental sync"

    print(
        f"kayako sync, latency {args.latency_ms} ms/request, page {args.page}, sandbox build {build_s:.1f} s"
    )
    print(line(f"baseline {args.baseline_tickets} tickets, sequential", small_seq))
    print(line(f"{args.baseline_tickets} tickets, concurrency {args.concurrency}", small_conc))
    print(line(f"full {args.tickets} tickets", full))
    print(line(f"incremental after {args.change_pct}% changed", inc))
    rate = lambda r: r.requests / r.wall_s  # noqa: E731
    print(
        f"speed-up vs sequential baseline (req/s): {rate(small_conc) / rate(small_seq):.2f}x same size, "
        f"{rate(full) / rate(small_seq):.2f}x at {args.tickets}"
    )
    print(
        f"incremental / full: time {inc.wall_s / full.wall_s:.3f}, "
        f"requests {inc.requests / full.requests:.3f} (of which reconcile {inc.reconcile:.0f})"
    )
    print(
        f"peak RSS {args.baseline_tickets} -> {args.tickets} tickets: {small_conc.rss_mb:.0f} -> {full.rss_mb:.0f} MB"
    )


if __name__ == "__main__":
    main()
