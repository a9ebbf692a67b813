"""DuckDB failures of the warehouse file, told as one line: what, which file, and the fix.

The only place that reads DuckDB's error text: :class:`~deskbridge.warehouse.store.Warehouse` calls
:func:`translate` where it opens the file and where a transaction ends.
"""

from __future__ import annotations

import errno
import math
import re
from pathlib import Path

import duckdb

from deskbridge.sdk.errors import (
    DeskbridgeError,
    WarehouseError,
    WarehouseLocked,
    WarehouseMemoryError,
)

DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file
_UNITS = {
    "": 1,
    "b": 1,
    "bytes": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_LOCK_PID = re.compile(r"\(PID (\d+)\)")


def size_bytes(text: str) -> int:
    """``"128MB"`` or DuckDB's ``"122.0 MiB"`` in bytes."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([a-zA-Z]*)\s*", text)
    if not match or match[2].lower() not in _UNITS:
        raise ValueError(f"not a size: {text!r} (e.g. 128MB, 2GB)")
    return int(float(match[1]) * _UNITS[match[2].lower()])


def megabytes(n: float) -> str:
    return f"{n / 10**6:.1f} MB"


def check_file(path: Path) -> None:
    """Refuse, before DuckDB sees it, a file that is not a DuckDB database at all."""
    if not path.is_file():
        return
    with path.open("rb") as f:
        head = f.read(12)
    if len(head) < 12 or head[8:12] != DUCKDB_MAGIC:
        what = "is empty" if not head else "is not a DuckDB database"
        raise WarehouseError(
            f"{path} {what}, so not a deskbridge warehouse; restore it from a backup or set "
            "[warehouse] path (or --db) to a new file"
        )


def locked(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and "Could not set lock" in str(exc)


def translate(
    exc: BaseException, path: Path, memory_limit: str, waited_s: float = 0.0
) -> DeskbridgeError:
    """One clear :class:`WarehouseError` for a DuckDB or OS failure on the warehouse at ``path``;
    ``waited_s`` is how long the caller waited for a lock before giving up."""
    if isinstance(exc, DeskbridgeError):
        return exc
    text = " ".join(str(exc).split())
    if locked(exc):
        return lock_error(path, text, waited_s)
    if "No space left on device" in text or getattr(exc, "errno", None) == errno.ENOSPC:
        return WarehouseError(
            f"no space left on the disk of {path}; free some "
            "space or move [warehouse] path to a larger disk, then run again"
        )
    if (
        "Read-only file system" in text
        or "Permission denied" in text
        or isinstance(exc, PermissionError)
    ):
        return WarehouseError(
            f"cannot write {path} or its directory {path.parent} (read-only or no permission); "
            "make it writable or set [warehouse] path (or --db) to a writable place"
        )
    if (
        isinstance(exc, duckdb.OutOfMemoryException)
        or "Out of Memory" in text
        or "failed to pin block" in text
    ):
        return memory_error(path, memory_limit, text.split(" Possible solutions")[0])
    if _damaged(text):
        return WarehouseError(
            f"{path} is damaged or not a deskbridge warehouse ({_first(text)}); restore it from a "
            "backup or set [warehouse] path (or --db) to a new file"
        )
    return WarehouseError(f"{path}: {_first(text)}")


def lock_error(path: Path, text: str, waited_s: float) -> WarehouseLocked:
    """The warehouse is held by another process: name it (DuckDB says its PID) and the way out."""
    pid = _LOCK_PID.search(text)
    holder = f"process {pid[1]}" if pid else "another process (a sync, serve or push)"
    waited = f" (still running after {waited_s:g}s)" if waited_s > 0 else ""
    return WarehouseLocked(
        f"{path} is locked by {holder}{waited}; stop it or raise [warehouse] lock_wait",
        pid=int(pid[1]) if pid else None,
    )


def memory_error(path: Path, memory_limit: str, cause: str) -> WarehouseMemoryError:
    double = math.ceil(size_bytes(memory_limit) * 2 / 10**6)
    return WarehouseMemoryError(
        f"{path}: the warehouse ran out of memory ({cause}); raise [warehouse] memory_limit "
        f"from {memory_limit} to {double}MB or more"
    )


def record_too_large(
    entity: str, source_id: str, size: int, budget: int, memory_limit: str
) -> WarehouseError:
    needed = math.ceil(size * (size_bytes(memory_limit) / budget) / 10**6 / 64) * 64
    return WarehouseError(
        f"{entity} record {source_id} is {megabytes(size)}, more than one write may hold with "
        f"[warehouse] memory_limit = {memory_limit}; raise [warehouse] memory_limit to {needed}MB or more"
    )


def _damaged(text: str) -> bool:
    signs = (
        "not a valid DuckDB database",
        "Corrupt database",
        "Could not read enough bytes",
        "checksum",
        "Is a directory",
        "Serialization Error",
        "INTERNAL Error",
    )
    return any(sign in text for sign in signs)


def _first(text: str) -> str:
    return text.split(" See also ")[0].split(" Possible solutions")[0][:300]
