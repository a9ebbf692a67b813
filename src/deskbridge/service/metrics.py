"""``GET /metrics``: the service's state in the Prometheus text format.

A collector reads the current state on every scrape (the health states, kept in memory, and the
warehouse figures read after each run), into a registry of its own: nothing is registered in
prometheus-client's global registry, so services and tests never collide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from deskbridge.warehouse.metrics import Figures

if TYPE_CHECKING:  # health serves this module; at run time only the attributes are read
    from deskbridge.service.health import ConnectionHealth

CONTENT_TYPE = CONTENT_TYPE_LATEST
STATUSES = ("running", "success", "failed", "interrupted")
REQUEST_KINDS = ("incremental", "reconcile", "write")


@dataclass(frozen=True)
class State:
    """What one scrape reads: each connection's health and the latest warehouse figures."""

    connections: list[ConnectionHealth]
    figures: Figures


class ServiceCollector(Collector):
    """Builds every metric family from ``state()`` at scrape time."""

    def __init__(self, state: Callable[[], State]) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        state = self.state()
        yield from _connection_metrics(state, datetime.now(UTC))
        yield from _link_metrics(state.figures)


def registry(state: Callable[[], State]) -> CollectorRegistry:
    """A fresh registry holding only this service's collector."""
    found = CollectorRegistry(auto_describe=False)
    found.register(ServiceCollector(state))
    return found


def render(found: CollectorRegistry) -> bytes:
    """The text exposition of ``found``."""
    return generate_latest(found)


def _connection_metrics(state: State, now: datetime) -> Iterator[Metric]:
    status = GaugeMetricFamily(
        "deskbridge_last_run_status",
        "1 for the status of the connection's last run, 0 for the others.",
        labels=["connection", "status"],
    )
    duration = _gauge("last_run_duration_seconds", "Duration of the last finished run.")
    rows = _gauge("last_run_rows_written", "Rows inserted, updated or deleted by the last run.")
    requests = GaugeMetricFamily(
        "deskbridge_requests",
        "HTTP requests of the last run by kind (incremental, reconcile); write: every write "
        "done by the links touching the connection.",
        labels=["connection", "kind"],
    )
    lag = _gauge("lag_seconds", "Seconds since the last successful run (how stale the data is).")
    failures = _gauge("failures_in_a_row", "Failed or interrupted runs since the last success.")
    for conn in state.connections:
        name = conn.connection
        for value in STATUSES:
            status.add_metric([name, value], 1.0 if conn.last_status == value else 0.0)
        run = state.figures.runs.get(name)
        if run is not None and run.duration_s is not None:
            duration.add_metric([name], run.duration_s)
        rows.add_metric([name], run.rows_written if run else 0)
        for kind in REQUEST_KINDS:
            requests.add_metric([name, kind], run.requests.get(kind, 0) if run else 0)
        if conn.last_success_at is not None:
            lag.add_metric([name], (now - conn.last_success_at).total_seconds())
        failures.add_metric([name], conn.consecutive_failures)
    yield from (status, duration, rows, requests, lag, failures)


def _gauge(name: str, doc: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"deskbridge_{name}", doc, labels=["connection"])


def _link_metrics(figures: Figures) -> Iterator[Metric]:
    families = {
        "writes": GaugeMetricFamily(
            "deskbridge_link_writes", "Writes done by real pushes of the link.", labels=["link"]
        ),
        "failures": GaugeMetricFamily(
            "deskbridge_link_failures",
            "Writes the target refused, not yet put through.",
            labels=["link"],
        ),
        "skips": GaugeMetricFamily(
            "deskbridge_link_skips", "Records the target cannot hold.", labels=["link"]
        ),
    }
    for link in figures.links.values():
        for key, family in families.items():
            family.add_metric([link.link], getattr(link, key))
    yield from families.values()
