"""What cannot work fails fast in one line: a busy port, a closed port, an unknown host, a
warehouse another process holds, refused credentials; through the real CLI over loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deskbridge.sandbox import build_emulator, start_in_thread

pytestmark = pytest.mark.slow

HOLD = (
    "import sys, time; from deskbridge.warehouse.store import Warehouse; "
    "w = Warehouse(sys.argv[1]); print('ready', flush=True); time.sleep(30)"
)


def deskbridge(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deskbridge.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200", **env},
    )


def write_config(tmp_path: Path, base_url: str, **credentials: str) -> dict[str, str]:
    """A config.toml with one omnidesk connection ``support``; returns its credentials' env."""
    env = {f"FAST_{key.upper()}": value for key, value in credentials.items()}
    creds = ", ".join(f'{key} = "env:FAST_{key.upper()}"' for key in credentials)
    (tmp_path / "config.toml").write_text(
        f'[warehouse]\npath = "w.duckdb"\nlock_wait = "1s"\n\n'
        f'[connections.support]\ntype = "omnidesk"\nbase_url = "{base_url}"\n'
        f"credentials = {{ {creds} }}\n"
    )
    return env


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port another socket listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_sandbox_on_a_busy_port_names_the_port_and_option(tmp_path: Path, busy_port: int) -> None:
    """sandbox --port on a taken port: one line with the port and --port, nothing served."""
    line = one_error_line(deskbridge(tmp_path, "sandbox", "kayako", "--port", str(busy_port)))
    assert line == (
        f"error: --port {busy_port}: port {busy_port} on 127.0.0.1 is in use; "
        "choose another with --port"
    )


def test_serve_on_a_busy_health_port_names_the_port_and_option(
    tmp_path: Path, busy_port: int, closed_port: int
) -> None:
    """serve --health-port on a taken port: one line before any run starts, no warehouse made."""
    env = write_config(tmp_path, f"http://127.0.0.1:{closed_port}", api_key="k")
    result = deskbridge(tmp_path, "serve", "--health-port", str(busy_port), **env)
    assert one_error_line(result) == (
        f"error: --health-port {busy_port}: port {busy_port} on 127.0.0.1 is in use; "
        "choose another with --health-port"
    )
    assert not (tmp_path / "w.duckdb").exists()


def sync_failure(tmp_path: Path, base_url: str) -> tuple[str, list[dict[str, object]], float]:
    """Run sync against ``base_url``; its one failure line, its log events and its duration."""
    env = write_config(tmp_path, base_url, api_key="k")
    started = time.monotonic()
    result = deskbridge(tmp_path, "--log-json", "sync", **env)
    elapsed = time.monotonic() - started
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    return lines[0], [json.loads(line) for line in result.stderr.splitlines()], elapsed


def test_a_closed_port_fails_fast_naming_the_url_and_key(tmp_path: Path, closed_port: int) -> None:
    """Connection refused: two quick retries logged with host, attempt and wait, then one line."""
    url = f"http://127.0.0.1:{closed_port}"
    line, events, elapsed = sync_failure(tmp_path, url)
    assert line == (
        f"✗ support: connections.support.base_url: cannot connect to {url} "
        "(connection refused); check the host and port"
    )
    retries = [e for e in events if e["event"] == "http.retry"]
    assert [(e["host"], e["wait_s"], e["error"]) for e in retries] == [
        (url, 0.25, "connection refused"),
        (url, 0.5, "connection refused"),
    ]
    assert [e["attempt"] for e in retries] == ["1 of 3", "2 of 3"]
    assert [e["event"] for e in events] == ["http.retry", "http.retry", "sync.failed"]
    # The retry schedule above is what makes it fast (0.75 s of waits); the wall-clock bound only
    # catches a return of the old 72 s, with room for a loaded machine's interpreter start-up.
    assert elapsed < 45


def test_an_unknown_host_fails_fast_naming_the_url_and_key(tmp_path: Path) -> None:
    """DNS failure: the same quick retries and one line naming the host and the config key."""
    url = "http://nonexistent.invalid"
    line, events, elapsed = sync_failure(tmp_path, url)
    assert line == (
        f"✗ support: connections.support.base_url: cannot connect to {url} "
        "(unknown host); check the host and port"
    )
    assert [e["event"] for e in events] == ["http.retry", "http.retry", "sync.failed"]
    assert elapsed < 45


def test_a_locked_warehouse_names_the_holding_pid(tmp_path: Path, closed_port: int) -> None:
    """While a child process holds the warehouse, sync waits lock_wait (1s), then names its PID."""
    env = write_config(tmp_path, f"http://127.0.0.1:{closed_port}", api_key="k")
    path = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "ready\n"
        started = time.monotonic()
        result = deskbridge(tmp_path, "sync", **env)
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.communicate()
    assert one_error_line(result) == (
        f"error: w.duckdb is locked by process {holder.pid} (still running after 1s); "
        "stop it or raise [warehouse] lock_wait"
    )
    assert waited >= 1.0


def test_refused_credentials_name_the_credential_keys(tmp_path: Path) -> None:
    """A 401 from the vendor names the config keys of the connection's credentials."""
    sandbox = start_in_thread(build_emulator("omnidesk", seed=7, tickets=5))
    try:
        env = write_config(tmp_path, sandbox.base_url, api_key="not-a-key")
        result = deskbridge(tmp_path, "sync", **env)
    finally:
        sandbox.stop()
    assert result.returncode == 1 and "not-a-key" not in result.stdout + result.stderr
    assert result.stdout.strip() == (
        "✗ support: omnidesk tickets HTTP 401: This API key is invalid.; "
        "check connections.support.credentials.api_key"
    )
