"""The warehouse file opened for writing: attached, with small row groups, to a DuckDB of its own.

Every commit that passes DuckDB's WAL threshold runs a checkpoint, and a checkpoint rewrites
each table's last, partly filled row group whole. With DuckDB's default of 122,880 rows per
group, that rewrite (and a sync's peak memory with it) grew with every table up to ~120k rows:
the notes of ~35k tickets. With :data:`ROW_GROUP_ROWS` it stays small, and commits get faster.

The row group size is an option of ``ATTACH``, not of ``duckdb.connect``, and the file does not
keep it: every writer attaches the file to an in-memory DuckDB with it. As with
``duckdb.connect`` (whose instance cache shares one DuckDB per file in a process), the writers
of one file in a process share that DuckDB, each with a cursor of its own; the last one to close
detaches the file, which checkpoints it and frees its lock.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb

from deskbridge.warehouse.sqltext import ident, literal

ROW_GROUP_ROWS = 8192  # a multiple of DuckDB's vector size (2,048)
_RESERVED = {"memory", "system", "temp", "main"}


@dataclass
class _File:
    base: duckdb.DuckDBPyConnection
    alias: str
    users: int


_guard = threading.Lock()
_files: dict[str, _File] = {}
_pid = os.getpid()


def _key(path: Path) -> str:
    return os.path.realpath(path)


def _alias(path: Path) -> str:
    """The name ``duckdb.connect`` gives the file (its stem), so ``current_database()`` and
    error messages read as they would for an analyst who opens it."""
    return ident(path.stem if path.stem.lower() not in _RESERVED else "warehouse")


def open_writer(path: Path) -> duckdb.DuckDBPyConnection:
    """A connection to ``path`` with the file attached and in use; :func:`close_writer` it."""
    global _pid
    key = _key(path)
    with _guard:
        if _pid != os.getpid():  # a forked child: the parent's DuckDBs are not its own
            _files.clear()
            _pid = os.getpid()
        entry = _files.get(key)
        if entry is None:
            # Spilled blocks go where duckdb.connect(path) puts them: next to the file.
            base = duckdb.connect(":memory:", config={"temp_directory": f"{path}.tmp"})
            alias = _alias(path)
            try:
                base.execute(
                    f"ATTACH {literal(str(path))} AS {alias} (ROW_GROUP_SIZE {ROW_GROUP_ROWS})"
                )
            except BaseException:
                base.close()
                raise
            entry = _files[key] = _File(base, alias, 0)
        con = entry.base.cursor()
        try:
            con.execute(f"USE {entry.alias}")
        except BaseException:
            con.close()
            if not entry.users:
                _drop(key, entry)
            raise
        entry.users += 1
        return con


def close_writer(path: Path, con: duckdb.DuckDBPyConnection) -> None:
    """Close ``con``; the file's last writer in this process detaches it (checkpoint, unlock)."""
    key = _key(path)
    with _guard:
        try:
            con.close()
        finally:
            entry = _files.get(key)
            if entry is not None:
                entry.users -= 1
                if entry.users <= 0:
                    _drop(key, entry)


def _drop(key: str, entry: _File) -> None:
    del _files[key]
    entry.base.close()  # closing the DuckDB detaches the file: a checkpoint, then the lock goes
