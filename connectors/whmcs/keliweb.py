"""Keliweb's front on WHMCS, and the :class:`Flavour` that keeps it apart from plain WHMCS.

Keliweb's reseller API v2 passes WHMCS bodies through behind an OAuth2 password grant. It
has no list action (every run re-reads the tickets whose ids are known), no department or
admin lookups, and two writes. The connector picks its flavour once, from the ``flavor``
option; the rest of the code asks the flavour and never branches on it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any, TypedDict

import httpx
import structlog

from deskbridge.sdk import (
    AuthError,
    Batch,
    ConnectionConfig,
    HttpSession,
    ReadContext,
    RetriableError,
    excerpt,
)

from . import mapping as m
from .auth import Login, credentials, whmcs_login
from .client import KeliwebClient, WhmcsClient
from .reread import CHUNK
from .streams import WhmcsReader
from .tickets import TicketReader, chunks
from .writer import KeliwebWriter, WhmcsWriter

NEEDS = ("keliweb_username", "keliweb_password", "keliweb_client_id", "keliweb_client_secret")
HEADERS = {"x-requested-with": "XMLHttpRequest", "accept": "application/json"}
log = structlog.get_logger("deskbridge.whmcs")

Hooks = tuple[Callable[[httpx.Request], None], Callable[[list[str]], None]]


@dataclass(frozen=True)
class Flavour:
    """What differs between WHMCS installs and Keliweb: login, client, reader, writer, check.

    ``login`` takes the connection, its options and the hooks a token-issuing auth reports
    to (a token request sent for a request, new token values).
    """

    name: str
    login: Callable[[ConnectionConfig, Any, Hooks], Login]
    client: Callable[[HttpSession, Any], Any]
    reader: Callable[[Any, Any, ReadContext], Any]
    writer: Callable[[Any], Any]
    check: Callable[[Any], Awaitable[str]]


def flavour_of(options: Any) -> Flavour:
    """The flavour the ``flavor`` option names."""
    return KELIWEB if options.flavor == "keliweb" else WHMCS


def _keliweb_login(config: ConnectionConfig, options: Any, hooks: Hooks) -> Login:
    username, password, client_id, client_secret = credentials(config, NEEDS, "flavor = 'keliweb'")
    auth = KeliwebAuth(
        config.base_url.rstrip("/") + "/oauth/token",
        client={"client_id": client_id, "client_secret": client_secret},
        login={"username": username, "password": password},
        on_grant=hooks[0],
        on_token=hooks[1],
    )
    return Login(auth, [username, password, client_secret], HEADERS)


async def _whmcs_check(client: WhmcsClient) -> str:
    departments = await client.departments()
    return f"authenticated; {len(departments)} support departments visible"


async def _keliweb_check(client: KeliwebClient) -> str:
    await client.ticket("0")
    return "authenticated with Keliweb (get-ticket answered)"


class _Where(TypedDict):
    """Where a token error happened, as its errors' keyword arguments."""

    vendor: str
    resource: str
    status: int


class KeliwebAuth(httpx.Auth):
    """Keliweb's Passport token: a password grant, then a refresh once on a 401.

    Concurrent requests share one token; a lock makes sure one expiry costs one refresh, and
    a refused refresh falls back to the password grant. ``on_grant`` is called with the
    request each token request is sent for (so it is counted at that request's cost), and
    ``on_token`` with each new token's values (made per login: unknown to the config).
    """

    def __init__(
        self,
        token_url: str,
        client: dict[str, str],
        login: dict[str, str],
        on_grant: Callable[[httpx.Request], None],
        on_token: Callable[[list[str]], None],
    ) -> None:
        self._url, self._client, self._login = token_url, client, login
        self._on_grant, self._on_token = on_grant, on_token
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
                answer = yield self._grant(request, refresh=False)
                await self._store(answer, refresh=False)
        used = self._access
        request.headers["authorization"] = f"Bearer {used}"
        response = yield request
        if response.status_code != 401:
            return
        async with self._lock:
            if self._access == used:  # nobody refreshed while this request was out
                refresh = self._refresh is not None
                answer = yield self._grant(request, refresh=refresh)
                if refresh and answer.status_code in (400, 401):
                    answer = yield self._grant(request, refresh=False)
                    refresh = False
                await self._store(answer, refresh=refresh)
        request.headers["authorization"] = f"Bearer {self._access}"
        yield request

    def _grant(self, request: httpx.Request, *, refresh: bool) -> httpx.Request:
        self._on_grant(request)
        if refresh:
            form = {
                "grant_type": "refresh_token",
                **self._client,
                "refresh_token": self._refresh or "",
            }
        else:
            form = {"grant_type": "password", **self._client, **self._login}
        return httpx.Request("POST", self._url, data=form, headers=HEADERS)

    async def _store(self, response: httpx.Response, *, refresh: bool) -> None:
        await response.aread()
        try:
            body = json.loads(response.content)
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        token, status = body.get("access_token"), response.status_code
        where: _Where = {"vendor": "whmcs", "resource": "oauth/token", "status": status}
        if (
            status == 200 and not token
        ):  # e.g. a proxy's page; the body is not echoed, it may hold a token
            raise RetriableError("the token answer carried no access_token", **where)
        if status == 429 or status >= 500:
            raise RetriableError(f"the token endpoint answered {status}", **where)
        if status != 200:
            detail = body.get("message") or body.get("error") or excerpt(response, 120)
            grant = "refresh-token" if refresh else "password"
            raise AuthError(f"the {grant} grant was refused: {detail}", **where)
        self._access, self._refresh = str(token), body.get("refresh_token") or self._refresh
        self._on_token([self._access, self._refresh or ""])


class KeliwebReader:
    """Keliweb has no list action: every run re-reads the tickets whose ids are known.

    Known ids are the ``ticket_ids`` option plus every live ticket already in the warehouse,
    so a ticket stays followed once pulled, until get-ticket stops finding it.
    """

    def __init__(self, client: KeliwebClient, options: Any, ctx: ReadContext) -> None:
        self.client, self.options, self.ctx = client, options, ctx

    async def read(self) -> AsyncIterator[Batch]:
        stored = set(self.ctx.warehouse.ids("tickets"))
        known = sorted(stored | {str(i) for i in self.options.ticket_ids}, key=int)
        reader = TicketReader(self.client.ticket, m.Lookups(tz=self.options.tzinfo))
        reader.tally = self.ctx.tally("tickets", len(known))
        for chunk in chunks(known, CHUNK):
            batch = await reader.batch(chunk)
            gone = batch.deleted.get("tickets", [])
            unseen = [i for i in gone if i not in stored]
            if unseen:
                log.warning("keliweb.ticket_not_visible", ticket_ids=unseen)
            yield batch


WHMCS = Flavour(
    "whmcs",
    login=lambda config, options, hooks: whmcs_login(config, options),
    client=lambda session, options: WhmcsClient(session, options.api_path),
    reader=WhmcsReader,
    writer=WhmcsWriter,
    check=_whmcs_check,
)
KELIWEB = Flavour(
    "keliweb",
    login=_keliweb_login,
    client=lambda session, options: KeliwebClient(session),
    reader=KeliwebReader,
    writer=KeliwebWriter,
    check=_keliweb_check,
)
