"""The analysts' snapshot: a read-only copy of the warehouse, replaced atomically after each run.

DuckDB allows one writing process per file, and a reader of the file being written would need
its lock. So analysts never open the warehouse itself: ``deskbridge serve`` copies it to
``<name>.snapshot.duckdb`` after every successful run. The copy is checkpointed and taken while
the service still holds the write lock (nobody can change the file meanwhile), checked, then
moved over the old snapshot with ``os.replace``. A reader sees the old snapshot or the new one,
never a half-written file, and a connection opened before the replace keeps reading the file it
opened (POSIX keeps a replaced file alive while it is open).

A DuckLake warehouse needs no copy: each successful run records the lake snapshot it committed,
and readers attach the lake at that version (:func:`lake_snapshot`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from deskbridge.warehouse.sqltext import literal
from deskbridge.warehouse.views import VIEWS

if TYPE_CHECKING:
    from deskbridge.warehouse.lake import LakeSpec


_CHECKED = "deskbridge_snapshot_check"  # the copy's name while publish checks it


def snapshot_path(warehouse: Path) -> Path:
    """Where the snapshot of ``warehouse`` lives: ``x.duckdb`` -> ``x.snapshot.duckdb``."""
    return warehouse.with_name(f"{warehouse.stem}.snapshot{warehouse.suffix or '.duckdb'}")


def publish(con: duckdb.DuckDBPyConnection, source: Path, target: Path) -> datetime:
    """Copy the warehouse open on ``con`` (file ``source``) to ``target`` atomically.

    The caller must hold ``con`` idle (no open transaction, no other thread using it).
    Returns the publication time, also recorded as ``meta.snapshot_at`` in the copy.
    """
    now = datetime.now(UTC)
    con.execute("INSERT OR REPLACE INTO meta VALUES ('snapshot_at', ?)", [now.isoformat()])
    con.execute("CHECKPOINT")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(source, tmp)
        _fsync(tmp)
        _check(con, tmp)
        # A WAL left by someone who opened the snapshot for writing belongs to the old file.
        Path(f"{target}.wal").unlink(missing_ok=True)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync(target.parent)
    return now


def published_at(path: Path) -> datetime | None:
    """When the snapshot at ``path`` was published; None if there is none."""
    if not path.exists():
        return None
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'snapshot_at'").fetchone()
    finally:
        con.close()
    return datetime.fromisoformat(row[0]) if row else None


def _check(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Refuse to publish a copy that does not open, or lacks a view.

    The copy is attached to the warehouse's own connection, read-only: a second DuckDB instance
    would add its own memory to the end of every run.
    """
    con.execute(f"ATTACH {literal(str(path))} AS {_CHECKED} (READ_ONLY)")
    try:
        have = {
            v
            for (v,) in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE NOT internal AND database_name = ?",
                [_CHECKED],
            ).fetchall()
        }
        missing = sorted({v.name for v in VIEWS} - have)
        if missing:
            raise RuntimeError(f"snapshot copy lacks views {', '.join(missing)}")
        con.execute(f"SELECT count(*) FROM {_CHECKED}.sync_runs").fetchone()
    finally:
        con.execute(f"DETACH {_CHECKED}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def lake_snapshot(spec: LakeSpec) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckLake warehouse read-only, as of the snapshot its last successful run recorded.

    The lake is its own snapshot store: a reader pins a version and sees exactly what the run
    committed, while workers go on writing. A lake no run has finished yet is read as it is.
    """
    from deskbridge.warehouse.lake import attach

    latest, _ = attach(spec, read_only=True)
    try:
        row = latest.execute(
            "SELECT max(snapshot_id) FROM sync_runs WHERE status = 'success'"
        ).fetchone()
    except duckdb.CatalogException:  # a lake never migrated: no tables to pin
        row = None
    pinned = row[0] if row else None
    if pinned is None:
        con = latest
    else:
        latest.close()
        con, _ = attach(spec, snapshot=int(pinned))
    try:
        con.execute("SET TimeZone = 'UTC'")
        yield con
    finally:
        con.close()
