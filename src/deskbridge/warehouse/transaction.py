"""One transaction on a DuckDB connection: the only place that writes BEGIN, COMMIT and ROLLBACK.

:meth:`~deskbridge.warehouse.store.Warehouse.transaction` wraps it for an open warehouse; code
that runs before the warehouse is open (the schema migration) uses it directly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import duckdb


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN ... COMMIT; on any failure ROLLBACK, and raise the failure."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        # a failed COMMIT has ended the transaction already
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
