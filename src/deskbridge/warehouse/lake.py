"""The DuckLake warehouse: Parquet files under ``data_path`` and a catalog in PostgreSQL.

A DuckDB file has one writer; a lake has many. :class:`LakeWarehouse` is the same
:class:`~deskbridge.warehouse.store.Warehouse` (same methods, same SQL, see
:mod:`deskbridge.warehouse.dialect`) on an in-memory DuckDB with the lake attached and in use.
The extensions load from the ``duckdb-ext-ducklake`` and ``duckdb-ext-postgres`` packages'
folder, never from the network. A catalog is a PostgreSQL connection string (many machines) or
a local DuckDB file (one machine, one process at a time).
"""

from __future__ import annotations

import importlib.util
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import duckdb

from deskbridge.config import WarehouseConfig
from deskbridge.sdk import canonical
from deskbridge.sdk.errors import WarehouseError
from deskbridge.warehouse.batches import utcnow
from deskbridge.warehouse.dialect import LakeConnection
from deskbridge.warehouse.duckerrors import translate
from deskbridge.warehouse.sqltext import literal
from deskbridge.warehouse.store import MEMORY_LIMIT, Warehouse, worker_id
from deskbridge.warehouse.transaction import transaction

ALIAS = "lake"
# Concurrent commits race for the catalog's next snapshot id and the loser retries. DuckLake's
# defaults (10 tries, 100 ms growing 1.5x) make a busy lake's commits wait far longer than they
# take, and fail a run after the tenth loss: retry soon, and for longer.
RETRY = {
    "ducklake_max_retry_count": 100,
    "ducklake_retry_wait_ms": 5,
    "ducklake_retry_backoff": 1.1,
}
_PG = re.compile(r"^(postgres:|postgresql://|postgres://)|\b(dbname|host)=", re.IGNORECASE)


def extension_directory() -> str:
    """The ``duckdb_ext/extensions`` folder the extension packages install into site-packages."""
    spec = importlib.util.find_spec("duckdb_ext")
    for root in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(root) / "extensions"
        if folder.is_dir():
            return str(folder)
    raise WarehouseError(
        "the DuckLake extensions are not installed; pip install duckdb-ext-ducklake "
        "duckdb-ext-postgres (they come with deskbridge)"
    )


def offline_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that loads extensions from the installed packages only."""
    return duckdb.connect(
        config={
            "extension_directory": extension_directory(),
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
    )


@dataclass(frozen=True)
class LakeSpec:
    """Where a lake lives: ``catalog`` (a PostgreSQL DSN or a DuckDB file) and ``data_path``."""

    catalog: str
    data_path: Path

    @property
    def postgres(self) -> str | None:
        """The libpq connection string of a PostgreSQL catalog; None for a file catalog."""
        if not _PG.search(self.catalog):
            return None
        return self.catalog.removeprefix("postgres:")

    def attach_sql(self, alias: str = ALIAS, *, read_only: bool = False) -> str:
        """The ``ATTACH`` statement an analyst types too (``snapshot`` pins a version)."""
        target = f"postgres:{self.postgres}" if self.postgres else self.catalog
        options = [f"DATA_PATH {literal(str(self.data_path))}"]
        if read_only:
            options.append("READ_ONLY")
        return f"ATTACH {literal('ducklake:' + target)} AS {alias} ({', '.join(options)})"

    def describe(self) -> str:
        """The lake, told without the catalog's password."""
        where = re.sub(r"password=\S+", "password=***", self.catalog)
        return f"ducklake {where} data {self.data_path}"


class _Engine:
    """One in-memory DuckDB per process, the extensions loaded once (each load verifies the
    signature of a 50 MB file: seconds), every lake attached once under its own alias."""

    def __init__(self) -> None:
        self.guard = threading.Lock()
        self.base: duckdb.DuckDBPyConnection | None = None
        self.aliases: dict[tuple[str, str, bool, int | None], str] = {}
        self.count = 0

    def cursor(self, spec: LakeSpec, read_only: bool, snapshot: int | None) -> tuple[Any, str]:
        key = (spec.catalog, str(spec.data_path), read_only, snapshot)
        with self.guard:
            if self.base is None:
                base = offline_connection()
                base.execute("LOAD ducklake")
                base.execute("LOAD postgres")
                for name, value in RETRY.items():
                    base.execute(f"SET GLOBAL {name} = {value}")
                self.base = base
            alias = self.aliases.get(key)
            if alias is None:
                self.count += 1
                alias = f"{ALIAS}_{self.count}"
                sql = spec.attach_sql(alias, read_only=read_only or snapshot is not None)
                if snapshot is not None:
                    sql = sql[:-1] + f", SNAPSHOT_VERSION {int(snapshot)})"
                if not read_only:
                    spec.data_path.mkdir(parents=True, exist_ok=True)
                self.base.execute(sql)
                self.aliases[key] = alias
            con = self.base.cursor()
        con.execute(f"USE {alias}")
        return con, alias

    def forget(self, spec: LakeSpec) -> None:
        """Detach every attachment of ``spec`` (its catalog is going away)."""
        with self.guard:
            for key in [k for k in self.aliases if k[:2] == (spec.catalog, str(spec.data_path))]:
                if self.base is not None:
                    self.base.execute(f"DETACH {self.aliases[key]}")
                del self.aliases[key]


