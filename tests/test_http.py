"""The shared HTTP layer: retries, Retry-After, payload checks, concurrency bounds, redaction."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import pytest
import structlog

from deskbridge.sdk.errors import AuthError, HostUnreachable, PayloadError, RetriableError
from deskbridge.sdk.http import Costed, HttpOptions, HttpSession, reject_html
from deskbridge.sdk.redact import Scrubber, sanitize_url, scrub

FAST = HttpOptions(retries=3, backoff_initial_s=0.01, backoff_max_s=0.05)


def session(handler, options: HttpOptions = FAST) -> HttpSession:
    return HttpSession(
        "acme", "http://helpdesk.test", options=options, transport=httpx.MockTransport(handler)
    )


def text(response: httpx.Response) -> str:
    reject_html(response, "acme", "things")
    if not response.text.startswith("<ok"):
        raise PayloadError("bad body", vendor="acme")
    return response.text


async def test_retries_5xx_then_succeeds() -> None:
    """Two 500s then a 200: the caller sees only the 200, and three requests were counted."""
    answers = iter([500, 502, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(answers), text="<ok/>")

    async with session(handler) as s:
        assert await s.fetch("GET", "/x", parse=text, resource="things") == "<ok/>"
        assert s.counts == {"incremental": 3}


async def test_429_honours_retry_after() -> None:
    """A 429 with Retry-After: 1 waits about a second before the retry."""
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return httpx.Response(429, headers={"retry-after": "1"}, text="slow down")
        return httpx.Response(200, text="<ok/>")

    async with session(
        handler, HttpOptions(retries=1, backoff_initial_s=0.01, backoff_max_s=5)
    ) as s:
        await s.fetch("GET", "/x", parse=text, resource="things")
    assert calls[1] - calls[0] >= 0.95


async def test_retries_exhausted_raise_retriable_with_where() -> None:
    """Persistent 503s end in a RetriableError naming vendor, resource and status."""
    async with session(lambda r: httpx.Response(503, text="down for maintenance")) as s:
        with pytest.raises(RetriableError) as info:
            await s.fetch("GET", "/x", parse=text, resource="things")
    assert str(info.value) == "acme things HTTP 503: vendor answered 503: down for maintenance"
    assert s.counts["incremental"] == 4


async def test_401_is_fatal_at_once() -> None:
    """An auth failure is not retried and says what the vendor said."""
    async with session(lambda r: httpx.Response(401, text="FAILED TO AUTHENTICATE")) as s:
        with pytest.raises(AuthError, match="FAILED TO AUTHENTICATE"):
            await s.fetch("GET", "/x", parse=text, resource="things")
        assert s.counts["incremental"] == 1


async def test_html_page_with_200_is_retried_then_reported() -> None:
    """A proxy's HTML page is retried like a transient fault, then reported with its title."""
    page = "<!DOCTYPE html><html><head><title>Maintenance</title></head></html>"
    async with session(
        lambda r: httpx.Response(200, text=page, headers={"content-type": "text/html"})
    ) as s:
        with pytest.raises(PayloadError) as info:
            await s.fetch("GET", "/x?apikey=SECRET1", parse=text, resource="things")
    assert "HTML page titled 'Maintenance'" in str(info.value)
    assert "SECRET1" not in str(info.value)


async def test_transient_payload_error_is_retried() -> None:
    """A truncated body once, then a good one: the caller gets the good one."""
    answers = iter(["<o", "<ok/>"])
    async with session(lambda r: httpx.Response(200, text=next(answers))) as s:
        assert await s.fetch("GET", "/x", parse=text, resource="things") == "<ok/>"


async def test_connect_errors_are_retried() -> None:
    """A dropped connection is retried."""
    answers = iter([httpx.ConnectError("refused"), httpx.Response(200, text="<ok/>")])

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async with session(handler) as s:
        assert await s.fetch("GET", "/x", parse=text, resource="things") == "<ok/>"


