"""`deskbridge serve` in its own process against sandbox processes, as operators run it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from sandbox_proc import DESKBRIDGE, SandboxProcess

__all__ = ["DESKBRIDGE", "SandboxProcess", "ServiceProcess", "query", "write_config"]


def write_config(
    path: Path,
    sandboxes: dict[str, SandboxProcess],
    schedule: str,
    options: dict[str, dict[str, Any]],
    **settings: Any,
) -> dict[str, str]:
    """A config.toml with one scheduled connection per sandbox; returns the environment it needs."""
    env = dict(os.environ)
    parts = [f'[warehouse]\npath = "{path.parent / "warehouse.duckdb"}"\n']
    extra = "".join(
        f"{k} = {json.dumps(v)}\n" for k, v in {"retry_backoff_s": 0.05, **settings}.items()
    )
    for name, box in sandboxes.items():
        creds = []
        for key, value in box.info["credentials"].items():
            var = f"SVC_{name.upper()}_{key.upper()}"
            env[var] = value
            creds.append(f'{key} = "env:{var}"')
        opts = "".join(f"{k} = {json.dumps(v)}\n" for k, v in options.get(box.vendor, {}).items())
        parts.append(
            f'[connections.{name}]\ntype = "{box.vendor}"\nbase_url = "{box.info["base_url"]}"\n'
            f"credentials = {{ {', '.join(creds)} }}\nschedule = {schedule}\n{extra}\n"
            f"[connections.{name}.options]\n{opts}"
        )
    path.write_text("\n".join(parts))
    return env


class ServiceProcess:
    """`deskbridge serve` with its JSON log in a file and its health endpoint found from the log."""

    started: ClassVar[list[ServiceProcess]] = []

    @classmethod
    def kill_all(cls) -> None:
        """Kill whatever a failed test left running."""
        while cls.started:
            cls.started.pop().kill()

    def __init__(
        self, config: Path, env: dict[str, str], *args: str, log_level: str = "info"
    ) -> None:
        self.log_path = config.parent / f"serve-{time.monotonic_ns()}.log"
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [
                DESKBRIDGE,
                "--log-level",
                log_level,
                "serve",
                "-c",
                str(config),
                "--health-port",
                "0",
                *args,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        self.started.append(self)
        started = self.wait_event("service.started", timeout=60)
        self.health_url: str = started["health_url"]

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        lines = self.log_path.read_text().splitlines()
        found = [json.loads(line) for line in lines if line.startswith("{")]
        return [e for e in found if name is None or e.get("event") == name]

    def wait_event(self, name: str, timeout: float, count: int = 1) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.events(name)
            if len(found) >= count:
                return found[count - 1]
            assert self.proc.poll() is None, f"serve exited early:\n{self.log_path.read_text()}"
            time.sleep(0.05)
        raise AssertionError(
            f"no {name} event within {timeout}s:\n{self.log_path.read_text()[-3000:]}"
        )

    def health(self) -> tuple[int, dict[str, Any]]:
        response = httpx.get(self.health_url, timeout=10)
        return response.status_code, response.json()

    def connection(self, name: str) -> dict[str, Any]:
        _, body = self.health()
        return next(c for c in body["connections"] if c["connection"] == name)

    def wait_for(self, check: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
        """Poll the health endpoint until ``check(body)`` holds; returns that body."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _, body = self.health()
            if check(body):
                return body
            time.sleep(0.1)
        raise AssertionError(
            f"health never satisfied the check within {timeout}s: {self.health()[1]}"
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> tuple[int, float]:
        """Send ``sig`` and wait; returns the exit code and the seconds it took."""
        began = time.monotonic()
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        self.kill()
        return code, time.monotonic() - began

    def kill(self) -> None:
        if self in self.started:
            self.started.remove(self)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def query(path: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Run one query on a DuckDB file opened read-only."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
