"""What ``deskbridge serve`` remembers per connection across restarts: next run and backoff.

The rows of ``service_state`` (:class:`~deskbridge.warehouse.tables.ServiceState`): the service
stores its plan there so a restart keeps backing off and ``deskbridge status`` can show it.
"""

from __future__ import annotations

from datetime import datetime

import duckdb


def save(
    con: duckdb.DuckDBPyConnection,
    connection: str,
    next_run_at: datetime | None,
    backoff_until: datetime | None,
    now: datetime,
) -> None:
    con.execute(
        "INSERT OR REPLACE INTO service_state VALUES (?, ?, ?, ?)",
        [connection, next_run_at, backoff_until, now],
    )


def load(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[datetime | None, datetime | None]]:
    """``{connection: (next_run_at, backoff_until)}``; empty for a warehouse without the table."""
    try:
        rows = con.execute(
            "SELECT connection, next_run_at, backoff_until FROM service_state"
        ).fetchall()
    except duckdb.CatalogException:
        return {}
    return {name: (next_run, backoff) for name, next_run, backoff in rows}
