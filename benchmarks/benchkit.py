"""What the benchmarks share: a sandbox in its own process, a config for it, a timed sync.

Every sync runs as ``deskbridge sync`` in a process of its own, so its CPU time and peak RSS
(``os.wait4``) are the sync's alone. ``--exe`` points the benchmarks at another installation of
deskbridge (say, a checkout of an older commit in its own venv) to compare two versions on the
same machine in one session.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import httpx

EXE = shutil.which("deskbridge") or str(Path(sys.executable).with_name("deskbridge"))


class Sandbox:
    """``deskbridge sandbox VENDOR`` in its own process; ``info`` is its JSON line."""

    def __init__(
        self,
        vendor: str,
        tickets: int,
        latency_ms: float = 0.0,
        exe: str = EXE,
        seed: int | None = None,
    ) -> None:
        started = time.perf_counter()
        self.vendor = vendor
        self.proc = subprocess.Popen(
            [
                exe,
                "sandbox",
                vendor,
                "--json",
                "--tickets",
                str(tickets),
                "--latency-ms",
                str(latency_ms),
                *(["--seed", str(seed)] if seed is not None else []),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.info: dict[str, Any] = json.loads(self.proc.stdout.readline())  # type: ignore[union-attr]
        self.build_s = time.perf_counter() - started

    def mutate(self, n: int) -> None:
        httpx.post(
            f"{self.info['admin_url']}/mutate", params={"n": n}, timeout=600
        ).raise_for_status()

    def knobs(self, **values: Any) -> None:
        httpx.post(f"{self.info['admin_url']}/knobs", json=values, timeout=60).raise_for_status()

    def requests(self) -> int:
        return int(httpx.get(f"{self.info['admin_url']}/stats", timeout=60).json()["total"])

    def cpu_s(self) -> float:
        """CPU seconds the sandbox process has used so far (Linux ``/proc``)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def write_config(
    box: Sandbox,
    folder: Path,
    concurrency: int,
    options: dict[str, Any] | None = None,
    base_url: str | None = None,
) -> tuple[Path, dict[str, str]]:
    """A config with one connection ``bench`` to ``box``; credentials go through the environment."""
    env = dict(os.environ)
    creds = []
    for key, value in box.info["credentials"].items():
        env[f"BENCH_{key.upper()}"] = value
        creds.append(f'{key} = "env:BENCH_{key.upper()}"')
    opts = "".join(f"{k} = {json.dumps(v)}\n" for k, v in (options or {}).items())
    path = folder / "config.toml"
    path.write_text(
        f'[warehouse]\npath = "{folder / "bench.duckdb"}"\n[connections.bench]\n'
        f'type = "{box.vendor}"\nbase_url = "{base_url or box.info["base_url"]}"\n'
        f"credentials = {{ {', '.join(creds)} }}\nconcurrency = {concurrency}\n"
        f"[connections.bench.options]\n{opts}"
    )
    return path, env


@dataclass
class Run:
    """One sync process: wall and CPU seconds of the process, the run's own duration (from its
    record, so without start-up), requests (``reconcile`` of them settling deletions), rows
    read, peak RSS."""

    wall_s: float
    cpu_s: float
    run_s: float
    requests: int
    reconcile: int
    rows: int
    tickets: int
    rss_mb: float

    @property
    def rate(self) -> float:
        """Requests per second of the run (start-up excluded)."""
        return self.requests / self.run_s if self.run_s else 0.0


def sync(config: Path, env: dict[str, str], exe: str = EXE, *extra: str) -> Run:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [exe, "sync", "-c", str(config), *extra], env=env, stdout=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"sync failed with status {status}")
    con = duckdb.connect(str(config.parent / "bench.duckdb"), read_only=True)
    requests, reconcile, counts, seconds = con.execute(
        "SELECT requests, reconcile_requests, counts, epoch(ended_at) - epoch(started_at) "
        "FROM sync_runs ORDER BY run_id DESC LIMIT 1"
    ).fetchone()  # type: ignore[misc]
    con.close()
    read = {k: v for k, v in json.loads(counts).items() if k.endswith(".read")}
    return Run(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        run_s=float(seconds),
        requests=int(requests) + int(reconcile),
        reconcile=int(reconcile),
        rows=sum(read.values()),
        tickets=int(read.get("tickets.read", 0)),
        rss_mb=usage.ru_maxrss / 1024,
    )


class FirstRequest:
    """A loopback TCP forwarder to ``target`` that notes when the first connection arrives."""

    def __init__(self, target: str) -> None:
        host, port = target.removeprefix("http://").split(":")
        self.target = (host, int(port))
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.first: float | None = None
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self.sock.accept()
            if self.first is None:
                self.first = time.perf_counter()
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


def time_to_first_request(config: Path, env: dict[str, str], exe: str = EXE) -> float:
    """Seconds from launching ``deskbridge sync`` to its first connection to the vendor."""
    text = config.read_text()
    base = next(line.split('"')[1] for line in text.splitlines() if line.startswith("base_url"))
    proxy = FirstRequest(base)
    config.write_text(text.replace(base, proxy.url))
    try:
        started = time.perf_counter()
        subprocess.run([exe, "sync", "-c", str(config)], env=env, stdout=subprocess.DEVNULL)
        return (proxy.first or time.perf_counter()) - started
    finally:
        config.write_text(text)
