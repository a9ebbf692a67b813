"""The service's health port on loopback: ``GET /health``, one JSON object for monitoring.

It answers 200 while no connection is failing and 503 otherwise, with per connection the last
run, its status, the lag since the last success, failures in a row and the next planned run.
Given the service's state, the same port serves ``GET /metrics`` (Prometheus,
:mod:`deskbridge.service.metrics`) and ``GET /``, a status page (:mod:`deskbridge.service.page`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from deskbridge.sandbox import HOST, bind
from deskbridge.service import metrics, page
from deskbridge.service.backoff import Backoff
from deskbridge.service.metrics import State
from deskbridge.warehouse.status import ConnectionStatus


@dataclass
class ConnectionHealth:
    """What the service knows about one connection, kept current after every run."""

    connection: str
    vendor: str
    schedule: str
    last_run_id: int | None = None
    last_status: str | None = None
    last_started_at: datetime | None = None
    last_ended_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    backoff_until: datetime | None = None
    next_run_at: datetime | None = None
    running: bool = False
    runs: int = 0  # finished by this process
    skipped_overlaps: int = 0  # fires skipped because the previous run was still going
    skipped_locked: int = 0  # fires skipped because another worker held the connection's lock
    last_worker: str | None = None  # host:pid of the worker that ran the last run

    def update(self, st: ConnectionStatus) -> None:
        """Take the last run's outcome from the warehouse."""
        self.last_run_id, self.last_status, self.last_error = (
            st.last_run_id,
            st.last_status,
            st.last_error,
        )
        self.last_started_at, self.last_ended_at = st.last_started, st.last_ended
        self.last_success_at, self.consecutive_failures = st.last_success, st.consecutive_failures
        self.backoff_until = st.backoff_until
        self.last_worker = st.last_worker

    def fail(self, error: str, backoff: Backoff) -> None:
        """A run that failed before the warehouse could record it (e.g. it could not be opened)."""
        self.last_status, self.last_error = "failed", error
        self.consecutive_failures += 1
        self.backoff_until = backoff.until(self.consecutive_failures, datetime.now(UTC))

    def as_json(self, now: datetime) -> dict[str, Any]:
        lag = (now - self.last_success_at).total_seconds() if self.last_success_at else None
        out = {k: _iso(v) for k, v in vars(self).items()}
        out["lag_s"] = round(lag, 3) if lag is not None else None
        return out


def report(
    states: list[ConnectionHealth], snapshot: Path, snapshot_at: datetime | None
) -> dict[str, Any]:
    """The body of ``GET /health``: "ok" unless a connection's last run failed."""
    now = datetime.now(UTC)
    return {
        "status": "failing" if any(s.consecutive_failures for s in states) else "ok",
        "snapshot": str(snapshot),
        "snapshot_at": _iso(snapshot_at),
        "connections": [s.as_json(now) for s in states],
    }


def _iso(value: Any) -> Any:
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value


def app(
    report: Callable[[], dict[str, Any]], state: Callable[[], State] | None = None
) -> Starlette:
    """The ASGI app; ``report()`` returns the current ``{"status": ..., "connections": [...]}``.

    With ``state`` it also serves ``/metrics`` and the status page at ``/``.
    """

    async def health(_: Request) -> JSONResponse:
        body = report()
        return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)

    routes = [Route("/health", health)]
    if state is not None:
        routes += _views(report, state)
    return Starlette(routes=routes)


def _views(report: Callable[[], dict[str, Any]], state: Callable[[], State]) -> list[Route]:
    found = metrics.registry(state)

    async def scrape(_: Request) -> Response:
        report()  # refreshes each connection's next run
        return Response(metrics.render(found), media_type=metrics.CONTENT_TYPE)

    async def status_page(_: Request) -> HTMLResponse:
        report()
        return HTMLResponse(page.render(state()))

    return [Route("/metrics", scrape), Route("/", status_page)]


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The service owns SIGTERM and SIGINT; uvicorn must neither take nor re-raise them.
        yield


class HealthServer:
    """Serves :func:`app` on 127.0.0.1 from the running event loop."""

    def __init__(
        self,
        report: Callable[[], dict[str, Any]],
        port: int,
        state: Callable[[], State] | None = None,
    ) -> None:
        self.sock = bind(port)
        asgi = app(report, state)
        config = uvicorn.Config(asgi, log_config=None, access_log=False, lifespan="off")
        self.server = _Server(config)
        self.task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.sock.getsockname()[1]}/health"

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        while not self.server.started and not self.task.done():
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await asyncio.wait([self.task], timeout=5)
