"""Kayako full and incremental sync over loopback: wall time, rows/s, requests, peak RSS.

    python benchmarks/bench_kayako.py --tickets 100000

The sandbox runs in its own process (``deskbridge sandbox kayako``), each sync in another
(``deskbridge sync``), so peak RSS is the sync's own. The baseline, measured in the same run,
is the same full sync with one request in flight at a time (``concurrency = 1``) over a
smaller sandbox; ratios compare throughput. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import httpx

EXE = shutil.which("deskbridge") or str(Path(sys.executable).with_name("deskbridge"))


class Sandbox:
    def __init__(self, tickets: int, latency_ms: float) -> None:
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [
                EXE,
                "sandbox",
                "kayako",
                "--json",
                "--tickets",
                str(tickets),
                "--latency-ms",
                str(latency_ms),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.info = json.loads(self.proc.stdout.readline())  # type: ignore[union-attr]
        self.build_s = time.perf_counter() - started

    def mutate(self, n: int) -> None:
        httpx.post(
            f"{self.info['admin_url']}/mutate", params={"n": n}, timeout=600
        ).raise_for_status()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def write_config(
    box: Sandbox, folder: Path, concurrency: int, page: int
) -> tuple[Path, dict[str, str]]:
    env = dict(os.environ)
    creds = []
    for key, value in box.info["credentials"].items():
        env[f"BENCH_{key.upper()}"] = value
        creds.append(f'{key} = "env:BENCH_{key.upper()}"')
    path = folder / "config.toml"
    path.write_text(
        f'[warehouse]\npath = "{folder / "bench.duckdb"}"\n[connections.bench]\ntype = "kayako"\n'
        f'base_url = "{box.info["base_url"]}"\ncredentials = {{ {", ".join(creds)} }}\n'
        f"concurrency = {concurrency}\n[connections.bench.options]\npage_size = {page}\n"
    )
    return path, env


def timed_sync(config: Path, env: dict[str, str]) -> dict[str, float]:
    started = time.perf_counter()
    proc = subprocess.Popen([EXE, "sync", "-c", str(config)], env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"sync failed with status {status}")
    con = duckdb.connect(str(config.parent / "bench.duckdb"), read_only=True)
    requests, reconcile, counts = con.execute(
        "SELECT requests, reconcile_requests, counts FROM sync_runs ORDER BY run_id DESC LIMIT 1"
    ).fetchone()
    con.close()
    rows = sum(v for k, v in json.loads(counts).items() if k.endswith(".read"))
    return {
        "wall_s": wall,
        "rows": rows,
        "requests": requests,
        "reconcile": reconcile,
        "rss_mb": usage.ru_maxrss / 1024,
    }


def measure(
    tickets: int, concurrency: int, latency_ms: float, page: int, change_pct: float
) -> dict[str, dict[str, float]]:
    box = Sandbox(tickets, latency_ms)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config, env = write_config(box, Path(tmp), concurrency, page)
            full = timed_sync(config, env)
            out = {"full": full, "sandbox": {"build_s": box.build_s}}
            if change_pct:
                box.mutate(max(1, int(tickets * change_pct / 100)))
                out["incremental"] = timed_sync(config, env)
            return out
    finally:
        box.stop()


def line(label: str, r: dict[str, float]) -> str:
    total = r["requests"] + r["reconcile"]
    return (
        f"{label:<34} {r['wall_s']:8.1f} s {r['rows'] / r['wall_s']:9.0f} rows/s "
        f"{total:8.0f} req {total / r['wall_s']:7.0f} req/s {r['rss_mb']:6.0f} MB peak RSS"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--baseline-tickets", type=int, default=2_000)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--page", type=int, default=500)
    parser.add_argument("--change-pct", type=float, default=1.0)
    args = parser.parse_args()

    small_seq = measure(args.baseline_tickets, 1, args.latency_ms, args.page, 0)["full"]
    small_conc = measure(args.baseline_tickets, args.concurrency, args.latency_ms, args.page, 0)[
        "full"
    ]
    big = measure(args.tickets, args.concurrency, args.latency_ms, args.page, args.change_pct)
    full, inc = big["full"], big["incremental"]

    print(
        f"kayako sync, latency {args.latency_ms} ms/request, page {args.page}, sandbox build {big['sandbox']['build_s']:.1f} s"
    )
    print(line(f"baseline {args.baseline_tickets} tickets, sequential", small_seq))
    print(line(f"{args.baseline_tickets} tickets, concurrency {args.concurrency}", small_conc))
    print(line(f"full {args.tickets} tickets", full))
    print(line(f"incremental after {args.change_pct}% changed", inc))
    rate = lambda r: (r["requests"] + r["reconcile"]) / r["wall_s"]  # noqa: E731
    print(
        f"speed-up vs sequential baseline (req/s): {rate(small_conc) / rate(small_seq):.2f}x same size, "
        f"{rate(full) / rate(small_seq):.2f}x at {args.tickets}"
    )
    print(
        f"incremental / full: time {inc['wall_s'] / full['wall_s']:.3f}, "
        f"requests {(inc['requests'] + inc['reconcile']) / (full['requests'] + full['reconcile']):.3f} "
        f"(of which reconcile {inc['reconcile']:.0f})"
    )
    print(
        f"peak RSS {args.baseline_tickets} -> {args.tickets} tickets: {small_conc['rss_mb']:.0f} -> {full['rss_mb']:.0f} MB"
    )


if __name__ == "__main__":
    main()
