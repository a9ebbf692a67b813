"""The sync engine: runs a connector's read and commits what it yields, checkpoint by checkpoint.

Batches are coalesced up to ``commit_rows`` rows or ``commit_interval_s`` seconds, then committed
with their cursor state in one transaction (DuckDB pays per statement, not per row), in a worker
thread while the connector reads on (:mod:`deskbridge.pull.writer`). A run that
dies keeps every committed checkpoint; the next run starts from the last committed state, and
because writes are upserts keyed by (connection, source id), re-reading a page never doubles it.

When the read is done, the deletion candidates its complete scopes left are checked with the
vendor (:func:`deskbridge.pull.deletions.settle`): only a proven deletion gets ``deleted_at``.

A cancelled run (``deskbridge serve`` shutting down, Ctrl-C) abandons the request in flight,
commits the batches the connector had already completed, records the run ``interrupted`` and
re-raises.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

from deskbridge import registry
from deskbridge.pull import deletions
from deskbridge.pull.writer import Writer
from deskbridge.sdk.adaptive import PACES
from deskbridge.sdk.connection import ConnectionConfig
from deskbridge.sdk.contract import Connector, Progress, ReadContext
from deskbridge.sdk.redact import scrub
from deskbridge.warehouse.store import Warehouse

log = structlog.get_logger("deskbridge.engine")

# Rows a commit holds: in Python until it ends, in DuckDB uncommitted until then. At 2,000
# rather than 5,000, a Kayako sync's peak memory is ~25 MB lower, and CPU showed no measurable
# cost: an Omnidesk 5k sync's ratio was 1.02 in the median of six alternated pairs (0.81-1.47,
# the machine's own spread) (benchmarks/README.md, "fifth pass").
COMMIT_ROWS = 2000


@dataclass
class RunResult:
    connection: str
    run_id: int
    status: str
    counts: dict[str, int] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0


def build_connector(
    config: ConnectionConfig, transport: httpx.AsyncBaseTransport | None = None
) -> Connector:
    plugin = registry.get(config.type)
    return plugin.connector_class()(config, transport=transport)


async def sync(
    warehouse: Warehouse,
    config: ConnectionConfig,
    *,
    full_refresh: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    progress: Progress | None = None,
    commit_rows: int = COMMIT_ROWS,
    commit_interval_s: float = 2.0,
) -> RunResult:
    """Sync one connection into the warehouse; failures are recorded, then raised."""
    started = time.perf_counter()
    PACES.update(warehouse.load_paces())  # a vendor's limit found by an earlier process
    # A config error (a credential not set) is raised before the run exists, so it is no failed run.
    connector = build_connector(config, transport)
    try:
        run_id, run_started = warehouse.start_run(config.name, full_refresh)
    except BaseException:  # the warehouse refused the run record: close what the connector opened
        await connector.aclose()
        raise
    bound = log.bind(connection=config.name, run_id=run_id)
    bound.info("sync.start", vendor=config.type, full_refresh=full_refresh)
    counts: Counter[str] = Counter()
    writer: Writer | None = None
    try:
        versions = {s.name: s.state_version for s in connector.streams}
        states = {} if full_refresh else warehouse.load_states(config.name, connector.streams)
        writer = Writer(
            warehouse, config.name, run_id, run_started, versions, commit_rows, commit_interval_s
        )
        ctx = ReadContext(
            connection=config.name,
            state=states,
            full_refresh=full_refresh,
            warehouse=writer.view(),
            started_at=run_started,
            progress=progress or (lambda *_: None),
        )
        async with connector:
            await writer.consume(connector.read(ctx))
            await writer.flush()
            writer.counts += await deletions.settle(
                warehouse, connector, config.name, run_id, config.delete_guard
            )
        counts = writer.counts
        requests = dict(connector.request_counts)
        warehouse.finish_run(run_id, "success", counts, requests)
        _keep_paces(warehouse)
    except BaseException as exc:
        requests = dict(connector.request_counts)
        interrupted = isinstance(exc, asyncio.CancelledError | KeyboardInterrupt)
        status = "interrupted" if interrupted else "failed"
        if writer is not None and isinstance(exc, asyncio.CancelledError):
            await _salvage(writer, bound)
        counts = writer.counts if writer is not None and interrupted else counts
        message = interruption(counts) if interrupted else scrub(f"{type(exc).__name__}: {exc}")
        try:
            warehouse.finish_run(run_id, status, counts, requests, error=message)
            _keep_paces(warehouse)
        # e.g. the disk is full: the run's own failure is what to report
        except Exception as record_exc:
            bound.warning(
                "sync.record_failed", error=scrub(f"{type(record_exc).__name__}: {record_exc}")
            )
        bound.error("sync.failed", error=message, status=status)
        raise
    seconds = time.perf_counter() - started
    bound.info("sync.done", seconds=round(seconds, 2), requests=requests, **_summary(counts))
    return RunResult(config.name, run_id, "success", dict(counts), requests, None, seconds)


def _keep_paces(warehouse: Warehouse) -> None:
    """Store the limits the session met (closed by now), so the next process starts paced."""
    paces = PACES.items()
    if paces and paces != warehouse.load_paces():
        warehouse.save_paces(paces)


def interruption(counts: Counter[str]) -> str:
    """What an interrupted run kept, e.g. ``2,400 tickets committed; rerun to resume``."""
    return f"{counts['tickets.read']:,} tickets committed; rerun to resume"


async def reread(
    warehouse: Warehouse,
    config: ConnectionConfig,
    ticket_ids: list[str],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> RunResult:
    """Re-read a few tickets with their children now, recorded as a run of its own."""
    run_id, run_started = warehouse.start_run(config.name, False)
    async with build_connector(config, transport) as connector:
        try:
            batch = await connector.read_tickets(ticket_ids)
            counts = warehouse.apply_batch(config.name, run_id, run_started, batch, {})
        except BaseException as exc:
            warehouse.finish_run(
                run_id, "failed", {}, dict(connector.request_counts), error=scrub(str(exc))
            )
            raise
        warehouse.finish_run(run_id, "success", counts, dict(connector.request_counts))
    return RunResult(config.name, run_id, "success", dict(counts), dict(connector.request_counts))


async def _salvage(writer: Writer, bound: Any) -> None:
    """Commit the complete batches a cancelled run still holds; they are valid checkpoints."""
    try:
        await writer.flush()
    except Exception as exc:  # the run is being cancelled anyway; the batches will be re-read
        bound.warning("sync.salvage_failed", error=scrub(f"{type(exc).__name__}: {exc}"))


def _summary(counts: Counter[str]) -> dict[str, int]:
    return {key.replace(".", "_"): value for key, value in sorted(counts.items()) if value}