async def test_concurrency_is_bounded() -> None:
    """No more than `concurrency` requests are in flight at once."""
    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(200, text="<ok/>")

    options = HttpOptions(concurrency=3)
    async with HttpSession(
        "acme", "http://t", options=options, transport=httpx.MockTransport(handler)
    ) as s:
        await asyncio.gather(*(s.fetch("GET", "/x", parse=text, resource="t") for _ in range(20)))
    assert peak == 3


class Things(Costed):
    """A vendor client as connectors write them: its calls carry its cost."""

    def __init__(self, s: HttpSession) -> None:
        self.session = s

    async def get(self) -> str:
        return await self.session.fetch("GET", "/x", parse=text, resource="t", cost=self.cost)


async def test_concurrent_passes_count_each_request_at_its_own_cost() -> None:
    """Two passes share a session at once, one incremental, one reconcile: each request counts
    at the cost of the pass that made it, however their requests interleave."""

    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.001)
        return httpx.Response(200, text="<ok/>")

    async def one_pass(client: Things, n: int) -> None:
        for _ in range(n):
            await client.get()

    async with HttpSession("acme", "http://t", transport=httpx.MockTransport(handler)) as s:
        client = Things(s)
        await asyncio.gather(one_pass(client, 7), one_pass(client.costing("reconcile"), 5))
    assert s.counts == {"incremental": 7, "reconcile": 5}
    assert client.cost == "incremental"  # a view does not change the client it came from


async def test_a_sessions_secrets_are_scrubbed_from_logs_and_errors() -> None:
    """Secrets handed to a session never reach an error message, a log line or scrub()."""
    secret = "sessionsecret-4711"

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"refused for {secret}")

    s = HttpSession(
        "acme",
        "http://t",
        options=HttpOptions(retries=1, backoff_initial_s=0.01),
        transport=httpx.MockTransport(handler),
        secrets=[secret],
    )
    with structlog.testing.capture_logs() as logs, pytest.raises(RetriableError) as info:
        await s.fetch("GET", "/x", parse=text, resource="t")
    await s.aclose()
    assert secret not in str(info.value) and "***" in str(info.value)
    assert logs and all(secret not in str(event) for event in logs)
    assert scrub(f"echo {secret}") == "echo ***"
    s.add_secrets(["token-made-later"])
    assert scrub("token-made-later") == "***"


async def test_rate_limit_spaces_requests() -> None:
    """A 20 requests/s limit makes 30 requests take at least half a second."""
    options = HttpOptions(rate_limit_per_s=20)
    async with HttpSession(
        "acme",
        "http://t",
        options=options,
        transport=httpx.MockTransport(lambda r: httpx.Response(200, text="<ok/>")),
    ) as s:
        started = time.monotonic()
        await asyncio.gather(*(s.fetch("GET", "/x", parse=text, resource="t") for _ in range(30)))
    assert time.monotonic() - started >= 0.45


def test_sanitize_url_masks_sensitive_parameters() -> None:
    """Every sensitive query parameter is masked; the rest is kept."""
    url = "http://h/api/index.php?e=/Tickets/Ticket/1&apikey=abc&salt=s1&signature=x%2By&page=2"
    assert (
        sanitize_url(url)
        == "http://h/api/index.php?e=/Tickets/Ticket/1&apikey=***&salt=***&signature=***&page=2"
    )


def test_scrubber_removes_secret_values_and_encodings() -> None:
    """Known secrets vanish from text, raw or URL-encoded."""
    scrub = Scrubber(["s3cr+t/value"])
    assert scrub("a s3cr+t/value b s3cr%2Bt%2Fvalue c") == "a *** b *** c"


