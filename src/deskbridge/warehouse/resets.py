"""Clearing a connection's cursors (a link's crosswalk is cleared by :mod:`deskbridge.push.crosswalk`).

Like dlt's ``drop`` and Meltano's ``state clear``: each reset says what it removed, table by
table (or stream by stream), in one transaction, and touches nothing else. Synced rows stay;
only where the next run starts changes.
"""

from __future__ import annotations

import duckdb

from deskbridge.sdk.errors import ConfigError


def reset_state(
    con: duckdb.DuckDBPyConnection, connection: str, streams: tuple[str, ...] = ()
) -> list[str]:
    """Delete the cursors of ``connection`` (only ``streams`` if given); the streams cleared.

    An unknown stream raises, naming the streams the connection has cursors for.
    """
    held = [
        r[0]
        for r in con.execute(
            "SELECT stream FROM sync_state WHERE connection = ? ORDER BY 1", [connection]
        ).fetchall()
    ]
    unknown = [s for s in streams if s not in held]
    if unknown:
        raise ConfigError(
            f"{connection} has no cursor for stream {unknown[0]!r}; cursors held: {', '.join(held) or 'none'}"
        )
    chosen = list(streams) or held
    if chosen:
        con.execute(
            "DELETE FROM sync_state WHERE connection = ? AND list_contains(?, stream)",
            [connection, chosen],
        )
    return chosen
