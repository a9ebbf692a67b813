"""Scale-out: serve workers sharing connections on a DuckLake, and the lake against the file.

    eval "$(.ci/pg start)"   # a throwaway PostgreSQL for the lake's catalog
    python benchmarks/bench_scale.py --connections 8 --tickets 150 --latency-ms 50 --workers 1,2,4

Part 1: 1, 2 and 4 worker processes share 8 connections (each a Kayako sandbox process answering
after ``--latency-ms``). A worker does what ``deskbridge serve`` does for a slot: take the
connection's PostgreSQL advisory lock, skip it if held (or already synced), else run a full sync
into the lake. Prints total tickets/s from the first run's start to the last run's end and the
speed-up over one worker, all measured in this run. Part 2: the same full sync of every connection
by one process into a DuckDB file, then into a lake: wall time and CPU. Not a test: nothing here
asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from deskbridge.cli import logs
from deskbridge.pull import engine
from deskbridge.sdk.connection import ConnectionConfig
from deskbridge.testing import NO_PG, pg_dsn, scratch_lake
from deskbridge.warehouse.lake import LakeSpec, LakeWarehouse
from deskbridge.warehouse.locks import WorkLocks
from deskbridge.warehouse.store import Warehouse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_migrate import sandbox


def connection(name: str, info: dict[str, Any]) -> ConnectionConfig:
    refs = {}
    for key, value in info["credentials"].items():
        os.environ[f"BS_{name.upper()}_{key.upper()}"] = value
        refs[key] = f"env:BS_{name.upper()}_{key.upper()}"
    return ConnectionConfig(
        name=name, type="kayako", base_url=info["base_url"], credentials=refs, options={}
    )


def worker(index: int, spec: LakeSpec, boxes: dict[str, Any], start_at: float) -> dict[str, Any]:
    """One worker: every connection in turn (from its own offset) that no one else has taken."""
    wh = LakeWarehouse(spec)  # the extensions load before the clock starts
    locks = WorkLocks(spec.postgres or "")
    names = sorted(boxes)
    names = names[index:] + names[:index]
    time.sleep(max(0.0, start_at - time.time()))
    cpu, runs, spans = time.process_time(), 0, []
    for name in names:
        if not locks.try_take("connection", name):
            continue
        try:
            done = wh.con.execute(
                "SELECT count(*) FROM sync_runs WHERE connection = ? AND status = 'success'", [name]
            ).fetchone()
            if done and done[0]:
                continue
            began = time.time()
            asyncio.run(engine.sync(wh, connection(name, boxes[name])))
            spans.append((began, time.time()))
            runs += 1
        finally:
            locks.release("connection", name)
    wh.close()
    locks.close()
    return {"runs": runs, "spans": spans, "cpu": time.process_time() - cpu}


def scale(args: argparse.Namespace, boxes: dict[str, Any], n: int, tmp: Path) -> dict[str, Any]:
    with scratch_lake(tmp / f"lake-{n}") as spec:
        LakeWarehouse(spec).close()  # the lake made once, before the workers
        start_at = time.time() + 8 + 2 * n  # every worker loaded and attached by then
        payload = json.dumps(
            {"catalog": spec.catalog, "data": str(spec.data_path), "boxes": boxes, "at": start_at}
        )
        procs = [
            subprocess.Popen(
                [sys.executable, __file__, "--worker", str(i)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for i in range(n)
        ]
        results = [json.loads(p.communicate(payload)[0].splitlines()[-1]) for p in procs]
    spans = [s for r in results for s in r["spans"]]
    wall = max(e for _, e in spans) - min(b for b, _ in spans)
    tickets = args.tickets * len(boxes)
    return {
        "workers": n,
        "runs": sum(r["runs"] for r in results),
        "wall_s": wall,
        "tickets_per_s": tickets / wall,
        "cpu_s": sum(r["cpu"] for r in results),
    }


def file_vs_lake(boxes: dict[str, Any], tmp: Path) -> dict[str, tuple[float, float]]:
    """One process, every connection in turn: (wall, CPU) seconds on each backend."""
    out = {}
    with scratch_lake(tmp / "lake-single") as spec:
        for backend in ("file", "lake"):
            wh = Warehouse(tmp / "w.duckdb") if backend == "file" else LakeWarehouse(spec)
            wall, cpu = time.perf_counter(), time.process_time()
            for name, info in sorted(boxes.items()):
                asyncio.run(engine.sync(wh, connection(name, info)))
            out[backend] = (time.perf_counter() - wall, time.process_time() - cpu)
            wh.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--tickets", type=int, default=150)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logs.configure("warning", json=True)
    if args.worker is not None:
        job = json.loads(sys.stdin.readline())
        spec = LakeSpec(job["catalog"], Path(job["data"]))
        print(json.dumps(worker(args.worker, spec, job["boxes"], job["at"])))
        return
    if pg_dsn() is None:
        sys.exit(NO_PG)
    procs, boxes = [], {}
    for i in range(args.connections):
        proc, info = sandbox("kayako", args.tickets, args.latency_ms, 100 + i)
        procs.append(proc)
        boxes[f"desk{i}"] = info
    try:
        with tempfile.TemporaryDirectory() as tmp:
            report(args, boxes, Path(tmp))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()


def report(args: argparse.Namespace, boxes: dict[str, Any], tmp: Path) -> None:
    print(
        f"{args.connections} Kayako connections x {args.tickets} tickets, "
        f"{args.latency_ms:g} ms latency per request"
    )
    base = None
    for n in (int(w) for w in args.workers.split(",")):
        r = scale(args, boxes, n, tmp)
        base = base or r["tickets_per_s"]
        print(
            f"  {n} worker(s): {r['runs']} runs, {r['wall_s']:.1f} s, "
            f"{r['tickets_per_s']:.1f} tickets/s, {r['tickets_per_s'] / base:.2f}x one worker, "
            f"CPU {r['cpu_s']:.1f} s"
        )
    figures = file_vs_lake(boxes, tmp)
    (fw, fc), (lw, lc) = figures["file"], figures["lake"]
    print("One process, every connection in turn (full sync):")
    print(f"  DuckDB file: {fw:.1f} s wall, {fc:.1f} s CPU")
    print(
        f"  DuckLake:    {lw:.1f} s wall, {lc:.1f} s CPU ({lw / fw:.2f}x wall, {lc / fc:.2f}x CPU)"
    )


if __name__ == "__main__":
    main()
