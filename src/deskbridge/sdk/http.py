"""The HTTP layer every connector shares.

One :class:`HttpSession` per connection: an ``httpx.AsyncClient`` (with an injectable
transport, so tests run connectors against emulators in-process), bounded concurrency, a
request-rate limit, a pace that adapts to the vendor's 429s, 503s and round trips below both
(:mod:`deskbridge.sdk.adaptive`; a ``Retry-After`` pauses the whole session), timeouts, retries with backoff on timeouts, dropped connections, 5xx and 429
(honouring ``Retry-After``), a request counter per cost, and redaction of secrets in every log
line and error message. A host that refuses the connection or does not resolve fails after
:data:`QUICK_RETRIES` short waits, naming the URL and the config key: no vendor is down for
a minute and back, but a typo is.

Each request names its cost (``incremental``, ``reconcile``, ``write``) as an argument, so two
passes sharing a session count apart. A vendor client carries the cost of its calls with
:class:`Costed`: ``client.costing("reconcile")`` is the same client, counted as a reconcile.

A connector calls :meth:`HttpSession.fetch` with a ``parse`` function: the parse runs inside
the retry loop, so a truncated body or a proxy's HTML page is retried like a 5xx, and only a
persistent failure becomes a :class:`~deskbridge.sdk.errors.PayloadError` naming what and where.
"""

from __future__ import annotations

import asyncio
import copy
import email.utils
import errno
import functools
import logging
import random
import socket
import ssl
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any, Self, TypeVar

import httpx
import structlog
from aiolimiter import AsyncLimiter

from deskbridge.sdk.adaptive import PACES, Throttle
from deskbridge.sdk.errors import (
    AuthError,
    FatalError,
    HostUnreachable,
    NotFound,
    PayloadError,
    PermissionDenied,
    RetriableError,
)
from deskbridge.sdk.redact import excerpt, register, sanitize_url, scrub, scrub_for
from deskbridge.sdk.transport import default_transport

T = TypeVar("T")
log = structlog.get_logger("deskbridge.http")
INCREMENTAL = "incremental"
_COST = "deskbridge.cost"  # the request extension that carries a request's cost to auth flows
QUICK_RETRIES = (0.25, 0.5)  # waits before giving up on a refused connection or an unknown host


@cache
def _stamina() -> ModuleType:
    """stamina, imported at the first retry (a run that needs none does not load it)."""
    import stamina

    # Each retry is logged once by HttpSession with the host, the attempt and the wait;
    # stamina's own line (the callable's repr, its args and the exception's) would say it again.
    stamina.instrumentation.set_on_retry_hooks([])
    return stamina


@dataclass(frozen=True)
class HttpOptions:
    """Per-connection limits; every field is a config key of ``[connections.<name>]``."""

    concurrency: int = 8
    rate_limit_per_s: float = 0.0
    timeout_s: float = 30.0
    retries: int = 5
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    adaptive: bool = True  # pace below the two ceilings above by the vendor's answers


@cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context for every session of the process: each one loads the CA bundle (~40 ms)."""
    return httpx.create_ssl_context()


class HttpSession:
    """An async HTTP client for one connection to one vendor."""

    def __init__(
        self,
        vendor: str,
        base_url: str,
        *,
        options: HttpOptions | None = None,
        auth: httpx.Auth | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: dict[str, str] | None = None,
        secrets: Iterable[str] = (),
        config_key: str | None = None,
        credential_keys: Iterable[str] = (),
    ) -> None:
        """``config_key`` (e.g. ``connections.support.base_url``) is named when the host cannot
        be reached, ``credential_keys`` when the vendor refuses the credentials."""
        self.vendor = vendor
        self.config_key = config_key
        self.credential_keys = tuple(credential_keys)
        self.add_secrets(secrets)
        self.options = options or HttpOptions()
        self.auth = auth
        self.client = httpx.AsyncClient(
            base_url=base_url,
            transport=transport or default_transport(_tls_context(), self.options.concurrency),
            headers={"user-agent": "deskbridge", **(headers or {})},
            timeout=self.options.timeout_s,
            follow_redirects=False,
            verify=_tls_context(),
        )
        if isinstance(getattr(self.client, "_cookies", None), httpx.Cookies):
            self.client._cookies = _Cookies()  # httpx takes no jar class; the setter wraps
        base = self.client.base_url  # its path ends with "/"; the path may be empty
        plain = base.is_absolute_url and not (base.query or base.fragment)
        self._prefix = f"{str(base).removesuffix('/')}/" if plain else ""  # "" : let httpx join
        self._host = _host(self.client.base_url)
        self._slots = asyncio.Semaphore(self.options.concurrency)
        adaptive = self.options.adaptive
        # sessions to one host share what the last one learned of its limit (adaptive.PACES)
        self._pace_key = f"{vendor} {self.client.base_url.host}:{self.client.base_url.port or ''}"
        pace = PACES.start(self._pace_key, self.options.concurrency) if adaptive else None
        self._throttle = Throttle(pace) if pace is not None else None
        rate = self.options.rate_limit_per_s
        self._limiter = AsyncLimiter(rate, 1.0) if rate > 0 else None
        self.counts: Counter[str] = Counter()
        # refused connections in a row, across concurrent requests: the quick retries are the
        # session's, so ten requests in flight to a closed port give up together, not each alone
        self.refusals = 0

    async def __aenter__(self) -> HttpSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._throttle is not None:
            PACES.keep(self._pace_key, self._throttle.aimd)
        await self.client.aclose()

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def add_secrets(self, secrets: Iterable[str]) -> None:
        """Mask these values (credentials, tokens made per login) in every log line and error."""
        register(secrets)

    def charge(self, request: httpx.Request) -> None:
        """Count one more request at the cost of ``request`` (e.g. a token request an auth flow
        sent for it)."""
        self.counts[request.extensions.get(_COST, INCREMENTAL)] += 1

    async def fetch(
        self,
        method: str,
        url: str,
        *,
        parse: Callable[[httpx.Response], T],
        resource: str,
        record_id: str | None = None,
        allow: tuple[int, ...] = (),
        idempotent: bool | None = None,
        cost: str = INCREMENTAL,
        **kwargs: Any,
    ) -> T:
        """Send a request, check its status, and parse it; retried as a whole when transient.

        Every attempt counts once under ``cost`` in :attr:`counts`.

        ``allow`` lists statuses handed to ``parse`` instead of raised (e.g. 404 in an id walk).
        A request that is not idempotent (POST unless said otherwise) is retried only when the
        vendor cannot have acted on it: a connection that never opened, or a 429.
        """
        where = {"vendor": self.vendor, "resource": resource, "record_id": record_id}
        safe = method.upper() != "POST" if idempotent is None else idempotent
        opts = self.options
        own = _own_path(url)
        host = self._host if own else _host(self.client.base_url.join(url))
        policy = _RetryPolicy(self, safe, host)
        once = functools.partial(self._attempt, method, url, where, cost, allow, parse, kwargs)
        try:
            try:  # most requests succeed at once: no retry machinery for them
                return await once()
            except Exception as exc:
                wait = policy.wait(exc)
                if wait is False:
                    raise
                await asyncio.sleep(wait)
            async for attempt in _stamina().retry_context(
                on=policy.wait,
                attempts=max(opts.retries, 1),  # the first one is above
                timeout=None,
                wait_initial=opts.backoff_initial_s,
                wait_max=opts.backoff_max_s,
                wait_jitter=opts.backoff_initial_s,
            ):
                with attempt:
                    return await once()
        except _TransientPayload as exc:
            raise exc.cause from None
        except _Unsent as exc:
            if exc.unreachable is None:
                raise
            raise self._unreachable(exc.unreachable, policy.host) from None
        except (AuthError, PermissionDenied) as exc:
            raise self._check_credentials(exc) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(
        self,
        method: str,
        url: str,
        where: dict[str, Any],
        cost: str,
        allow: tuple[int, ...],
        parse: Callable[[httpx.Response], T],
        kwargs: dict[str, Any],
    ) -> T:
        """One attempt: send, check the status, parse (a payload error may be transient)."""
        response = await self._send(method, url, where, cost, **kwargs)
        if response.status_code not in allow:
            _raise_for_status(response, where)
        try:
            return parse(response)
        except PayloadError as exc:
            raise _TransientPayload(exc) from exc

    def _unreachable(self, reason: str, host: str) -> HostUnreachable:
        key = self.config_key or f"{self.vendor} base_url"
        return HostUnreachable(
            f"{key}: cannot connect to {host} ({reason}); check the host and port", url=host
        )

    def _check_credentials(self, exc: AuthError | PermissionDenied) -> FatalError:
        """The same error, naming the config keys of the credentials to check."""
        if self.credential_keys and "; check " not in str(exc):
            exc.args = (f"{exc}; check {', '.join(self.credential_keys)}",)
        return exc

    async def _send(
        self, method: str, url: str, where: dict[str, Any], cost: str, **kwargs: Any
    ) -> httpx.Response:
        async with self._throttle.slot() if self._throttle else self._slots:
            if self._limiter is not None:
                await self._limiter.acquire()
            self.counts[cost] += 1
            started = time.monotonic()
            target, auth, kwargs = self._target(method, url, kwargs)
            try:
                response = await self.client.request(
                    method, target, auth=auth, extensions={_COST: cost}, **kwargs
                )
            except (httpx.TransportError, ConnectionError) as exc:
                message = f"{type(exc).__name__}: {scrub(str(exc))}"
                if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
                    raise _Unsent(message, unreachable=_unreachable(exc), **where) from None
                raise RetriableError(message, **where) from None
            self.refusals = 0
            if self._throttle is not None:
                self._adapt(response, started, where["resource"])
            if log.is_enabled_for(logging.DEBUG):
                log.debug(
                    "http.request",
                    method=method,
                    url=sanitize_url(str(response.request.url)),
                    status=response.status_code,
                    ms=round((time.monotonic() - started) * 1000, 1),
                )
            return response

    def _target(
        self, method: str, url: str, kwargs: dict[str, Any]
    ) -> tuple[httpx.URL | str, httpx.Auth | None, dict[str, Any]]:
        """The URL to send, the auth flow still to run, and the other request arguments.

        A relative path with its query in a mapping (every Kayako and Omnidesk read) becomes
        one URL, parsed once, with a :class:`QueryAuth`'s fields already in it; httpx would
        parse it four times (join, params, auth, merge). Anything else goes to httpx as it is.
        """
        params = kwargs.get("params")
        if not self._prefix or "?" in url or not _own_path(url):
            return url, self.auth, kwargs
        if not isinstance(params, Mapping | None):
            return url, self.auth, kwargs
        signed = self.auth.query(method) if isinstance(self.auth, QueryAuth) else None
        fields = {**(params or {}), **(signed or {})}
        rest = {k: v for k, v in kwargs.items() if k != "params"}
        query = f"?{httpx.QueryParams(fields)}" if fields else ""
        target = httpx.URL(f"{self._prefix}{url[1:]}{query}")
        return target, (None if signed is not None else self.auth), rest

    def _adapt(self, response: httpx.Response, sent_at: float, resource: str) -> None:
        """Tell the pace how the vendor answered a call to ``resource`` sent at ``sent_at``."""
        assert self._throttle is not None
        if response.status_code not in (429, 503):
            self._throttle.served(sent_at, resource)
            return
        wait = retry_after(response.headers.get("retry-after"))
        if wait is not None:
            wait = min(wait, self.options.backoff_max_s)
        self._throttle.throttled(sent_at, wait)
        aimd = self._throttle.aimd
        log.debug("http.pace", host=_host(response.request.url), rate_per_s=round(aimd.rate, 2))


class _Cookies(httpx.Cookies):
    """The session's cookies, looked at only when a response sets some.

    httpx asks the jar about every response through a urllib request it builds for that
    (~2 % of a read's CPU); a response without ``Set-Cookie`` gives the jar nothing to keep
    (``Set-Cookie2`` is ignored by its default policy), so that question is skipped.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


class QueryAuth(httpx.Auth):
    """Credentials that travel in the query string: :meth:`query` gives them for one request.

    An :class:`HttpSession` puts them into the URL it builds (one parse per request); used as
    a plain ``httpx.Auth`` elsewhere, the flow adds them to the request's URL.
    """

    def query(self, method: str) -> dict[str, str] | None:
        """The query fields for one ``method`` request, made afresh per attempt; None when
        this request needs :meth:`auth_flow` instead (e.g. a signed form body)."""
        raise NotImplementedError

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        fields = self.query(request.method)
        if fields:
            request.url = request.url.copy_merge_params(fields)
        yield request


class Costed:
    """Mixin of a vendor client: ``cost`` is what its requests count as; pass it to
    :meth:`HttpSession.fetch`. A pass takes its own view with :meth:`costing`."""

    cost: str = INCREMENTAL

    def costing(self, cost: str) -> Self:
        """This client (same session, same state) with its requests counted as ``cost``."""
        view = copy.copy(self)
        view.cost = cost
        return view


class _Unsent(RetriableError):
    """The connection never opened: the vendor did not see the request.

    ``unreachable`` says why when no retry soon will help ("connection refused", "unknown host").
    """

    def __init__(self, message: str, *, unreachable: str | None, **where: Any) -> None:
        self.unreachable = unreachable
        super().__init__(message, **where)


def _unreachable(exc: BaseException) -> str | None:
    """Why ``exc`` needs no slow retry ("connection refused", "unknown host"); else None."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return "unknown host"
        if (
            isinstance(seen, ConnectionRefusedError)
            or getattr(seen, "errno", None) == errno.ECONNREFUSED
        ):
            return "connection refused"
        seen = seen.__cause__ or seen.__context__
    return None


def _own_path(url: str) -> bool:
    """Whether ``url`` is a plain path on the session's host ("/api/x", not "//host/x")."""
    return url.startswith("/") and not url.startswith("//") and "://" not in url


def _host(url: httpx.URL) -> str:
    """``scheme://host:port`` of ``url``: what a connection goes to, without path or secrets."""
    return f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}"


