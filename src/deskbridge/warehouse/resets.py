"""Clearing bookkeeping a user needs to clear: a link's crosswalk and failures, a connection's cursors.

Like dlt's ``drop`` and Meltano's ``state clear``: each reset says what it removed, table by
table (or stream by stream), in one transaction, and touches nothing else. Synced rows stay;
only where the next run starts changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from deskbridge.sdk.errors import ConfigError

ENTITIES = ("tickets", "notes", "time_entries")


@dataclass(frozen=True)
class Record:
    """``ENTITY:ID``: a record on either side of a link."""

    entity: str
    source_id: str

    @classmethod
    def parse(cls, text: str) -> Record:
        entity, sep, source_id = text.partition(":")
        if not sep or entity not in ENTITIES or not source_id:
            raise ConfigError(
                f"--record {text!r}: expected ENTITY:ID with ENTITY one of {', '.join(ENTITIES)} (e.g. notes:reply:12)"
            )
        return cls(entity, source_id)


def known_links(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Links the warehouse holds anything of (a migration's link may not be configured)."""
    rows = con.execute(
        "SELECT link FROM crosswalk UNION SELECT link FROM push_failures UNION SELECT link FROM push_skips ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def reset_link(
    con: duckdb.DuckDBPyConnection,
    link: str,
    *,
    pending: bool = False,
    failed: bool = False,
    records: tuple[Record, ...] = (),
) -> dict[str, int]:
    """Delete what the flags select (nothing given: everything of the link); rows removed per table."""
    everything = not (pending or failed or records)
    wheres: dict[str, list[tuple[str, list[str]]]] = {
        "crosswalk": [],
        "push_failures": [],
        "push_skips": [],
    }
    if everything:
        wheres = {table: [("TRUE", [])] for table in wheres}
    if pending:
        wheres["crosswalk"].append(("state = 'pending'", []))
    if failed:
        wheres["push_failures"].append(("resolved_at IS NULL", []))
    for r in records:
        wheres["crosswalk"].append(
            ("entity = ? AND ? IN (origin_id, a_id, b_id)", [r.entity, r.source_id])
        )
        for table in ("push_failures", "push_skips"):
            wheres[table].append(("entity = ? AND source_id = ?", [r.entity, r.source_id]))
    removed = {}
    con.execute("BEGIN TRANSACTION")
    try:
        for table, clauses in wheres.items():
            if clauses:
                where = " OR ".join(f"({sql})" for sql, _ in clauses)
                params = [link, *(p for _, ps in clauses for p in ps)]
                (n,) = con.execute(
                    f"SELECT count(*) FROM {table} WHERE link = ? AND ({where})", params
                ).fetchone()  # type: ignore[misc]
                con.execute(f"DELETE FROM {table} WHERE link = ? AND ({where})", params)
                removed[table] = int(n)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return removed


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
