"""Benchmark: a full Track-It! sync from the emulator over loopback, against a sequential baseline.

    python benchmarks/bench_trackit.py --tickets 100000 --latency-ms 20

Serves the emulator with ``--latency-ms`` added to every request: on a loopback port from a
thread of this process (``--server thread``, :func:`deskbridge.sandbox.start_in_thread`), as
``deskbridge sandbox`` in its own process (``--server process``: no shared GIL, and the peak RSS
printed is the connector's alone), or in-process over ``httpx.ASGITransport`` (``--server asgi``:
no sockets, for machines where loopback HTTP is the bottleneck). Then:

1. a full sync at ``--concurrency`` (wall time, requests/s, peak RSS);
2. a sequential baseline (concurrency 1) on a separate ``--baseline-tickets`` emulator, served the
   same way, extrapolated per request to the full sync's request count;
3. ``--changes`` emulator mutations, then an incremental sync with the closed reconcile not due,
   and another with it due: their requests and time as fractions of the full sync.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from deskbridge.cli import logs
from deskbridge.pull import engine
from deskbridge.sandbox import build_emulator, start_in_thread
from deskbridge.sdk.connection import ConnectionConfig
from deskbridge.sdk.emulator import Knobs
from deskbridge.warehouse.store import Warehouse


@dataclass
class Server:
    base_url: str
    credentials: dict[str, str]
    mutate: Callable[[int], object]
    stop: Callable[[], None]
    rss_mb: Callable[[], float] = lambda: 0.0
    transport: httpx.AsyncBaseTransport | None = None


def serve_thread(tickets: int, latency_ms: float) -> Server:
    emulator = build_emulator("trackit", tickets=tickets, knobs=Knobs(latency_ms=latency_ms))
    running = start_in_thread(emulator)
    return Server(running.base_url, emulator.credentials(), emulator.mutate, running.stop)


def serve_asgi(tickets: int, latency_ms: float) -> Server:
    emulator = build_emulator("trackit", tickets=tickets, knobs=Knobs(latency_ms=latency_ms))
    transport = httpx.ASGITransport(app=emulator.app)
    return Server(
        "http://emulator",
        emulator.credentials(),
        emulator.mutate,
        lambda: None,
        transport=transport,
    )


def serve_process(tickets: int, latency_ms: float) -> Server:
    exe = shutil.which("deskbridge") or str(Path(sys.executable).with_name("deskbridge"))
    args = [
        exe,
        "sandbox",
        "trackit",
        "--json",
        "--port",
        "0",
        "--tickets",
        str(tickets),
        "--latency-ms",
        str(latency_ms),
    ]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())

    def stop() -> None:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()  # type: ignore[union-attr]

    def rss_mb() -> float:
        with open(f"/proc/{proc.pid}/status") as status:
            line = next(x for x in status if x.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024

    def mutate(n: int) -> None:
        httpx.post(f"{info['admin_url']}/mutate", params={"n": n}, timeout=60).raise_for_status()

    return Server(info["base_url"], info["credentials"], mutate, stop, rss_mb)


SERVERS = {"thread": serve_thread, "process": serve_process, "asgi": serve_asgi}


def connection(server: Server, name: str, concurrency: int, **options: Any) -> ConnectionConfig:
    refs = {}
    for key, value in server.credentials.items():
        env = f"BENCH_{name.upper()}_{key.upper()}"
        os.environ[env] = value
        refs[key] = f"env:{env}"
    return ConnectionConfig(
        name=name,
        type="trackit",
        base_url=server.base_url,
        credentials=refs,
        concurrency=concurrency,
        options=options,
    )


@dataclass
class Timed:
    seconds: float
    requests: int
    reconcile: int

    @property
    def rate(self) -> float:
        return (self.requests + self.reconcile) / self.seconds


def timed_sync(wh: Warehouse, config: ConnectionConfig, server: Server) -> Timed:
    started = time.perf_counter()
    result = asyncio.run(engine.sync(wh, config, transport=server.transport))
    seconds = time.perf_counter() - started
    return Timed(
        seconds, result.requests.get("incremental", 0), result.requests.get("reconcile", 0)
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def full_and_incremental(
    args: argparse.Namespace, serve: Callable[[int, float], Server], workdir: Path
) -> dict[str, Any]:
    started = time.perf_counter()
    server = serve(args.tickets, args.latency_ms)
    print(
        f"emulator with {args.tickets} tickets ready in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    try:
        with Warehouse(workdir / "full.duckdb") as wh:
            config = connection(server, "bench", args.concurrency, closed_reconcile_every="24h")
            full = timed_sync(wh, config, server)
            print(f"full sync: {full.seconds:.1f} s, {full.requests} requests", flush=True)
            rss = peak_rss_mb()
            server.mutate(args.changes)
            incremental = timed_sync(wh, config, server)
            server.mutate(args.changes)
            reconciled = timed_sync(
                wh,
                connection(server, "bench", args.concurrency, closed_reconcile_every="0s"),
                server,
            )
        return {
            "full": full,
            "incremental": incremental,
            "reconciled": reconciled,
            "rss": rss,
            "emulator_rss": server.rss_mb(),
        }
    finally:
        server.stop()


def baseline(
    args: argparse.Namespace, serve: Callable[[int, float], Server], workdir: Path
) -> Timed:
    server = serve(args.baseline_tickets, args.latency_ms)
    try:
        with Warehouse(workdir / "baseline.duckdb") as wh:
            return timed_sync(wh, connection(server, "baseline", 1), server)
    finally:
        server.stop()


def report(args: argparse.Namespace, runs: dict[str, Any], base: Timed) -> None:
    full, inc, rec = runs["full"], runs["incremental"], runs["reconciled"]
    sequential_s = full.requests / base.rate
    rows = [
        ("full sync", full.seconds, full.requests, full.reconcile, full.rate),
        (
            f"sequential sample ({args.baseline_tickets} tickets)",
            base.seconds,
            base.requests,
            0,
            base.rate,
        ),
        (
            f"incremental, {args.changes} changes",
            inc.seconds,
            inc.requests,
            inc.reconcile,
            inc.rate,
        ),
        (
            f"incremental + closed reconcile, {args.changes} changes",
            rec.seconds,
            rec.requests,
            rec.reconcile,
            rec.rate,
        ),
    ]
    print(
        f"\n{args.tickets} tickets, {args.latency_ms:g} ms latency, concurrency {args.concurrency}, server: {args.server}"
    )
    print(f"{'run':<48}{'wall s':>9}{'requests':>10}{'reconcile':>11}{'req/s':>9}")
    for name, seconds, requests, reconcile, rate in rows:
        print(f"{name:<48}{seconds:>9.1f}{requests:>10}{reconcile:>11}{rate:>9.0f}")
    print(
        f"\nsequential full sync, extrapolated: {sequential_s:,.0f} s ({full.requests} requests at {base.rate:.1f} req/s)"
    )
    print(
        f"speed-up over sequential:           {sequential_s / full.seconds:.1f}x (req/s {full.rate / base.rate:.1f}x)"
    )
    print(f"requests per ticket, full sync:     {full.requests / args.tickets:.2f}")
    print(
        f"incremental / full:                 requests {inc.requests / full.requests:.3f}, time {inc.seconds / full.seconds:.3f}"
    )
    total = rec.requests + rec.reconcile
    print(
        f"incremental + reconcile / full:     requests {total / full.requests:.3f}, time {rec.seconds / full.seconds:.3f}"
    )
    where = "this process" + ("" if args.server == "process" else ", emulator included")
    print(f"peak RSS after full sync:           {runs['rss']:.0f} MB ({where})")
    if args.server == "process":
        print(f"emulator process peak RSS:          {runs['emulator_rss']:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--baseline-tickets", type=int, default=200)
    parser.add_argument(
        "--changes", type=int, default=200, help="emulator mutations before each incremental run"
    )
    parser.add_argument("--server", choices=tuple(SERVERS), default="thread")
    args = parser.parse_args()
    logs.configure("warning", json=True)
    serve = SERVERS[args.server]
    with tempfile.TemporaryDirectory() as tmp:
        runs = full_and_incremental(args, serve, Path(tmp))
        base = baseline(args, serve, Path(tmp))
    report(args, runs, base)


if __name__ == "__main__":
    main()
