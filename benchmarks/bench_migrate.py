"""Migration throughput: N source tickets (with notes and time entries) into a target helpdesk.

    python benchmarks/bench_migrate.py --source kayako --target trackit --tickets 10000 --latency-ms 20

Both sandboxes run in their own processes with the given latency per request. The baseline,
measured in the same run, migrates a sample with one write in flight at a time
(``concurrency = 1``); the full run uses the configured concurrency. Prints writes/s and ratios.
Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from benchkit import Sandbox

from deskbridge.cli import logs
from deskbridge.config import Settings
from deskbridge.push.migrate import migrate, migration_link
from deskbridge.sdk.connection import ConnectionConfig
from deskbridge.warehouse.store import Warehouse

AUTHORS = {
    "kayako": "staff:1",
    "trackit": "technician:1",
    "m4": "user:api",
    "omnidesk": "staff:1",
    "whmcs": "admin:1",
}


def connection(name: str, vendor: str, info: dict, concurrency: int) -> ConnectionConfig:
    refs = {}
    for key, value in info["credentials"].items():
        os.environ[f"BM_{name.upper()}_{key.upper()}"] = value
        refs[key] = f"env:BM_{name.upper()}_{key.upper()}"
    return ConnectionConfig(
        name=name,
        type=vendor,
        base_url=info["base_url"],
        credentials=refs,
        concurrency=concurrency,
        options={},
    )


async def one_run(args: argparse.Namespace, tickets: int, concurrency: int) -> dict[str, float]:
    with (
        Sandbox(args.source, tickets, 0, seed=7) as src,
        Sandbox(args.target, 1, args.latency_ms, seed=8) as dst,
    ):
        settings = Settings(
            connections={
                "src": connection("src", args.source, src.info, 8),
                "dst": connection("dst", args.target, dst.info, concurrency),
            }
        )
        link = migration_link(settings, "src", "dst", AUTHORS.get(args.target))
        with tempfile.TemporaryDirectory() as tmp, Warehouse(Path(tmp) / "m.duckdb") as wh:
            started = time.perf_counter()
            result, report = await migrate(wh, settings, link)
            wall = time.perf_counter() - started
            pull = wh.con.execute(
                "SELECT sum(epoch(ended_at - started_at)) FROM sync_runs"
            ).fetchone()[0]
        return {
            "wall_s": wall,
            "push_s": wall - pull,
            "writes": result.writes,
            "failed": len(result.failures),
            "migrated": sum(c["migrated"] for c in report.rows.values()),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="kayako")
    parser.add_argument("--target", default="trackit")
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--baseline-tickets", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    logs.configure("error")
    base = asyncio.run(one_run(args, args.baseline_tickets, 1))
    full = asyncio.run(one_run(args, args.tickets, args.concurrency))
    for label, r in (
        (f"baseline {args.baseline_tickets} tickets, sequential", base),
        (f"{args.tickets} tickets, concurrency {args.concurrency}", full),
    ):
        print(
            f"{label:<40} wall {r['wall_s']:8.1f} s  push {r['push_s']:8.1f} s  writes {r['writes']:7.0f}  "
            f"{r['writes'] / r['push_s']:7.1f} writes/s  failed {r['failed']:.0f}"
        )
    print(
        f"writes/s vs sequential baseline: {(full['writes'] / full['push_s']) / (base['writes'] / base['push_s']):.2f}x "
        f"(latency {args.latency_ms} ms per request on the target)"
    )


if __name__ == "__main__":
    main()
