"""Authentication: WHMCS credentials in every form body; Keliweb's OAuth2 password grant."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncGenerator, Callable, Generator
from urllib.parse import urlencode

import httpx

from deskbridge.sdk import SCRUBBER, AuthError, RetriableError, excerpt


def md5_hex(password: str) -> str:
    """The legacy admin login sends the MD5 hex of the password, not the password."""
    return hashlib.md5(password.encode()).hexdigest()


class WhmcsAuth(httpx.Auth):
    """Appends the credential fields (and ``accesskey``, if any) to each form body."""

    requires_request_body = True

    def __init__(self, fields: dict[str, str]) -> None:
        self._fields = fields

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        body = request.content
        body += (b"&" if body else b"") + urlencode(self._fields).encode()
        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
        headers["content-type"] = "application/x-www-form-urlencoded"
        yield httpx.Request(request.method, request.url, headers=headers, content=body)


class KeliwebAuth(httpx.Auth):
    """Keliweb's Passport token: a password grant, then a refresh once on a 401.

    Concurrent requests share one token; a lock makes sure one expiry costs one refresh, and
    a refused refresh falls back to the password grant. ``on_token`` is called for each token
    request so the connector can count them.
    """

    def __init__(
        self,
        token_url: str,
        client: dict[str, str],
        login: dict[str, str],
        on_token: Callable[[], None] = lambda: None,
    ) -> None:
        self._url, self._client, self._login, self._on_token = token_url, client, login, on_token
        self._access: str | None = None
        self._refresh: str | None = None
        self._lock: asyncio.Lock | None = None

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("KeliwebAuth works with httpx.AsyncClient only")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if self._access is None:
                answer = yield self._grant(refresh=False)
                await self._store(answer, refresh=False)
        used = self._access
        request.headers["authorization"] = f"Bearer {used}"
        response = yield request
        if response.status_code != 401:
            return
        async with self._lock:
            if self._access == used:  # nobody refreshed while this request was out
                refresh = self._refresh is not None
                answer = yield self._grant(refresh=refresh)
                if refresh and answer.status_code in (400, 401):
                    answer = yield self._grant(refresh=False)
                    refresh = False
                await self._store(answer, refresh=refresh)
        request.headers["authorization"] = f"Bearer {self._access}"
        yield request

    def _grant(self, *, refresh: bool) -> httpx.Request:
        self._on_token()
        if refresh:
            form = {
                "grant_type": "refresh_token",
                **self._client,
                "refresh_token": self._refresh or "",
            }
        else:
            form = {"grant_type": "password", **self._client, **self._login}
        headers = {"x-requested-with": "XMLHttpRequest", "accept": "application/json"}
        return httpx.Request("POST", self._url, data=form, headers=headers)

    async def _store(self, response: httpx.Response, *, refresh: bool) -> None:
        await response.aread()
        try:
            body = json.loads(response.content)
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        token, status = body.get("access_token"), response.status_code
        where = {"vendor": "whmcs", "resource": "oauth/token", "status": status}
        if (
            status == 200 and not token
        ):  # e.g. a proxy's page; the body is not echoed, it may hold a token
            raise RetriableError("the token answer carried no access_token", **where)
        if status == 429 or status >= 500:
            raise RetriableError(f"the token endpoint answered {status}", **where)
        if status != 200:
            detail = body.get("message") or body.get("error") or excerpt(response, 120)
            grant = "refresh-token" if refresh else "password"
            raise AuthError(f"the {grant} grant was refused: {detail}", **where)  # type: ignore[arg-type]
        self._access, self._refresh = str(token), body.get("refresh_token") or self._refresh
        SCRUBBER.add([self._access, self._refresh or ""])  # made per login: unknown to the config
