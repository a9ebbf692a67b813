"""Arrow rows handed to DuckDB as a temporary table, read once through the Arrow C stream.

DuckDB scans a registered ``pyarrow.Table`` through ``pyarrow.dataset``, and importing that
(with ``pyarrow.compute``) costs 0.1-0.15 s: most of a run that writes a few rows. An object
that offers only ``__arrow_c_stream__`` is read without it, but once only (a second scan finds
the stream used up). So the rows go into a temporary table in one scan, and the statements that
need them read the table: as fast as the registered scan on a batch of 2,000 tickets.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    import pyarrow as pa


class _Stream:
    """``table`` as the Arrow PyCapsule stream interface alone."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self._table.__arrow_c_stream__(requested_schema)


@contextlib.contextmanager
def staged(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> Iterator[None]:
    """``table``'s rows as the temporary table ``name`` while the block runs."""
    source = f"{name}_stream"
    con.register(source, _Stream(table))
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {source}")
    finally:
        with contextlib.suppress(duckdb.Error):  # an aborted transaction must not hide its cause
            con.unregister(source)
    try:
        yield
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute(f"DROP TABLE IF EXISTS temp.{name}")
