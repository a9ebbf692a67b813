"""The default HTTP transport: httpx's own, with network streams that are cheap to ask about.

Before it hands out a connection and when a response closes, httpcore's pool asks every idle
connection whether the server has closed it (``get_extra_info("is_readable")``). Through anyio
each such question rebuilds the socket's attribute table, ``getpeername`` included: about ten
of them per request, the largest cost of a request after the socket writes themselves. The
streams here keep the raw socket from the connect, and a pool's streams share one
:class:`Readiness`: the first question of a pass over the pool polls every socket of the pool
at once (one zero-timeout ``poll``, the same check), and the others of that pass read the
answer. One pass runs without yielding to the event loop, so the answers are as fresh as
asking each socket in turn: the next pass polls again. The pool keeps up to ``concurrency``
connections open between requests, and its bookkeeping pass is :class:`QuickPool`'s, linear in
the connections. Everything else (TLS, proxies from the environment, timeouts, errors) is
httpx's and httpcore's, unchanged.
"""

from __future__ import annotations

import asyncio
import itertools
import select
import socket
import ssl
import sys
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx
from httpcore import AsyncNetworkBackend, AsyncNetworkStream


def is_readable(sock: socket.socket) -> bool:
    """Whether a read would return at once: data, or the ``b""`` of a connection the server
    closed (httpcore's own check, without asking anyio for the socket again)."""
    fd = sock.fileno()
    if fd < 0:
        return True  # closed here already: as good as closed by the server
    if sys.platform == "win32" or getattr(select, "poll", None) is None:  # pragma: no cover
        return bool(select.select([fd], [], [], 0)[0])
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class Readiness:
    """Which of a pool's sockets a read would return at once: one ``poll`` of them all per pass
    of the event loop, instead of one per socket each time the pool looks at its connections."""

    def __init__(self) -> None:
        self._poller = select.poll() if hasattr(select, "poll") else None
        self._owners: dict[int, int] = {}  # fd -> the stream that registered it
        self._ready: set[int] | None = None  # readable fds, until the loop's next pass
        self._tokens = itertools.count()

    def add(self, sock: socket.socket | None) -> tuple[int, int] | None:
        """Watch ``sock``; returns its registration, for :meth:`discard`."""
        fd = sock.fileno() if sock is not None else -1
        if self._poller is None or fd < 0:
            return None
        token = next(self._tokens)
        self._poller.register(fd, select.POLLIN)  # a reused fd number: registered anew
        self._owners[fd] = token
        self._ready = None
        return fd, token

    def discard(self, registration: tuple[int, int] | None) -> None:
        if registration is None or self._poller is None:
            return
        fd, token = registration
        if self._owners.get(fd) == token:  # not a newer socket that got the same fd number
            del self._owners[fd]
            self._poller.unregister(fd)
        self._ready = None

    def readable(self, sock: socket.socket) -> bool:
        fd = sock.fileno()
        if fd < 0:
            return True  # closed here already: as good as closed by the server
        if self._poller is None or fd not in self._owners:
            return is_readable(sock)
        if self._ready is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # pragma: no cover - the pool always runs in a loop
                return is_readable(sock)
            # POLLNVAL, POLLHUP, POLLERR: a read would return at once too
            self._ready = {ready for ready, _events in self._poller.poll(0)}
            loop.call_soon(self._forget)  # the next pass of the loop polls again
        return fd in self._ready

    def _forget(self) -> None:
        self._ready = None


class QuickStream(AsyncNetworkStream):
    """A network stream that answers ``is_readable`` from the socket it kept at connect."""

    def __init__(self, stream: AsyncNetworkStream, readiness: Readiness | None = None) -> None:
        self._stream = stream
        self._socket = stream.get_extra_info("socket")
        self._readiness = readiness
        self._registration = readiness.add(self._socket) if readiness is not None else None

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        if self._readiness is not None:
            self._readiness.discard(self._registration)
            self._readiness = None
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> AsyncNetworkStream:
        tls = await self._stream.start_tls(ssl_context, server_hostname, timeout)
        return QuickStream(tls, self._readiness)  # the same socket: registered again, to it

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            if self._readiness is not None:
                return self._readiness.readable(self._socket)
            return is_readable(self._socket)
        return self._stream.get_extra_info(info)


class QuickBackend(AsyncNetworkBackend):
    """The pool's own network backend, its streams wrapped in :class:`QuickStream`."""

    def __init__(self, backend: AsyncNetworkBackend) -> None:
        self._backend = backend
        self._readiness = Readiness()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> AsyncNetworkStream:
        stream = await self._backend.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return QuickStream(stream, self._readiness)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> AsyncNetworkStream:
        stream = await self._backend.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options
        )
        return QuickStream(stream, self._readiness)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class QuickPool(httpcore.AsyncConnectionPool):
    """httpcore's pool, its bookkeeping pass linear in the connections.

    httpcore 1.0's pass, run as each request starts and each response closes, counts the pool's
    connections once for every idle one (``len([c.is_idle() for c in connections])``) and lists
    the idle connections for every queued request, whether it needs them or not: with 32
    connections, ~1,000 calls a pass and 13% of a client's samples. This pass decides exactly as
    that one does (the count it took is the number of connections), without the rescans
    (encode/httpcore#1035 proposes the same upstream). Set on the pool httpx built
    (:func:`default_transport`) only for the httpcore it was written against.
    """

    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        closing: list[httpcore.AsyncConnectionInterface] = []
        connections = self._connections
        for connection in list(connections):
            if connection.is_closed():
                connections.remove(connection)
            elif connection.has_expired() or (
                connection.is_idle() and len(connections) > self._max_keepalive_connections
            ):
                connections.remove(connection)
                closing.append(connection)
        for pool_request in [r for r in self._requests if r.is_queued()]:
            origin = pool_request.request.url.origin
            available = next(
                (c for c in connections if c.can_handle_request(origin) and c.is_available()),
                None,
            )
            if available is not None:
                pool_request.assign_to_connection(available)
            elif len(connections) < self._max_connections:
                connection = self.create_connection(origin)
                connections.append(connection)
                pool_request.assign_to_connection(connection)
            else:
                idle = next((c for c in connections if c.is_idle()), None)
                if idle is not None:
                    connections.remove(idle)
                    closing.append(idle)
                    connection = self.create_connection(origin)
                    connections.append(connection)
                    pool_request.assign_to_connection(connection)
        return closing


def default_transport(verify: ssl.SSLContext, concurrency: int = 0) -> httpx.AsyncHTTPTransport:
    """What ``httpx.AsyncClient`` would build by default, with :class:`QuickBackend` streams, and
    room to keep ``concurrency`` connections open between requests.

    httpx keeps 20 idle connections by default: at a higher concurrency every answer past the
    20th closed its connection and the next request opened a new one (at 32 requests in flight
    with 50 ms round trips, connecting and closing took ~8% of the client's samples). httpx does
    not take a network backend, so it is set on the pool it built; should a later httpx build
    its pool differently, the transport stays httpx's own, only slower.
    """
    limits = httpx.Limits(
        max_connections=max(100, concurrency), max_keepalive_connections=max(20, concurrency)
    )
    transport = httpx.AsyncHTTPTransport(verify=verify, limits=limits)
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(pool, httpcore.AsyncConnectionPool) and isinstance(backend, AsyncNetworkBackend):
        pool._network_backend = QuickBackend(backend)
        if type(pool) is httpcore.AsyncConnectionPool and httpcore.__version__.startswith("1.0."):
            pool.__class__ = QuickPool
    return transport
