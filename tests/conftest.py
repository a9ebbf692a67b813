"""Shared fixtures: an emulator, a connection to it over in-process HTTP, and a real DuckDB file."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from deskbridge import registry
from deskbridge.cli import logs
from deskbridge.pull import engine
from deskbridge.sandbox import build_emulator, sandbox_connection
from deskbridge.sdk.adaptive import PACES
from deskbridge.sdk.connection import ConnectionConfig
from deskbridge.sdk.emulator import Emulator
from deskbridge.testing import NO_PG, assert_matches_truth, duplicate_keys, pg_dsn, scratch_lake
from deskbridge.warehouse.lake import LakeSpec, LakeWarehouse
from deskbridge.warehouse.store import Warehouse

# Every vendor with a connector and an emulator runs the shared contract suite.
CONTRACT_VENDORS = registry.complete()
FAST = {"retries": 3, "retry_backoff_s": 0.01}
# Options the contract suite runs each vendor with: every reconcile pass on every run, so that
# "after each incremental run the warehouse equals ground truth" covers what they catch.
CONTRACT_OPTIONS: dict[str, dict[str, Any]] = {
    "kayako": {"closed_reconcile_every": "0s", "page_size": 50},
    "trackit": {"closed_reconcile_every": "0s"},
}


@dataclass
class Harness:
    """One vendor emulator, a connection to it, and a warehouse file."""

    emulator: Emulator
    config: ConnectionConfig
    wh: Warehouse
    transport: httpx.AsyncBaseTransport

    async def sync(self, **kwargs: Any) -> engine.RunResult:
        return await engine.sync(self.wh, self.config, transport=self.transport, **kwargs)

    def assert_truth(self) -> None:
        assert_matches_truth(self.wh.con, self.config.name, self.emulator.ground_truth())
        assert duplicate_keys(self.wh.con) == {}

    def runs(self) -> list[tuple[Any, ...]]:
        return self.wh.con.execute(
            "SELECT run_id, status, requests, reconcile_requests, error FROM sync_runs ORDER BY run_id"
        ).fetchall()

    def states(self) -> list[tuple[Any, ...]]:
        return self.wh.con.execute("SELECT stream, state FROM sync_state ORDER BY 1").fetchall()


def make_harness(
    vendor: str, tmp_path: Path, tickets: int = 120, lake: LakeSpec | None = None, **settings: Any
) -> Harness:
    emulator = build_emulator(vendor, tickets=tickets)
    config = sandbox_connection(
        emulator, "http://testserver", name=f"{vendor}_test", **{**FAST, **settings}
    )
    transport = httpx.ASGITransport(app=emulator.app)
    wh = LakeWarehouse(lake) if lake else Warehouse(tmp_path / "warehouse.duckdb")
    return Harness(emulator, config, wh, transport)


@pytest.fixture(params=["duckdb", "ducklake"])
def lake(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LakeSpec | None]:
    """Each warehouse backend: None for the DuckDB file, else a scratch DuckLake on PostgreSQL."""
    if request.param == "duckdb":
        yield None
        return
    if pg_dsn() is None:
        pytest.skip(NO_PG)
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("fault", "500") != "500":
        # Fault kinds differ on the wire, not in the warehouse: one covers a lake's failed run.
        pytest.skip("the lake runs the fault tests with one kind (500)")
    with scratch_lake(tmp_path / "lake") as spec:
        yield spec


@pytest.fixture(params=CONTRACT_VENDORS)
def harness(
    request: pytest.FixtureRequest, tmp_path: Path, lake: LakeSpec | None
) -> Iterator[Harness]:
    h = make_harness(
        request.param, tmp_path, lake=lake, options=CONTRACT_OPTIONS.get(request.param, {})
    )
    yield h
    h.wh.close()


@pytest.fixture
def log_capture() -> Iterator[io.StringIO]:
    """Every log line of the test, as JSON, at debug level."""
    buffer = io.StringIO()
    logs.configure("debug", json=True, stream=buffer)
    yield buffer
    logs.configure("warning", json=True, stream=io.StringIO())


@pytest.fixture(autouse=True)
def _fresh_paces() -> Iterator[None]:
    """Each test starts with no vendor limit learned by an earlier test's sessions."""
    PACES.forget()
    yield
    PACES.forget()
