"""Test helpers shipped with deskbridge: compare a warehouse with an emulator's ground truth.

Used by deskbridge's own contract suite and usable by third-party connector packages.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import httpx

from deskbridge.warehouse.attached import close_writer, open_writer

if TYPE_CHECKING:
    from deskbridge.warehouse.lake import LakeSpec

TRUTH_FIELDS: dict[str, tuple[str, ...]] = {
    "tickets": ("subject", "status", "priority"),
    "notes": ("ticket_id", "kind", "visibility", "body"),
    "time_entries": ("ticket_id", "seconds_worked", "seconds_billable"),
    "people": ("kind", "name", "email"),
}

Truth = dict[str, dict[str, dict[str, Any]]]


def projection(con: duckdb.DuckDBPyConnection, connection: str) -> Truth:
    """The live rows of one connection, in the shape of ``Emulator.ground_truth()``."""
    out: Truth = {}
    for entity, fields in TRUTH_FIELDS.items():
        rows = con.execute(
            f"SELECT source_id, {', '.join(fields)} FROM {entity} "
            "WHERE connection = ? AND deleted_at IS NULL",
            [connection],
        ).fetchall()
        out[entity] = {r[0]: dict(zip(fields, r[1:], strict=True)) for r in rows}
    return out


def truth_diff(actual: Truth, expected: Truth, limit: int = 8) -> list[str]:
    """Human-readable differences, empty when equal."""
    lines: list[str] = []
    for entity in TRUTH_FIELDS:
        have, want = actual.get(entity, {}), expected.get(entity, {})
        lines += [
            f"{entity} {k}: missing from warehouse {want[k]}"
            for k in sorted(set(want) - set(have))[:limit]
        ]
        lines += [
            f"{entity} {k}: not in ground truth {have[k]}"
            for k in sorted(set(have) - set(want))[:limit]
        ]
        for key in sorted(set(have) & set(want)):
            w = {f: want[key].get(f) for f in TRUTH_FIELDS[entity]}
            if have[key] != w:
                lines.append(f"{entity} {key}: warehouse {have[key]} != truth {w}")
                if len(lines) > 4 * limit:
                    return lines
    return lines


def assert_matches_truth(con: duckdb.DuckDBPyConnection, connection: str, truth: Truth) -> None:
    diff = truth_diff(projection(con, connection), truth)
    assert not diff, "warehouse differs from ground truth:\n" + "\n".join(diff)


def duplicate_keys(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows sharing (connection, source_id) per table; always empty when keys hold."""
    out = {}
    for entity in TRUTH_FIELDS:
        (n,) = con.execute(
            f"SELECT count(*) FROM (SELECT connection, source_id FROM {entity} GROUP BY ALL HAVING count(*) > 1)"
        ).fetchone()  # type: ignore[misc]
        out[entity] = n
    return {k: v for k, v in out.items() if v}


def secret_hits(db_path: Path | str, secrets: list[str]) -> list[str]:
    """Where any of ``secrets`` appears in the warehouse: every text column, and the raw file.

    ``db_path`` may also be a DuckLake's data folder: then every value of its Parquet files.
    """
    if Path(db_path).is_dir():
        return _lake_hits(Path(db_path), secrets)
    hits = []
    # Through the DuckDB that a Warehouse still open in this process shares (see attached.py).
    con = open_writer(Path(db_path))
    try:
        columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type IN ('VARCHAR', 'JSON') AND table_schema = 'main' "
            "AND table_catalog = current_database()"
        ).fetchall()
        for table, column in columns:
            for secret in secrets:
                (n,) = con.execute(
                    f"SELECT count(*) FROM {table} WHERE contains(CAST({column} AS VARCHAR), ?)",
                    [secret],
                ).fetchone()  # type: ignore[misc]
                if n:
                    hits.append(f"{table}.{column}")
    finally:
        close_writer(Path(db_path), con)
    data = Path(db_path).read_bytes()
    hits += [f"file bytes ({s[:4]}…)" for s in secrets if s.encode() in data]
    return hits


def _lake_hits(folder: Path, secrets: list[str]) -> list[str]:
    hits = []
    con = duckdb.connect()
    try:
        for file in sorted(folder.rglob("*.parquet")):
            table = con.execute("SELECT * FROM read_parquet(?)", [str(file)]).fetch_arrow_table()
            for name in table.column_names:
                text = "\n".join(str(v) for v in table[name].to_pylist() if v is not None)
                hits += [f"{file.name}:{name}" for s in secrets if s in text]
    finally:
        con.close()
    return hits


def _unavailable(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, text="Service Unavailable")


class CutAfter(httpx.AsyncBaseTransport):
    """A vendor that answers ``n`` requests through ``inner``, then fails every one like a dead
    server: ``fail`` builds the answer (default a 503) or raises (a refused connection)."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        n: int,
        fail: Callable[[httpx.Request], httpx.Response] = _unavailable,
    ) -> None:
        self.inner, self.left, self.fail = inner, n, fail

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.left -= 1
        if self.left < 0:
            return self.fail(request)
        return await self.inner.handle_async_request(request)


# -- DuckLake on a throwaway PostgreSQL (.ci/pg starts one) ----------------------------------------
PG_DSN_ENV = "DESKBRIDGE_TEST_PG_DSN"
NO_PG = f'no PostgreSQL for DuckLake tests: run `eval "$(.ci/pg start)"` to set {PG_DSN_ENV}'


def pg_dsn() -> str | None:
    """The test PostgreSQL's connection string, if one is running (``.ci/run`` starts one)."""
    import os

    return os.environ.get(PG_DSN_ENV) or None


@contextlib.contextmanager
def scratch_lake(data_path: Path) -> Iterator[LakeSpec]:
    """A DuckLake on a new database of the test PostgreSQL, files under ``data_path``; dropped after."""
    import uuid

    import psycopg

    from deskbridge.warehouse.lake import LakeSpec, forget

    dsn = pg_dsn()
    if dsn is None:
        raise RuntimeError(NO_PG)
    name = f"lake_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute(f"CREATE DATABASE {name}")
    spec = LakeSpec(f"{dsn} dbname={name}", data_path)
    try:
        yield spec
    finally:
        forget(spec)
        with psycopg.connect(dsn, autocommit=True) as pg:
            pg.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
