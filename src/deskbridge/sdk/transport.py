"""The default HTTP transport: httpx's own, with network streams that are cheap to ask about.

Before it hands out a connection and when a response closes, httpcore's pool asks every idle
connection whether the server has closed it (``get_extra_info("is_readable")``). Through anyio
each such question rebuilds the socket's attribute table, ``getpeername`` included: about ten
of them per request, the largest cost of a request after the socket writes themselves. The
streams here keep the raw socket from the connect and answer with one zero-timeout ``poll``,
which is the same check. Everything else (TLS, proxies from the environment, limits,
timeouts, errors) is httpx's and httpcore's, unchanged.
"""

from __future__ import annotations

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


class QuickStream(AsyncNetworkStream):
    """A network stream that answers ``is_readable`` from the socket it kept at connect."""

    def __init__(self, stream: AsyncNetworkStream) -> None:
        self._stream = stream
        self._socket = stream.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> AsyncNetworkStream:
        return QuickStream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            return is_readable(self._socket)
        return self._stream.get_extra_info(info)


class QuickBackend(AsyncNetworkBackend):
    """The pool's own network backend, its streams wrapped in :class:`QuickStream`."""

    def __init__(self, backend: AsyncNetworkBackend) -> None:
        self._backend = backend

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
        return QuickStream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> AsyncNetworkStream:
        stream = await self._backend.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options
        )
        return QuickStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def default_transport(verify: ssl.SSLContext) -> httpx.AsyncHTTPTransport:
    """What ``httpx.AsyncClient`` would build by default, with :class:`QuickBackend` streams.

    httpx does not take a network backend, so it is set on the pool it built; should a later
    httpx build its pool differently, the transport stays httpx's own, only slower.
    """
    transport = httpx.AsyncHTTPTransport(verify=verify)
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(pool, httpcore.AsyncConnectionPool) and isinstance(backend, AsyncNetworkBackend):
        pool._network_backend = QuickBackend(backend)
    return transport