_ENGINE = _Engine()


def attach(
    spec: LakeSpec, *, read_only: bool = False, snapshot: int | None = None
) -> tuple[duckdb.DuckDBPyConnection, str]:
    """A connection with the lake attached and in use, and the lake's alias in it.

    Connections of one process share one DuckDB (see :class:`_Engine`); closing one leaves the
    lake attached for the next.
    """
    return _ENGINE.cursor(spec, read_only, snapshot)


def forget(spec: LakeSpec) -> None:
    """Detach ``spec`` from this process (before its catalog is dropped)."""
    _ENGINE.forget(spec)


class LakeWarehouse(Warehouse):
    """A DuckLake warehouse: many processes may write it at once."""

    def __init__(
        self,
        spec: LakeSpec,
        *,
        read_only: bool = False,
        memory_limit: str = MEMORY_LIMIT,
        snapshot: int | None = None,
    ) -> None:
        """Attach the lake (``snapshot``: read that version, read-only) and migrate it if behind."""
        self.spec, self.snapshot = spec, snapshot
        super().__init__(spec.data_path, read_only=read_only, memory_limit=memory_limit)

    def _connect(self, read_only: bool, lock_wait_s: float) -> duckdb.DuckDBPyConnection:
        try:
            raw, self.alias = attach(self.spec, read_only=read_only, snapshot=self.snapshot)
        except (duckdb.Error, OSError) as exc:
            raise translate(exc, self.spec.data_path, self.memory_limit) from exc
        # The warehouse's code is typed for a DuckDB connection; this one speaks its dialect.
        return cast(duckdb.DuckDBPyConnection, LakeConnection(raw))

    def _migrate(self) -> None:
        """Migrate only a lake behind this version: every open rewriting the catalog would make
        concurrent workers' commits conflict."""
        if self._version() == canonical.SCHEMA_VERSION:
            return
        from deskbridge.warehouse.schema import migrate  # SQLModel: only when the lake is behind

        try:
            with transaction(self.con):
                migrate(self.con)
        except duckdb.TransactionException:
            # Workers started together race to create the lake: the loser finds it made.
            if self._version() != canonical.SCHEMA_VERSION:
                raise

    def _checkpoint_views(self) -> None:
        # A lake's views live in its catalog, not in a WAL; CHECKPOINT on a lake compacts files.
        self.views_changed = False

    def _version(self) -> int | None:
        try:
            row = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except duckdb.CatalogException:
            return None
        return int(row[0]) if row else None

    def start_run(self, connection: str, full_refresh: bool) -> tuple[int, datetime]:
        now = utcnow()
        self.con.execute(
            "UPDATE sync_runs SET status = 'interrupted' WHERE connection = ? AND status = 'running'",
            [connection],
        )
        run_id = self._next_run_id()
        self.con.execute(
            "INSERT INTO sync_runs (run_id, connection, started_at, status, full_refresh, counts, "
            "requests, reconcile_requests, worker) VALUES (?, ?, ?, 'running', ?, '{}', 0, 0, ?)",
            [run_id, connection, now, full_refresh, worker_id()],
        )
        return run_id, now

    def _next_run_id(self) -> int:
        """A PostgreSQL sequence for a shared catalog; a file catalog has one writer: max + 1."""
        if self.spec.postgres:
            return next_run_id(self.spec.postgres)
        row = self.con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM sync_runs").fetchone()
        return int(row[0])  # type: ignore[index]

    def record_snapshot(self, run_id: int) -> int:
        """Record the lake's snapshot after run ``run_id`` as the one its readers pin."""
        snapshot = self.current_snapshot()
        self.con.execute(
            "UPDATE sync_runs SET snapshot_id = ? WHERE run_id = ?", [snapshot, run_id]
        )
        return snapshot

    def current_snapshot(self) -> int:
        """The lake's latest snapshot id: what a run's readers pin."""
        row = self.con.execute(f"SELECT id FROM {self.alias}.current_snapshot()").fetchone()
        return int(row[0])  # type: ignore[index]


def next_run_id(dsn: str) -> int:
    """The next value of ``deskbridge_run_ids`` in the catalog's PostgreSQL database."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute("CREATE SEQUENCE IF NOT EXISTS deskbridge_run_ids")
        row = pg.execute("SELECT nextval('deskbridge_run_ids')").fetchone()
    return int(row[0])  # type: ignore[index]


def lake_spec(config: WarehouseConfig) -> LakeSpec:
    """The lake ``[warehouse]`` configures (backend ``ducklake``)."""
    assert config.data_path is not None  # WarehouseConfig refuses a lake without one
    return LakeSpec(config.catalog_value(), config.data_path)


def open_warehouse(
    config: WarehouseConfig, db: Path, *, read_only: bool = False, lock_wait_s: float = 0.0
) -> Warehouse:
    """The configured warehouse, for writing: the DuckDB file ``db`` or the lake."""
    if config.backend == "ducklake":
        return LakeWarehouse(
            lake_spec(config), read_only=read_only, memory_limit=config.memory_limit
        )
    return Warehouse(
        db, read_only=read_only, memory_limit=config.memory_limit, lock_wait_s=lock_wait_s
    )
