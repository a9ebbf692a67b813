"""What a request looks like on the wire: one URL built per request, auth in its query string,
and the connection pool's streams over real loopback sockets."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl

import httpcore
import httpx
import pytest
from httpcore._async.connection_pool import AsyncPoolRequest

from deskbridge.sdk.http import HttpOptions, HttpSession
from deskbridge.sdk.transport import QuickPool, QuickStream, Readiness
from deskbridge_connectors.kayako.auth import KayakoAuth, sign
from deskbridge_connectors.omnidesk.auth import ApiKeyAuth

CALLS = [
    ("/api/v2/ticket/12", None),
    ("/api/index.php", {"e": "/Tickets/TicketPost/ListAll/12"}),
    ("/a b/ü", {"x": [1, 2], "y": None, "z": "a b&c/é"}),
    ("/p?q=1", {"r": 2}),
]


async def _urls(auth: httpx.Auth | None, base: str, by_httpx: bool) -> list[str]:
    """The URLs a session sends for :data:`CALLS`; ``by_httpx``: as httpx joins them itself."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, text="ok")

    async with HttpSession("v", base, auth=auth, transport=httpx.MockTransport(handler)) as s:
        if by_httpx:
            s._prefix = ""  # the session's own switch to httpx's joining and auth flow
        for path, params in CALLS:
            await s.fetch("GET", path, params=params, parse=lambda r: r, resource="r")
    return seen


def _unsalted(url: str) -> str:
    return "&".join(f"{k}={v}" for k, v in parse_qsl(url) if k not in ("salt", "signature"))


@pytest.mark.parametrize("base", ["http://helpdesk.test", "http://helpdesk.test:8080/desk/"])
async def test_a_built_url_is_the_one_httpx_would_send(base: str) -> None:
    """Paths, list and empty params, quoting, a query already in the path: byte for byte."""
    for auth in (None, ApiKeyAuth("k&y=1")):
        assert await _urls(auth, base, by_httpx=False) == await _urls(auth, base, by_httpx=True)
    kayako = KayakoAuth("ak", "sk")
    built, joined = await _urls(kayako, base, False), await _urls(kayako, base, True)
    assert list(map(_unsalted, built)) == list(map(_unsalted, joined))


