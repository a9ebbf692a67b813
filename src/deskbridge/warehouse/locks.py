"""Work shared by many serve workers: PostgreSQL advisory locks, one per connection or link.

Several ``deskbridge serve`` processes (on one machine or many) with the same config and one
DuckLake warehouse each schedule every connection. Before a connection's run, or a link's push,
a worker takes ``pg_try_advisory_lock`` on a stable 64-bit hash of its name in its own PostgreSQL
session (the lake's catalog database); a worker that cannot take it skips that slot. A lock lives
as long as the session, so a worker that dies (even by SIGKILL) releases its locks when PostgreSQL
notices the closed socket: nothing to clean up, and no run of one connection overlaps another.

psycopg, not DuckDB's postgres extension, holds the session: an advisory lock belongs to one
server session, and the extension pools its connections, so a lock could be taken on one and
released on another. One plain connection per worker makes the session explicit.
"""

from __future__ import annotations

import hashlib
import threading

import psycopg
import structlog

from deskbridge.warehouse.store import worker_id

log = structlog.get_logger("deskbridge.warehouse")


def lock_key(kind: str, name: str) -> int:
    """A stable signed 64-bit key for ``kind`` (``connection`` or ``link``) and ``name``."""
    digest = hashlib.blake2b(f"deskbridge:{kind}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class WorkLocks:
    """One worker's PostgreSQL session and the advisory locks it holds."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.guard = threading.Lock()  # one statement at a time on the session
        self.held: set[int] = set()
        self.pg: psycopg.Connection[tuple[object, ...]] | None = None

    def _session(self) -> psycopg.Connection[tuple[object, ...]]:
        if self.pg is None or self.pg.closed:
            # A new session holds nothing: locks of a lost one were released with it.
            self.held.clear()
            self.pg = psycopg.connect(self.dsn, autocommit=True, application_name=worker_id())
        return self.pg

    def try_take(self, kind: str, name: str) -> bool:
        """Take the lock of ``kind``/``name`` if no other session holds it; never waits."""
        key = lock_key(kind, name)
        with self.guard:
            try:
                row = self._session().execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()
            except psycopg.OperationalError:
                self.close_session()
                row = self._session().execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()
            taken = bool(row and row[0])
            if taken:
                self.held.add(key)
            return taken

    def release(self, kind: str, name: str) -> None:
        """Give the lock back; a lock lost with its session is released already."""
        key = lock_key(kind, name)
        with self.guard:
            if key not in self.held:
                return
            self.held.discard(key)
            try:
                self._session().execute("SELECT pg_advisory_unlock(%s)", [key])
            except psycopg.OperationalError as exc:
                log.warning("lock.release_failed", kind=kind, name=name, error=str(exc))
                self.close_session()

    def close_session(self) -> None:
        if self.pg is not None:
            self.pg.close()
        self.pg = None
        self.held.clear()

    def close(self) -> None:
        with self.guard:
            self.close_session()