class _RetryPolicy:
    """Whether and how long to wait before one more attempt; logs each retry in one line."""

    def __init__(self, session: HttpSession, safe: bool, host: str) -> None:
        self.session, self.options, self.safe, self.host = session, session.options, safe, host
        self.failures = 0

    def wait(self, exc: Exception) -> bool | float:
        """The stamina backoff hook: False to give up, else the seconds to wait."""
        self.failures += 1
        if self.failures > self.options.retries or not self._retriable(exc):
            return False
        assert isinstance(exc, RetriableError)
        if isinstance(exc, _Unsent) and exc.unreachable is not None:
            self.session.refusals += 1
            if self.session.refusals > len(QUICK_RETRIES):
                return False
            seconds = QUICK_RETRIES[self.session.refusals - 1]
            attempt, attempts = self.session.refusals, len(QUICK_RETRIES) + 1
        else:
            seconds = self._backoff(exc)
            attempt, attempts = self.failures, self.options.retries + 1
        log.warning(
            "http.retry",
            host=self.host,
            attempt=f"{attempt} of {attempts}",
            wait_s=round(seconds, 2),
            error=_cause(exc),
        )
        return seconds

    def _retriable(self, exc: Exception) -> bool:
        """Any transient failure when the request is idempotent, else only one the vendor
        surely did not act on: a connection that never opened, or a 429."""
        if not isinstance(exc, RetriableError):
            return False
        return self.safe or isinstance(exc, _Unsent) or exc.status == 429

    def _backoff(self, exc: RetriableError) -> float:
        """The vendor's Retry-After, at most backoff_max_s; else exponential with jitter."""
        opts = self.options
        if exc.retry_after is not None:
            return min(exc.retry_after, opts.backoff_max_s)
        grown = opts.backoff_initial_s * 2 ** (self.failures - 1)
        return min(opts.backoff_max_s, grown + random.uniform(0, opts.backoff_initial_s))


