"""Track-It!'s OAuth2 password grant as an ``httpx.Auth``: get a token, send it, refresh it once on 401.

``POST {base}/token`` (form-encoded, no client id) answers an OWIN token payload with a ~30 min
``access_token`` and a ``refresh_token``. The flow renews shortly before expiry, and after a 401
renews (refresh grant, else the password grant again) and retries the request once. Each token
counts as a technician login, so concurrent requests share one renewal instead of each logging in.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from typing import Any, TypedDict

import httpx
import orjson

from deskbridge.sdk import AuthError, FatalError, PayloadError, RetriableError, excerpt, reject_html

EARLY_S = 120.0  # renew this long before expiry, as BMC's own clients do
VENDOR = "trackit"


@dataclass(frozen=True)
class Token:
    access: str
    refresh: str | None
    expires_at: float | None  # monotonic; None: unknown, rely on 401


class _Where(TypedDict):
    """Where a token error happened, as its errors' keyword arguments."""

    vendor: str
    resource: str
    status: int


class TokenUnavailable(RetriableError):
    """The token endpoint answered something transient or unreadable; the request is retried."""


class TrackitAuth(httpx.Auth):
    """Bearer tokens from the password grant; ``username`` is ``GROUP\\LOGIN``."""

    requires_response_body = True

    def __init__(
        self, token_url: str, username: str, password: str, on_token: Callable[[Token], None]
    ) -> None:
        self._url, self._username, self._password = token_url, username.upper(), password
        self._on_token = on_token
        self._token: Token | None = None
        self._refused: AuthError | None = None
        self._lock = asyncio.Lock()
        self._rounds = 0  # renewals finished, failed or not
        self._failed: Exception | None = None  # how the last one failed, if it did
        self._failed_until = 0.0  # monotonic; the last failure's Retry-After ends then

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """The steps, for sync clients: log in if needed, send, and on 401 renew and resend once."""
        if not self._fresh():
            yield from self._renew(None)
        used = self._token
        response = yield self._signed(request)
        if response.status_code == 401:
            yield from self._renew(used)
            yield self._signed(request)

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """The same steps with one renewal at a time: concurrent requests wait for it."""
        used: Token | None = None
        for attempt in range(2):
            if attempt or not self._fresh():
                seen = self._rounds
                async with self._lock:
                    if self._failed is not None and (
                        self._rounds != seen or time.monotonic() < self._failed_until
                    ):
                        # The renewal this request waited on failed, or the endpoint asked for a
                        # pause that has not passed: share that outcome (the request retries after
                        # its backoff or the Retry-After) instead of sending a grant of its own.
                        raise self._failed.with_traceback(None)
                    flow = self._renew(used)
                    try:
                        outgoing = next(flow, None)
                        while outgoing is not None:
                            reply = yield outgoing
                            await reply.aread()
                            outgoing = _send(flow, reply)
                    except Exception as exc:
                        self._finished(exc)
                        raise
                    self._finished(None)
            used = self._token
            response = yield self._signed(request)
            if response.status_code != 401:
                return

    def _finished(self, failure: Exception | None) -> None:
        self._rounds += 1
        self._failed = failure
        pause = getattr(failure, "retry_after", None) or 0.0
        self._failed_until = time.monotonic() + pause

    def _fresh(self) -> bool:
        token = self._token
        return token is not None and (
            token.expires_at is None or time.monotonic() < token.expires_at
        )

    def _signed(self, request: httpx.Request) -> httpx.Request:
        assert self._token is not None
        request.headers["Authorization"] = f"Bearer {self._token.access}"
        return request

    def _renew(self, stale: Token | None) -> Generator[httpx.Request, httpx.Response, None]:
        """Get a new token unless another request already replaced ``stale`` (or the missing one)."""
        if self._token is not stale and self._fresh():
            return
        if self._token is not None and self._token.refresh:
            response = yield self._grant(
                {"grant_type": "refresh_token", "refresh_token": self._token.refresh}
            )
            if response.status_code == 200:
                self._accept(response)
                return
        if self._refused is not None:  # one refused login is enough: don't lock the account out
            raise self._refused
        response = yield self._grant(
            {
                "grant_type": "password",
                "username": self._username,
                "password": self._password,
                "scope": "",
            }
        )
        try:
            self._accept(response)
        except AuthError as exc:
            self._refused = exc
            raise

    def _grant(self, form: dict[str, str]) -> httpx.Request:
        return httpx.Request("POST", self._url, data=form, headers={"accept": "application/json"})

    def _accept(self, response: httpx.Response) -> None:
        body = _token_body(response)
        lifetime = float(body.get("expires_in") or 0)
        expires_at = (
            time.monotonic() + lifetime - min(EARLY_S, lifetime / 10) if lifetime > 0 else None
        )
        self._token = Token(str(body["access_token"]), body.get("refresh_token"), expires_at)
        self._on_token(self._token)


def _send(
    flow: Generator[httpx.Request, httpx.Response, None], reply: httpx.Response
) -> httpx.Request | None:
    try:
        return flow.send(reply)
    except StopIteration:
        return None


def _token_body(response: httpx.Response) -> dict[str, Any]:
    """The token payload, or an error saying whether to retry (5xx, garbage) or stop (refused)."""
    where: _Where = {"vendor": VENDOR, "resource": "token", "status": response.status_code}
    if response.status_code == 404:
        raise FatalError(
            f"no token endpoint at {response.request.url}; check base_url and api_path", **where
        )
    if response.status_code == 429 or response.status_code >= 500:
        wait = response.headers.get("retry-after", "").strip()
        raise TokenUnavailable(
            f"vendor answered {response.status_code}: {excerpt(response, 200)}",
            retry_after=float(wait) if wait.isascii() and wait.isdigit() else None,
            **where,
        )
    try:
        reject_html(response, VENDOR, "token")
        body = orjson.loads(response.content)
    except PayloadError as exc:
        raise TokenUnavailable(str(exc).split(": ", 1)[-1], **where) from None
    except orjson.JSONDecodeError as exc:
        raise TokenUnavailable(f"malformed JSON from the token endpoint ({exc})", **where) from None
    if not isinstance(body, dict):
        raise TokenUnavailable("malformed token payload: not a JSON object", **where)
    if response.status_code != 200 or "access_token" not in body:
        reason = (
            body.get("error_description") or body.get("error") or body.get("Message") or "no token"
        )
        raise AuthError(f"authentication failed: {reason}", **where)
    return body
