"""``/metrics`` on the health port: Prometheus text read fresh from the running service."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from conftest import CONTRACT_OPTIONS
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from service_proc import SandboxProcess, ServiceProcess, query, write_config

from deskbridge.service import metrics
from deskbridge.service.health import ConnectionHealth
from deskbridge.warehouse.metrics import Figures, backlog
from deskbridge.warehouse.store import Warehouse

pytestmark = pytest.mark.slow

LINK = '\n[links.copy]\na = "src"\nb = "dst"\ndirection = "a_to_b"\nauthor = { b = "staff:1" }\n'


@pytest.fixture(autouse=True)
def _kill_leftover_services() -> Iterator[None]:
    yield
    ServiceProcess.kill_all()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, keyed by metric name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def linked_service(tmp_path: Path, a: SandboxProcess, b: SandboxProcess) -> ServiceProcess:
    """`serve` over two kayako sandboxes and a link copying src to dst, after both first runs."""
    config = tmp_path / "config.toml"
    env = write_config(config, {"src": a, "dst": b}, '{ every = "1h" }', CONTRACT_OPTIONS)
    config.write_text(config.read_text() + LINK)
    service = ServiceProcess(config, env)
    service.wait_for(lambda body: all(c["runs"] == 1 for c in body["connections"]), timeout=90)
    return service


def test_metrics_report_runs_and_links_as_the_warehouse_records_them(tmp_path: Path) -> None:
    """Per connection status, rows, requests, lag and failures, per link writes: as recorded."""
    a = SandboxProcess("kayako", "--tickets", "12")
    b = SandboxProcess("kayako", "--tickets", "3", "--seed", "9")
    db = tmp_path / "warehouse.duckdb"
    try:
        service = linked_service(tmp_path, a, b)
        response = httpx.get(service.health_url.replace("/health", "/metrics"), timeout=10)
        assert service.stop()[0] == 0
    finally:
        a.stop()
        b.stop()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    got = samples(response.text)
    writes = query(db, "SELECT count(*) FROM crosswalk WHERE link = 'copy' AND b_id IS NOT NULL")
    expected: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {
        ("deskbridge_link_writes", (("link", "copy"),)): float(writes[0][0]),
        ("deskbridge_link_failures", (("link", "copy"),)): 0.0,
        ("deskbridge_link_skips", (("link", "copy"),)): 0.0,
    }
    for name in ("src", "dst"):
        (row,) = query(
            db,
            "SELECT status, counts, requests, reconcile_requests, epoch(ended_at - started_at) "
            "FROM sync_runs WHERE connection = ?",
            [name],
        )
        counts = json.loads(row[1])
        rows = sum(v for k, v in counts.items() if k.endswith((".changed", ".deleted")))
        label = (("connection", name),)
        for status in metrics.STATUSES:
            key = ("deskbridge_last_run_status", (("connection", name), ("status", status)))
            expected[key] = float(status == row[0])
        expected |= {
            ("deskbridge_last_run_duration_seconds", label): row[4],
            ("deskbridge_last_run_rows_written", label): float(rows),
            ("deskbridge_requests", (("connection", name), ("kind", "incremental"))): row[2],
            ("deskbridge_requests", (("connection", name), ("kind", "reconcile"))): row[3],
            ("deskbridge_requests", (("connection", name), ("kind", "write"))): float(writes[0][0]),
            ("deskbridge_failures_in_a_row", label): 0.0,
        }
        lag = got.pop(("deskbridge_lag_seconds", label))
        assert 0 <= lag < 90
    assert got == expected
    assert writes[0][0] > 0 and row[0] == "success"


def test_each_service_registry_stands_alone_and_reads_state_at_scrape_time() -> None:
    """Two registries for the same state coexist, the global one stays empty of ours, values are fresh."""
    conn = ConnectionHealth("desk", "kayako", "every 1h")
    first = metrics.registry(lambda: metrics.State([conn], Figures()))
    second = metrics.registry(lambda: metrics.State([conn], Figures()))
    before = samples(metrics.render(first).decode())
    conn.consecutive_failures, conn.last_status = 2, "failed"
    after = samples(metrics.render(second).decode())
    key = ("deskbridge_failures_in_a_row", (("connection", "desk"),))
    assert (before[key], after[key]) == (0.0, 2.0)
    assert not [n for n in REGISTRY._names_to_collectors if n.startswith("deskbridge")]


def test_backlog_counts_tickets_open_at_each_day_end(tmp_path: Path) -> None:
    """A ticket counts from its creation day until the day it is resolved; closed without a date, never."""
    wh = Warehouse(tmp_path / "w.duckdb")
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    tickets = [
        ("open-3d", today - timedelta(days=3), None, "open"),
        ("resolved-1d", today - timedelta(days=2), today - timedelta(days=1), "resolved"),
        ("closed-undated", today - timedelta(days=2), None, "closed"),
        ("deleted", today - timedelta(days=2), None, "open"),
    ]
    try:
        for source_id, created, resolved, category in tickets:
            wh.con.execute(
                "INSERT INTO tickets (connection, source_id, content_hash, first_seen_at, "
                "last_synced_at, created_at, resolved_at, status_category, deleted_at) "
                "VALUES ('desk', ?, 'h', now(), now(), ?, ?, ?, ?)",
                [source_id, created, resolved, category, today if source_id == "deleted" else None],
            )
        found = backlog(wh.con, days=5)
    finally:
        wh.close()
    day = today.date()
    assert found == [
        (day - timedelta(days=4), 0),
        (day - timedelta(days=3), 1),
        (day - timedelta(days=2), 2),
        (day - timedelta(days=1), 1),
        (day, 1),
    ]