async def test_post_is_not_retried_after_the_vendor_may_have_acted() -> None:
    """A POST answered 500 is not resent (it may have created something); a GET would be."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(500, text="oops")

    async with session(handler) as s:
        with pytest.raises(RetriableError):
            await s.fetch("POST", "/x", parse=text, resource="things")
    assert calls == 1


async def test_post_is_retried_when_the_connection_never_opened() -> None:
    """A POST whose connection was refused is safe to resend."""
    answers = iter([httpx.ConnectError("refused"), httpx.Response(200, text="<ok/>")])

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async with session(handler) as s:
        assert await s.fetch("POST", "/x", parse=text, resource="things") == "<ok/>"


@pytest.mark.parametrize("header", ["1.5", "soon", "-5", "", "Thu, 99 Foo 2015 07:28:00 GMT"])
async def test_malformed_retry_after_falls_back_to_backoff(header: str) -> None:
    """A Retry-After outside RFC 9110's grammar is ignored: the retry comes after the normal backoff."""
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        return httpx.Response(
            429 if len(calls) == 1 else 200, headers={"retry-after": header}, text="<ok/>"
        )

    async with session(handler) as s:
        assert await s.fetch("GET", "/x", parse=text, resource="things") == "<ok/>"
    assert len(calls) == 2 and calls[1] - calls[0] < 0.5


@pytest.mark.parametrize("header", ["3600", "Sun, 06 Nov 2094 08:49:37 GMT"])
async def test_retry_after_is_capped_at_backoff_max(header: str) -> None:
    """Retry-After in seconds or as an HTTP-date far ahead waits backoff_max_s, not an hour."""
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        return httpx.Response(
            503 if len(calls) == 1 else 200, headers={"retry-after": header}, text="<ok/>"
        )

    async with session(
        handler, HttpOptions(retries=2, backoff_initial_s=0.01, backoff_max_s=0.3)
    ) as s:
        assert await s.fetch("GET", "/x", parse=text, resource="things") == "<ok/>"
    assert 0.25 <= calls[1] - calls[0] < 1.0


def test_retry_after_grammar() -> None:
    """delay-seconds and HTTP-date parse; anything else is None (use the backoff)."""
    from deskbridge.sdk.http import retry_after

    past = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert [retry_after(v) for v in ["7", " 0 ", past, "1.5", "soon", "-5", "", None]] == [
        7.0,
        0.0,
        0.0,
        None,
        None,
        None,
        None,
        None,
    ]


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


async def test_a_refused_connection_gives_up_after_two_quick_retries() -> None:
    """A closed port: two short waits shared by the requests in flight, then the URL and key."""
    url = f"http://127.0.0.1:{_closed_port()}"
    options = HttpOptions(retries=5, backoff_initial_s=10)  # the normal backoff would take minutes
    s = HttpSession("acme", url, options=options, config_key="connections.support.base_url")
    started = time.monotonic()
    with structlog.testing.capture_logs() as logs, pytest.raises(HostUnreachable) as info:
        await asyncio.gather(
            *(s.fetch("GET", f"/x{i}", parse=text, resource="t") for i in range(4))
        )
    await s.aclose()
    assert time.monotonic() - started < 2
    assert str(info.value) == (
        f"connections.support.base_url: cannot connect to {url} (connection refused); "
        "check the host and port"
    )
    assert [(e["host"], e["attempt"], e["wait_s"], e["error"]) for e in logs] == [
        (url, "1 of 3", 0.25, "connection refused"),
        (url, "2 of 3", 0.5, "connection refused"),
    ]


async def test_timeouts_keep_the_retry_policy() -> None:
    """A read timeout is retried every time the options allow, each retry one line."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with structlog.testing.capture_logs() as logs, pytest.raises(RetriableError):
        async with session(handler) as s:
            await s.fetch("GET", "/x", parse=text, resource="things")
    assert s.total == 4
    assert [(e["host"], e["attempt"]) for e in logs] == [
        ("http://helpdesk.test", f"{n} of 4") for n in (1, 2, 3)
    ]


async def test_a_401_names_the_credential_keys() -> None:
    """The vendor refusing the credentials names the config keys that hold them."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, text="bad key")

    keys = ["connections.support.credentials.api_key", "connections.support.credentials.secret"]
    transport = httpx.MockTransport(handler)
    async with HttpSession("acme", "http://t", transport=transport, credential_keys=keys) as s:
        with pytest.raises(AuthError) as info:
            await s.fetch("GET", "/x", parse=text, resource="things")
    assert str(info.value) == (
        "acme things HTTP 401: vendor refused the request: bad key; check "
        "connections.support.credentials.api_key, connections.support.credentials.secret"
    )
