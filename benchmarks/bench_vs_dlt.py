"""Client CPU per 1,000 tickets: deskbridge against the floor and dlt, on the same sandbox.

    python benchmarks/bench_vs_dlt.py --vendors omnidesk kayako --tickets 5000 --rounds 2
    python benchmarks/bench_vs_dlt.py --dlt-python /path/to/venv/bin/python   # dlt elsewhere
    python benchmarks/bench_vs_dlt.py --vendors kayako --exe old/bin/deskbridge new/bin/deskbridge

One sandbox per vendor serves every contender, run alternately for ``--rounds`` rounds, each in
a process of its own into a fresh DuckDB file, so each CPU figure (user + system, ``os.wait4``)
is that process's alone. The baseline, measured in the same run, is the floor
(``benchmarks/floor.py``): the same list pages and per-ticket requests with httpx at the same
concurrency, orjson (Omnidesk) or lxml (Kayako) decoding, one Arrow insert. dlt's ``rest_api``
source (``benchmarks/dlt_omnidesk.py``, parquet, ``--concurrency`` extract workers) runs for
Omnidesk when an interpreter with dlt is at hand (``pip install -e '.[bench]'``). Each figure is
the lowest of its rounds: on a shared machine the lowest is the least disturbed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchkit import EXE, Sandbox, sync, write_config

HERE = Path(__file__).parent


def _child_cpu(argv: list[str], env: dict[str, str]) -> float:
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{argv[1]} failed with status {status}")
    return usage.ru_utime + usage.ru_stime


def contenders(box: Sandbox, args: argparse.Namespace) -> dict[str, object]:
    env = dict(os.environ) | {f"BENCH_{k.upper()}": v for k, v in box.info["credentials"].items()}
    base = box.info["base_url"]
    out: dict[str, object] = {}

    def floor(tmp: Path) -> float:
        argv = [sys.executable, str(HERE / "floor.py"), box.vendor, base, str(tmp / "f.duckdb")]
        return _child_cpu([*argv, "--concurrency", str(args.concurrency)], env)

    def deskbridge(exe: str) -> Callable[[Path], float]:
        def run(tmp: Path) -> float:
            config, sync_env = write_config(box, tmp, args.concurrency)
            return sync(config, sync_env, exe).cpu_s

        return run

    out["floor"] = floor
    for i, exe in enumerate(args.exe):
        out["deskbridge" if len(args.exe) == 1 else f"deskbridge {i + 1}"] = deskbridge(exe)
    if box.vendor == "omnidesk" and args.dlt_python:

        def dlt(tmp: Path) -> float:
            argv = [args.dlt_python, str(HERE / "dlt_omnidesk.py"), base, str(tmp)]
            return _child_cpu([*argv, "--workers", str(args.concurrency)], env)

        out["dlt rest_api"] = dlt
    return out


def measure(vendor: str, args: argparse.Namespace) -> None:
    best: dict[str, float] = {}
    with Sandbox(vendor, args.tickets, 0.0, args.exe[0]) as box:
        runs = contenders(box, args)
        for _ in range(args.rounds):
            for name, run in runs.items():
                with tempfile.TemporaryDirectory() as tmp:
                    cpu = run(Path(tmp))  # type: ignore[operator]
                best[name] = min(best.get(name, cpu), cpu)
    floor = best["floor"]
    print(f"{vendor}, {args.tickets} tickets, concurrency {args.concurrency}")
    for i, exe in enumerate(args.exe):
        print(f"  deskbridge{'' if len(args.exe) == 1 else f' {i + 1}'}: {exe}")
    for name, cpu in best.items():
        print(
            f"  {name:<14} {cpu:7.2f} s CPU = {cpu / args.tickets * 1000:5.2f} s per 1,000 "
            f"tickets = {cpu / floor:.2f}x the floor"
        )
    ours = [name for name in best if name.startswith("deskbridge")]
    if "dlt rest_api" in best:
        for name in ours:
            print(f"  dlt / {name}: {best['dlt rest_api'] / best[name]:.2f}x")
    if len(ours) > 1:
        for name in ours[1:]:
            print(f"  {name} / {ours[0]}: {best[name] / best[ours[0]]:.3f}x")


def _dlt_python() -> str | None:
    try:
        import dlt  # noqa: F401
    except ImportError:
        return None
    return sys.executable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", nargs="+", default=["omnidesk", "kayako"])
    parser.add_argument("--tickets", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--exe",
        nargs="+",
        default=[EXE],
        help="the deskbridge executables to measure (several: alternately, with their ratio)",
    )
    parser.add_argument("--dlt-python", default=_dlt_python(), help="an interpreter with dlt")
    args = parser.parse_args()
    if args.dlt_python is None:
        print("dlt is not installed (pip install -e '.[bench]'): measuring without it")
    for vendor in args.vendors:
        measure(vendor, args)


if __name__ == "__main__":
    main()