async def test_kayako_signs_each_request_anew_in_the_query_and_writes_in_the_body() -> None:
    """GET: apikey, a fresh salt and its signature in the query; PUT: in the form body."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, text="ok")

    auth = KayakoAuth("ak", "sk")
    async with HttpSession(
        "kayako", "http://k.test", auth=auth, transport=httpx.MockTransport(handler)
    ) as s:
        for _ in range(2):
            await s.fetch(
                "GET", "/api/index.php", params={"e": "/X"}, parse=lambda r: r, resource="x"
            )
        await s.fetch(
            "PUT",
            "/api/index.php",
            params={"e": "/Y"},
            data={"a": "1"},
            parse=lambda r: r,
            resource="y",
        )
    queries = [dict(r.url.params) for r in sent[:2]]
    assert [sorted(q) for q in queries] == [["apikey", "e", "salt", "signature"]] * 2
    assert queries[0]["salt"] != queries[1]["salt"]
    assert all(q["signature"] == sign("sk", q["salt"]) for q in queries)
    body = dict(parse_qsl(sent[2].content.decode()))
    assert dict(sent[2].url.params) == {"e": "/Y"}
    assert body == {
        "a": "1",
        "apikey": "ak",
        "salt": body["salt"],
        "signature": sign("sk", body["salt"]),
    }


@asynccontextmanager
async def _server(
    close_after_first: bool, delay_s: float = 0.0
) -> AsyncIterator[tuple[str, list[int]]]:
    """A loopback HTTP/1.1 server; it can close the first connection once it has answered, and
    answer each request ``delay_s`` late."""
    connections: list[int] = []
    handlers: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        connections.append(len(connections))
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while await reader.readuntil(b"\r\n\r\n"):
                await asyncio.sleep(delay_s)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
                if close_after_first and len(connections) == 1:
                    break
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", connections
    finally:
        server.close()
        await asyncio.wait(handlers, timeout=5)  # the client has hung up: each handler ends
        await server.wait_closed()


async def test_loopback_requests_reuse_one_quick_connection() -> None:
    """Sequential requests share one keep-alive connection, through the quick streams."""
    async with _server(close_after_first=False) as (url, connections), HttpSession("v", url) as s:
        streams = [
            await s.fetch(
                "GET", f"/t/{i}", parse=lambda r: r.extensions["network_stream"], resource="t"
            )
            for i in range(3)
        ]
    assert len(connections) == 1
    assert all(isinstance(st, QuickStream) for st in streams)


async def test_a_connection_the_server_closed_is_not_reused() -> None:
    """The server hangs up an idle connection: the next request opens a new one, no error."""
    async with _server(close_after_first=True) as (url, connections), HttpSession("v", url) as s:
        assert await s.fetch("GET", "/a", parse=lambda r: r.text, resource="t") == "ok"
        await asyncio.sleep(0.05)  # the close reaches the client's socket
        assert await s.fetch("GET", "/b", parse=lambda r: r.text, resource="t") == "ok"
        assert s.counts == {"incremental": 2}  # no retry was needed
    assert len(connections) == 2


async def test_a_session_keeps_as_many_connections_as_its_concurrency() -> None:
    """32 requests in flight, three times over: the same 32 connections serve every round
    (httpx alone keeps 20 between requests, so each round opened 12 new ones)."""
    options = HttpOptions(concurrency=32, adaptive=False)
    async with (
        _server(close_after_first=False, delay_s=0.05) as (url, connections),
        HttpSession("v", url, options=options) as s,
    ):
        for round_ in range(3):
            answers = await asyncio.gather(
                *(
                    s.fetch("GET", f"/t/{round_}/{i}", parse=lambda r: r.text, resource="t")
                    for i in range(32)
                )
            )
            assert answers == ["ok"] * 32
    assert len(connections) == 32


async def test_readiness_polls_once_per_pass_of_the_loop_and_keeps_reused_fds() -> None:
    """Sockets of one pool are polled together; an answer holds until the event loop's next
    pass, as if each socket had been asked in turn; a socket closed and its fd number reused
    stays watched for the new one."""
    readiness = Readiness()
    a, b = socket.socketpair()
    c, d = socket.socketpair()
    try:
        first, _ = readiness.add(a), readiness.add(c)
        assert (readiness.readable(a), readiness.readable(c)) == (False, False)
        b.send(b"x")  # within the same pass: the answer already given stands
        assert readiness.readable(a) is False
        await asyncio.sleep(0)
        assert (readiness.readable(a), readiness.readable(c)) == (True, False)
        d.close()  # the peer hangs up: readable (a read returns b"")
        await asyncio.sleep(0)
        assert readiness.readable(c) is True
        fd = a.fileno()
        a.close()
        assert readiness.readable(a) is True  # closed here: as good as closed by the server
        e = socket.socket(fileno=os.dup2(c.fileno(), fd))  # a new socket on the same fd number
        again = readiness.add(e)
        readiness.discard(first)  # the old socket's late close leaves the new one watched
        await asyncio.sleep(0)
        assert readiness.readable(e) is True
        readiness.discard(again)
        e.close()
    finally:
        for s in (a, b, c, d):
            s.close()


async def test_a_cookie_the_vendor_sets_is_sent_back() -> None:
    """Responses without Set-Cookie skip the jar; one that sets a cookie still fills it."""
    sent: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("cookie"))
        headers = {"set-cookie": "lb=node2; Path=/"} if len(sent) == 2 else {}
        return httpx.Response(200, text="ok", headers=headers)

    async with HttpSession("v", "http://v.test", transport=httpx.MockTransport(handler)) as s:
        for _ in range(3):
            await s.fetch("GET", "/x", parse=lambda r: r, resource="x")
    assert sent == [None, None, "lb=node2"]


class _Conn:
    """A pooled connection as the pool's pass sees it: its state, and the origin it serves."""

    def __init__(self, rnd: random.Random, origin: httpcore.Origin, n: int) -> None:
        self.n, self.origin = n, origin
        self.closed, self.expired = rnd.random() < 0.1, rnd.random() < 0.1
        self.idle = rnd.random() < 0.6
        self.available = self.idle or rnd.random() < 0.1

    def is_closed(self) -> bool:
        return self.closed

    def has_expired(self) -> bool:
        return self.expired

    def is_idle(self) -> bool:
        return self.idle

    def is_available(self) -> bool:
        return self.available

    def can_handle_request(self, origin: httpcore.Origin) -> bool:
        return origin == self.origin


def _pass(pool_class: type[httpcore.AsyncConnectionPool], seed: int) -> tuple[object, ...]:
    """One bookkeeping pass over a random pool: what it closed, kept and assigned."""
    rnd = random.Random(seed)
    origins = [httpcore.URL(f"http://h{i}.test/").origin for i in range(2)]
    created: list[_Conn] = []

    class Pool(pool_class):  # type: ignore[misc, valid-type]
        def create_connection(self, origin: httpcore.Origin) -> Any:
            created.append(_Conn(random.Random(-len(created)), origin, 1000 + len(created)))
            return created[-1]

    pool = Pool(max_connections=rnd.randint(1, 12), max_keepalive_connections=rnd.randint(0, 8))
    pool._connections = [_Conn(rnd, rnd.choice(origins), i) for i in range(rnd.randint(0, 12))]
    requests = []
    for _ in range(rnd.randint(0, 6)):
        origin = rnd.choice(origins)
        request = AsyncPoolRequest(httpcore.Request("GET", f"http://{origin.host.decode()}/"))
        if rnd.random() < 0.3:
            request.connection = pool._connections[0] if pool._connections else None
        requests.append(request)
    pool._requests = requests
    closing = pool._assign_requests_to_connections()
    return (
        [c.n for c in closing],
        [c.n for c in pool._connections],
        [r.connection.n if r.connection else None for r in requests],  # type: ignore[attr-defined]
    )


async def test_the_quick_pool_decides_as_httpcores_own() -> None:
    """Over 2,000 random pools (closed, expired, idle and busy connections, two origins, the
    limits below and above), the linear pass closes, keeps and assigns what httpcore's does."""
    for seed in range(2000):
        assert _pass(QuickPool, seed) == _pass(httpcore.AsyncConnectionPool, seed), seed


async def test_sessions_use_the_quick_pool() -> None:
    async with HttpSession("v", "http://helpdesk.test") as s:
        assert type(s.client._transport._pool) is QuickPool  # type: ignore[attr-defined]