def _cause(exc: RetriableError) -> str:
    """What went wrong, in a few words."""
    return exc.unreachable if isinstance(exc, _Unsent) and exc.unreachable else str(exc)


class _TransientPayload(RetriableError):
    """A payload error retried in case it was transient; re-raised as itself at the end."""

    def __init__(self, cause: PayloadError) -> None:
        self.cause = cause
        super().__init__(str(cause))


def _raise_for_status(response: httpx.Response, where: dict[str, Any]) -> None:
    status = response.status_code
    if status < 400:
        return
    body = excerpt(response) or response.reason_phrase
    if status == 429 or status >= 500:
        raise RetriableError(
            f"vendor answered {status}: {body}",
            retry_after=retry_after(response.headers.get("retry-after")),
            status=status,
            **where,
        )
    exc_type: type[FatalError] = {401: AuthError, 403: PermissionDenied, 404: NotFound}.get(
        status, FatalError
    )
    raise exc_type(f"vendor refused the request: {body}", status=status, **where)


def retry_after(value: str | None) -> float | None:
    """Seconds to wait per RFC 9110 §10.2.3 (delay-seconds or an HTTP-date); None for anything else."""
    value = (value or "").strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None  # "1.5", "soon", "-5": not the header's grammar, so the normal backoff
    if parsed.tzinfo is None:
        return None
    return max(0.0, parsed.timestamp() - time.time())


def is_html(response: httpx.Response) -> bool:
    """Whether a response carries an HTML page (a proxy's, a login form) rather than data."""
    ctype = response.headers.get("content-type", "")
    head = response.content[:200].lstrip().lower()
    return "text/html" in ctype or head.startswith((b"<!doctype html", b"<html"))


def reject_html(response: httpx.Response, vendor: str, resource: str) -> None:
    """Raise a clear :class:`PayloadError` when a 200 carries an HTML page instead of data."""
    if is_html(response):
        title = scrub_for(response.request, _html_title(response.text))
        raise PayloadError(
            f"expected data, got an HTML page{f' titled {title!r}' if title else ''} "
            f"from {sanitize_url(str(response.request.url))}",
            vendor=vendor,
            resource=resource,
            status=response.status_code,
        )


def _html_title(text: str) -> str:
    lower = text.lower()
    start, end = lower.find("<title>"), lower.find("</title>")
    return text[start + 7 : end].strip() if 0 <= start < end else ""
