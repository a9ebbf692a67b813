"""Incremental cost: a sync after 1% of tickets changed, against the full sync before it.

    python benchmarks/bench_incremental.py --vendors kayako omnidesk --tickets 5000

Per vendor: a full sync of a fresh sandbox (the baseline, same run), then ``/mutate`` changes
``--change-pct`` of the tickets and a plain sync reads them: its requests and its time (the run's
own, from its record, and the process wall time) as fractions of the full sync's. Then syncs
that find nothing (``--idle`` of them): the process CPU time and wall time from launching
``deskbridge sync`` to its first request (the floor of every incremental run, start-up
included), and the process's whole CPU time. ``--exe old/bin/deskbridge new/bin/deskbridge``
measures two installs on the same sandbox, their idle syncs alternated, and prints the ratio.
Bytecode is written and read as an installed package would (``PYTHONDONTWRITEBYTECODE`` is
dropped): compiling the package from source on every start would be measured otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from benchkit import EXE, FirstRequest, Run, Sandbox, _pipe, sync, write_config


class CpuAtFirstRequest(FirstRequest):
    """A :class:`FirstRequest` forwarder that also reads the CPU time ``pid`` has used by then."""

    pid = 0
    cpu_s: float | None = None

    def _accept(self) -> None:
        while True:
            client, _ = self.sock.accept()
            if self.first is None:
                self.first = time.perf_counter()
                self.cpu_s = process_cpu_s(self.pid) if self.pid else None
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) process ``pid`` has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def first_request(config: Path, env: dict[str, str], exe: str) -> tuple[float, float, float]:
    """(wall s, process CPU s) from launching ``deskbridge sync`` to its first connection to the
    vendor, and the process's whole CPU time."""
    text = config.read_text()
    base = next(line.split('"')[1] for line in text.splitlines() if line.startswith("base_url"))
    proxy = CpuAtFirstRequest(base)
    config.write_text(text.replace(base, proxy.url))
    try:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [exe, "sync", "-c", str(config)], env=env, stdout=subprocess.DEVNULL
        )
        proxy.pid = proc.pid
        _, status, usage = os.wait4(proc.pid, 0)
        if status != 0:
            raise SystemExit(f"sync failed with status {status}")
        wall = (proxy.first or time.perf_counter()) - started
        whole = usage.ru_utime + usage.ru_stime
        return wall, proxy.cpu_s if proxy.cpu_s is not None else whole, whole
    finally:
        config.write_text(text)


def describe(label: str, run: Run) -> str:
    return (
        f"  {label:<24} {run.requests:7d} requests {run.run_s:7.1f} s run "
        f"{run.wall_s:7.1f} s wall {run.cpu_s:6.1f} s CPU"
    )


def measure(
    vendor: str,
    tickets: int,
    change_pct: float,
    concurrency: int,
    exes: list[str],
    idle_runs: int,
    latency_ms: float = 0.0,
) -> None:
    """Each install in ``exes`` syncs the same sandbox into its own warehouse, step by step, and
    the syncs that find nothing alternate between them."""
    with Sandbox(vendor, tickets, latency_ms, exes[0]) as box, contextlib.ExitStack() as stack:
        configs = []
        for _ in exes:
            config, env = write_config(
                box, Path(stack.enter_context(tempfile.TemporaryDirectory())), concurrency
            )
            env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its bytecode
            configs.append((config, env))
        full = [sync(c, e, exe) for (c, e), exe in zip(configs, exes, strict=True)]
        box.mutate(max(1, int(tickets * change_pct / 100)))
        inc = [sync(c, e, exe) for (c, e), exe in zip(configs, exes, strict=True)]
        firsts: list[list[tuple[float, float, float]]] = [[] for _ in exes]
        for _ in range(idle_runs):
            for i, ((c, e), exe) in enumerate(zip(configs, exes, strict=True)):
                firsts[i].append(first_request(c, e, exe))
        idle = [sync(c, e, exe) for (c, e), exe in zip(configs, exes, strict=True)]
    if latency_ms:
        print(f"(every answer of the sandbox {latency_ms:g} ms late, as a remote vendor's)")
    cpu_first = []
    for i, exe in enumerate(exes):
        cpu_first.append(
            report(
                vendor, tickets, change_pct, concurrency, exe, full[i], inc[i], idle[i], firsts[i]
            )
        )
    for exe, cpu in zip(exes[1:], cpu_first[1:], strict=True):
        print(f"  CPU before the first request, {exe} / {exes[0]}: {cpu / cpu_first[0]:.2f}")


def report(
    vendor: str,
    tickets: int,
    change_pct: float,
    concurrency: int,
    exe: str,
    full: Run,
    inc: Run,
    idle: Run,
    firsts: list[tuple[float, float, float]],
) -> float:
    """Print one install's figures; returns its median CPU before the first request."""
    print(f"{vendor}, {tickets} tickets, concurrency {concurrency}, {exe}")
    print(describe("full (baseline)", full))
    print(describe(f"after {change_pct:g}% changed", inc))
    print(describe("nothing changed", idle))
    print(
        f"  {change_pct:g}% changed / full: requests {inc.requests / full.requests:.3f}, "
        f"run time {inc.run_s / full.run_s:.3f}, wall {inc.wall_s / full.wall_s:.3f}, "
        f"CPU {inc.cpu_s / full.cpu_s:.3f}"
    )
    wall, cpu, whole = (statistics.median(f[i] for f in firsts) for i in range(3))
    print(
        f"  nothing changed (median of {len(firsts)}): first request {wall:.2f} s after launch, "
        f"{cpu:.2f} s CPU before it; {whole:.2f} s CPU in all, {idle.requests} requests"
    )
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", nargs="+", default=["kayako", "omnidesk"])
    parser.add_argument("--tickets", type=int, default=5000)
    parser.add_argument("--change-pct", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--idle", type=int, default=3, help="syncs that find nothing, measured")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="added to every answer, as a remote vendor's"
    )
    parser.add_argument(
        "--exe",
        nargs="+",
        default=[EXE],
        help="the deskbridge executables to measure (the first is the baseline of the ratios)",
    )
    args = parser.parse_args()
    for vendor in args.vendors:
        measure(
            vendor,
            args.tickets,
            args.change_pct,
            args.concurrency,
            args.exe,
            args.idle,
            args.latency_ms,
        )


if __name__ == "__main__":
    main()
