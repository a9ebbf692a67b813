"""``deskbridge serve``: each connection's sync on its schedule, one writer at a time.

APScheduler fires the runs. ``max_instances=1`` means a run slower than its interval is never
started twice (the fire is skipped and counted); ``coalesce`` folds fires missed while the
process was busy into one; the first fire after a start comes from the warehouse's run history
(:func:`deskbridge.service.scheduling.first_run`), so downtime costs one catch-up run, not one per slot.

Runs of all connections share one lock: DuckDB allows one writer, and a snapshot taken while
another connection's run is half-way would show analysts a half-written state. The warehouse is
opened only for a run, so other commands can use it in between; after each successful run the
analysts' snapshot is published (:mod:`deskbridge.warehouse.snapshot`).

On a DuckLake warehouse several workers serve the same connections: each run and each link's
push first takes its PostgreSQL advisory lock (:mod:`deskbridge.warehouse.locks`); a slot whose
lock another worker holds is skipped and counted, and analysts read the lake snapshot recorded
with each successful run instead of a file copy.

SIGTERM or SIGINT stops new runs, cancels the ones in flight (the engine commits what is
complete and records them ``interrupted``) and returns within ``stop_timeout_s``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import structlog
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from deskbridge.config import Settings
from deskbridge.pull import engine
from deskbridge.push.actions import OPS
from deskbridge.push.run import run_link
from deskbridge.sdk.connection import ConnectionConfig
from deskbridge.sdk.errors import ConfigError, WarehouseLocked
from deskbridge.sdk.redact import scrub
from deskbridge.service import health, scheduling
from deskbridge.service.backoff import Backoff
from deskbridge.service.health import ConnectionHealth, HealthServer
from deskbridge.service.metrics import State
from deskbridge.warehouse import metrics, service_state
from deskbridge.warehouse.lake import LakeWarehouse, lake_spec, open_warehouse
from deskbridge.warehouse.locks import WorkLocks
from deskbridge.warehouse.snapshot import publish, snapshot_path
from deskbridge.warehouse.status import ConnectionStatus, status_of
from deskbridge.warehouse.store import Warehouse, in_thread, worker_id

log = structlog.get_logger("deskbridge.service")


@dataclass(frozen=True)
class ServiceOptions:
    """How the service runs, beyond what config.toml says."""

    snapshot: Path | None = None  # default: next to the warehouse (snapshot_path)
    health_port: int = 8765  # 0: any free port
    backoff: Backoff = field(default_factory=Backoff)
    stop_timeout_s: float = 30.0
    lock_wait_s: float = 60.0  # how long a run waits for another process holding the warehouse


class Service:
    """Runs the scheduled connections of ``settings`` into the warehouse at ``db``."""

    def __init__(
        self, settings: Settings, db: Path, options: ServiceOptions, names: list[str] | None = None
    ) -> None:
        self.settings = settings
        self.connections = scheduling.scheduled(settings.connections, names)
        self.unscheduled = sorted(set(names or settings.connections) - set(self.connections))
        self.db, self.options = db, options
        self.snapshot = options.snapshot or snapshot_path(db)
        self.health: dict[str, ConnectionHealth] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.snapshot_at: datetime | None = None
        self.figures = metrics.Figures()  # read from the warehouse at start and after each run
        self.stopping = asyncio.Event()
        self.writer = asyncio.Lock()
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.worker = worker_id()
        self.locks: WorkLocks | None = None
        self.snapshot_id: int | None = None  # DuckLake: the snapshot the last good run recorded
        if settings.warehouse.backend == "ducklake":
            dsn = lake_spec(settings.warehouse).postgres
            self.locks = WorkLocks(dsn) if dsn else None

    def stop(self) -> None:
        """Ask the service to shut down (what SIGTERM and SIGINT do)."""
        self.stopping.set()

    async def run(self) -> bool:
        """Serve until stopped; returns whether every run in flight stopped in time."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        self._schedule(await self._load())
        server = HealthServer(self.report, self.options.health_port, self.state)
        await server.start()
        log.info(
            "service.started",
            health_url=server.url,
            warehouse=self._where(),
            snapshot=str(self.snapshot),
            worker=self.worker,
            next_runs={n: _iso(h.next_run_at) for n, h in self.health.items()},
            unscheduled=self.unscheduled,
        )
        await self.stopping.wait()
        try:
            return await self._shutdown()
        finally:
            await server.stop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)

    def report(self) -> dict[str, Any]:
        """The health endpoint's body."""
        for name, state in self.health.items():
            job = self.scheduler.get_job(name)
            planned = job.next_run_time if job else None
            state.next_run_at = max(filter(None, (planned, state.backoff_until)), default=None)
        body = health.report(list(self.health.values()), self.snapshot, self.snapshot_at)
        body["worker"] = self.worker
        if self.settings.warehouse.backend == "ducklake":
            body["snapshot"], body["snapshot_id"] = self._where(), self.snapshot_id
        return body

    def _where(self) -> str:
        if self.settings.warehouse.backend == "ducklake":
            return lake_spec(self.settings.warehouse).describe()
        return str(self.db)

    def state(self) -> State:
        """What ``/metrics`` and the status page show."""
        return State(list(self.health.values()), self.figures)

    def _read_figures(self, wh: Warehouse) -> None:
        links = {n: (link.a, link.b) for n, link in self.settings.links.items()}
        try:
            self.figures = metrics.read(wh.con, list(self.connections), links, frozenset(OPS))
        except duckdb.Error as exc:  # the views are secondary: keep the last figures and serving
            log.error("figures.failed", error=scrub(str(exc)))

    # -- start --------------------------------------------------------------------------
    async def _load(self) -> dict[str, ConnectionStatus]:
        wh = await self._open()
        try:
            found = {name: status_of(wh.con, name) for name in self.connections}
            self._read_figures(wh)
        finally:
            wh.close()
        for name, conn in self.connections.items():
            assert conn.schedule is not None  # scheduling.scheduled() kept only these
            self.health[name] = ConnectionHealth(
                name, conn.type, scheduling.describe(conn.schedule)
            )
            self.health[name].update(found[name])
        return found

    def _schedule(self, found: dict[str, ConnectionStatus]) -> None:
        logging.getLogger("apscheduler").setLevel(logging.ERROR)  # overlaps are logged below
        now = datetime.now(UTC)
        for name, conn in self.connections.items():
            schedule = conn.schedule
            assert schedule is not None  # scheduling.scheduled() kept only these
            first = scheduling.first_run(schedule, found[name], now)
            self.health[name].next_run_at = first
            self.scheduler.add_job(
                self._fire,
                scheduling.make_trigger(schedule),
                args=[name],
                id=name,
                name=name,
                next_run_time=first,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        self.scheduler.add_listener(self._skipped, EVENT_JOB_MAX_INSTANCES)
        self.scheduler.start()

    def _skipped(self, event: JobEvent) -> None:
        self.health[event.job_id].skipped_overlaps += 1
        log.info("run.skipped", connection=event.job_id, reason="the previous run is still going")

    # -- runs ---------------------------------------------------------------------------
    async def _fire(self, name: str) -> None:
        state = self.health[name]
        if self.stopping.is_set():
            return
        if state.backoff_until is not None and datetime.now(UTC) < state.backoff_until:
            log.info(
                "run.backoff",
                connection=name,
                until=_iso(state.backoff_until),
                failures=state.consecutive_failures,
            )
            return
        task = asyncio.create_task(self._run(name), name=f"deskbridge-run-{name}")
        self.tasks[name] = task
        await asyncio.wait([task])  # unlike awaiting the task, never raises its cancellation

    async def _run(self, name: str) -> None:
        state = self.health[name]
        async with self.writer:
            # Taken once this worker is free to run, not while it waits: a lock held in a
            # queue would keep the connection from a worker that is idle.
            if not await self._take("connection", name):
                state.skipped_locked += 1
                log.info("run.skipped", connection=name, reason="another worker is running it")
                return
            state.running = True
            try:
                await self._run_locked(self.connections[name], state)
            except Exception as exc:  # the warehouse could not be opened or written; keep serving
                state.fail(scrub(f"{type(exc).__name__}: {exc}"), self.options.backoff)
                log.error("run.error", connection=name, error=state.last_error)
            finally:
                state.running = False
                await self._release("connection", name)

    async def _take(self, kind: str, name: str) -> bool:
        """Take the advisory lock of a connection or link; True without shared workers."""
        if self.locks is None:
            return True
        return await asyncio.to_thread(self.locks.try_take, kind, name)

    async def _release(self, kind: str, name: str) -> None:
        if self.locks is not None:
            await asyncio.to_thread(self.locks.release, kind, name)

    async def _run_locked(self, conn: ConnectionConfig, state: ConnectionHealth) -> None:
        wh = await self._open()
        try:
            try:
                result = await engine.sync(wh, conn)
                ok = True
            except ConfigError:  # raised before any run is recorded: _run reports it
                raise
            except Exception:  # recorded in sync_runs and logged by the engine
                ok = False
            if ok:
                await self._push(wh, conn.name)
                if isinstance(wh, LakeWarehouse):
                    self.snapshot_id = await in_thread(wh.record_snapshot, result.run_id)
                    self.snapshot_at = datetime.now(UTC)
                else:
                    await self._publish(wh)
            self._record(wh, conn.name, state)
        finally:
            wh.close()

    async def _push(self, wh: Warehouse, name: str) -> None:
        """After a pull, push every link that touches the connection (its other side as last pulled)."""
        for link in self.settings.links.values():
            if name not in (link.a, link.b):
                continue
            if not await self._take("link", link.name):
                log.info("push.skipped", link=link.name, reason="another worker is pushing it")
                continue
            try:
                result = await run_link(wh, self.settings, link, pull=False, check=True)
            except Exception as exc:  # a link failing must not stop the pulls
                log.error(
                    "push.failed", link=link.name, error=scrub(f"{type(exc).__name__}: {exc}")
                )
                continue
            finally:
                await self._release("link", link.name)
            log.info(
                "push.done", link=link.name, writes=result.writes, failures=len(result.failures)
            )

    async def _publish(self, wh: Warehouse) -> None:
        started = time.perf_counter()
        try:
            self.snapshot_at = await in_thread(publish, wh.con, self.db, self.snapshot)
        except (duckdb.Error, OSError, RuntimeError) as exc:
            log.error("snapshot.failed", error=scrub(str(exc)), snapshot=str(self.snapshot))
            return
        log.info(
            "snapshot.published",
            snapshot=str(self.snapshot),
            seconds=round(time.perf_counter() - started, 3),
        )

    def _record(self, wh: Warehouse, name: str, state: ConnectionHealth) -> None:
        """Keep the outcome, plan the next run (backing off after failures) and store the plan."""
        st = status_of(wh.con, name)
        failed = st.last_status != "success"
        backoff = (
            self.options.backoff.until(st.consecutive_failures, st.last_ended) if failed else None
        )
        job = self.scheduler.get_job(name)
        next_run = max(filter(None, (job.next_run_time if job else None, backoff)), default=None)
        service_state.save(wh.con, name, next_run, backoff, datetime.now(UTC))
        self._read_figures(wh)  # before the run counts as done, so readers see both at once
        state.update(st)
        state.backoff_until, state.runs = backoff, state.runs + 1
        log.info(
            "run.done",
            connection=name,
            run_id=st.last_run_id,
            status=st.last_status,
            failures=st.consecutive_failures,
            backoff_until=_iso(backoff),
            next_run_at=_iso(next_run),
        )

    async def _open(self) -> Warehouse:
        """Open the warehouse for writing, waiting while another process holds it."""
        deadline = time.monotonic() + self.options.lock_wait_s
        while True:
            try:
                return await in_thread(partial(open_warehouse, self.settings.warehouse, self.db))
            except WarehouseLocked:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.25)

    # -- stop ---------------------------------------------------------------------------
    async def _shutdown(self) -> bool:
        started = time.perf_counter()
        self.scheduler.pause()
        running = {name: t for name, t in self.tasks.items() if not t.done()}
        log.info("service.stopping", interrupting=sorted(running))
        for task in running.values():
            task.cancel()
        late: set[asyncio.Task[None]] = set()
        if running:
            _, late = await asyncio.wait(running.values(), timeout=self.options.stop_timeout_s)
        self.scheduler.shutdown(wait=False)
        if self.locks is not None:
            self.locks.close()
        log.info("service.stopped", seconds=round(time.perf_counter() - started, 3), clean=not late)
        return not late


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
