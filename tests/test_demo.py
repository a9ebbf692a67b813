"""deskbridge demo: five sandboxes, two syncs, the analysts' queries and a two-way link, from scratch each time."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest
from rich.console import Console

from deskbridge import registry
from deskbridge.cli.demo import run_demo
from deskbridge.sdk.errors import DeskbridgeError


def test_demo_runs_the_whole_pipeline_twice(tmp_path: Path) -> None:
    """Each vendor synced twice; the link twins tickets, carries one edit back, then has nothing to do."""
    db = tmp_path / "demo.duckdb"
    for _ in range(2):  # a second demo starts from a new warehouse, as its sandboxes do
        console = Console(width=200, record=True)
        assert run_demo(db, tickets=20, changes=5, console=console)
        con = duckdb.connect(str(db), read_only=True)
        try:
            runs = con.execute(
                "SELECT connection, count(*), bool_and(status = 'success') FROM sync_runs GROUP BY 1 ORDER BY 1"
            ).fetchall()
            pushes = [
                json.loads(c)
                for (c,) in con.execute("SELECT counts FROM push_runs ORDER BY push_id").fetchall()
            ]
        finally:
            con.close()
        assert runs == [
            (f"{v}_demo", 2 if v not in ("kayako", "trackit") else 4, True)
            for v in ("kayako", "m4", "omnidesk", "trackit", "whmcs")
        ]
        assert len(pushes) == 3 and pushes[0]["create_ticket.done"] > 0
        assert pushes[1].get("update_ticket.done") == 1
        assert not any(k.endswith(".done") for k in pushes[2])
        assert "again (no echo)" in console.export_text()


def test_demo_refuses_a_warehouse_with_real_connections(tmp_path: Path) -> None:
    db = tmp_path / "real.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE sync_runs AS SELECT 'support' AS connection")
    con.close()
    with pytest.raises(DeskbridgeError, match="holds connections support, not a demo's"):
        run_demo(db, tickets=5, changes=1, console=Console())
    assert db.exists()


def test_demo_ends_by_showing_a_query_and_the_way_to_the_status_page(tmp_path: Path) -> None:
    """The last step runs ``deskbridge query`` on the demo warehouse; the end names ``--serve``."""
    console = Console(width=400, record=True)
    assert run_demo(tmp_path / "demo.duckdb", tickets=10, changes=2, console=console)
    text = console.export_text()
    assert f'$ deskbridge query --db {tmp_path / "demo.duckdb"} "SELECT connection' in text
    assert "│ kayako_demo   │" in text.split("6. ask it yourself")[1]
    assert text.rstrip().endswith(
        "See it run as a service: deskbridge demo --serve, then open http://127.0.0.1:8765/ "
        "for the status page (and /metrics for Prometheus)"
    )


def test_demo_serve_shows_the_status_page_until_ctrl_c(tmp_path: Path) -> None:
    """``demo --serve`` keeps the sandboxes up under the service; its status page and metrics
    answer on the port it prints; Ctrl-C stops it cleanly."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = ["-m", "deskbridge.cli", "demo", "--tickets", "10", "--changes", "2"]
    proc = subprocess.Popen(
        [sys.executable, *args, "--serve", "--health-port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = iter(proc.stdout.readline, "")
        url = next(line.split()[2] for line in lines if line.startswith("Status page:"))
        assert url == f"http://127.0.0.1:{port}/"
        page = _get_once_up(url)
        metrics = httpx.get(url + "metrics", timeout=30).text
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=180)
    assert all(f"<td>{v}_demo</td>" in page for v in registry.complete()), page
    assert "<svg" in page
    assert 'deskbridge_last_run_status{connection="kayako_demo"' in metrics
    assert proc.returncode == 0 and "Traceback" not in err


def _get_once_up(url: str) -> str:
    """The page, once the service that the line announced has opened its port."""
    for _ in range(300):
        try:
            return httpx.get(url, timeout=30).text
        except httpx.ConnectError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered on {url}")
