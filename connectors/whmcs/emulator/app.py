"""WHMCS External API emulator, with Keliweb's OAuth2 wrapper served by the same app.

Routes (a client's base URL is the server root):

* ``GET`` or ``POST /includes/api.php``: the WHMCS External API. ``action`` and every other
  parameter may sit in the query string or the form body (the body wins, as in PHP's
  ``$_REQUEST``). Answers are JSON, XML or NVP as ``responsetype`` asks (``wire``).
* ``POST /oauth/token``: Keliweb's password and refresh-token grants (Laravel Passport).
* ``POST /api/v2/keliweb/get-ticket``, ``open-ticket``, ``add-ticket-reply``: Keliweb's
  reseller calls, Bearer-authenticated, answering with the WHMCS bodies passed through.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
import time
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from deskbridge.sdk import Emulator, Knobs

from . import wire
from .actions import (
    ACTIONS,
    Ctx,
    add_ticket_reply,
    error,
    get_ticket,
    open_ticket,
    truthy,
)
from .seed import Activity, Pools, build_store, secret_token
from .store import Admin, Body

API_ADMIN_ID = 1  # the admin the API credential belongs to
KELIWEB_CLIENT_ID = 1  # the reseller's own client account behind the Keliweb login
REFRESH_TTL_S = 10 * 86400
# not documented: emulator choice (bad credentials answer 403, like a refused IP)
AUTH_FAILED_STATUS = 403
NO_CREDENTIALS = "Invalid or missing credentials"
KELIWEB_ACTIONS = {
    "get-ticket": get_ticket,
    "open-ticket": open_ticket,
    "add-ticket-reply": add_ticket_reply,
}
# not documented: emulator choice (Laravel Passport / league oauth2-server 8 error bodies)
_UNSUPPORTED = "The authorization grant type is not supported by the authorization server."
OAUTH_ERRORS: dict[str, tuple[int, Body]] = {
    "unsupported_grant_type": (
        400,
        {
            "error": "unsupported_grant_type",
            "error_description": _UNSUPPORTED,
            "hint": "Check that all required parameters have been provided",
            "message": _UNSUPPORTED,
        },
    ),
    "invalid_client": (
        401,
        {
            "error": "invalid_client",
            "error_description": "Client authentication failed",
            "message": "Client authentication failed",
        },
    ),
    "invalid_grant": (
        400,
        {
            "error": "invalid_grant",
            "error_description": "The user credentials were incorrect.",
            "message": "The user credentials were incorrect.",
        },
    ),
    "invalid_refresh": (
        400,
        {
            "error": "invalid_grant",
            "error_description": "The refresh token is invalid.",
            "hint": "Token has been revoked",
            "message": "The refresh token is invalid.",
        },
    ),
}
# not documented: emulator choice (Laravel's default 401 body; Keliweb errors pass through as 200)
UNAUTHENTICATED: Body = {"message": "Unauthenticated."}


def json_response(body: Body, status: int = 200) -> Response:
    """PHP-style compact JSON (non-ASCII escaped as ``\\uXXXX``)."""
    # not documented: emulator choice (Content-Type application/json for every responsetype)
    return Response(json.dumps(body, separators=(",", ":")), status, media_type="application/json")


def _part_bytes(part: Message) -> bytes:
    """A form part's decoded body (a leaf part decodes to bytes; an empty one to None)."""
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


async def read_params(request: Request, json_ok: bool = False) -> dict[str, str]:
    """Form fields from a urlencoded or multipart body (JSON too where Laravel reads it)."""
    body = await request.body()
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data") and "boundary=" in ctype:
        head = b"Content-Type: " + ctype.encode() + b"\r\n\r\n"
        msg = BytesParser(policy=HTTP).parsebytes(head + body)
        return {
            str(part.get_param("name", header="content-disposition")): _part_bytes(part).decode(
                "utf-8", "replace"
            )
            for part in msg.iter_parts()
        }
    if json_ok and ctype.startswith("application/json"):
        data = json.loads(body or b"{}")
        return {k: "" if v is None else str(v) for k, v in data.items()}
    # a multipart label without a boundary carries an http_build_query body (Keliweb's example)
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


class _Tokens:
    """Keliweb's Passport tokens: access tokens with a TTL, rotating refresh tokens."""

    def __init__(self, seed: int, ttl_s: float) -> None:
        self.seed, self.ttl_s, self.issued = seed, ttl_s, 0
        self.access: dict[str, float] = {}
        self.refresh: dict[str, tuple[float, str]] = {}

    def issue(self) -> Body:
        self.issued += 1
        sig = secret_token(self.seed, f"access-{self.issued}", 64)
        access = f"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.{self.issued:08d}.{sig}"
        refresh = "def502" + secret_token(self.seed, f"refresh-{self.issued}", 64)
        now = time.time()
        self.access[access] = now + self.ttl_s
        self.refresh[refresh] = (now + REFRESH_TTL_S, access)
        return {
            "token_type": "Bearer",
            "expires_in": int(self.ttl_s),
            "access_token": access,
            "refresh_token": refresh,
        }

    def redeem(self, refresh: str) -> Body | None:
        """A new token pair for a live refresh token; the old pair is revoked."""
        # not documented: emulator choice (Passport rotates refresh tokens and revokes both)
        expires, access = self.refresh.pop(refresh, (0.0, ""))
        if expires <= time.time():
            return None
        self.access.pop(access, None)
        return self.issue()

    def valid(self, authorization: str) -> bool:
        scheme, _, token = authorization.partition(" ")
        return scheme.lower() == "bearer" and self.access.get(token.strip(), 0.0) > time.time()


class WhmcsEmulator(Emulator):
    """WHMCS support tickets over the External API, plus the Keliweb reseller wrapper.

    Options: ``allowed_ips`` (source IPs the API accepts without ``accesskey``; ``None``
    allows all) and ``token_ttl_s`` (Keliweb access-token lifetime, 1 hour by default).
    """

    vendor = "whmcs"

    def __init__(
        self,
        *,
        seed: int = 7,
        tickets: int = 300,
        knobs: Knobs | None = None,
        allowed_ips: set[str] | None = None,
        token_ttl_s: float = 3600,
    ) -> None:
        super().__init__(seed=seed, knobs=knobs)
        self.pools = Pools.build(seed)
        self.store = build_store(self.rng, self.pools, seed, tickets)
        self.allowed_ips = allowed_ips
        self.tokens = _Tokens(seed, token_ttl_s)
        self._api_rng = random.Random(seed * 7919 + 1)
        self._activity = Activity(self.rng, self.pools, self.store)
        self._creds = self._make_credentials()

    # -- Emulator contract --------------------------------------------------------------------
    def credentials(self) -> dict[str, str]:
        """``identifier``/``secret`` (API credential), ``accesskey`` (IP-check bypass),
        ``admin_username``/``admin_password`` (legacy login: send the MD5 hex of the password),
        and ``keliweb_username``/``keliweb_password``/``keliweb_client_id``/
        ``keliweb_client_secret`` (Keliweb's OAuth2 password grant)."""
        return dict(self._creds)

    def ground_truth(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Live data in canonical terms.

        * tickets: by the internal ticket ``id`` (GetTicket's ``ticketid``), not the public
          ``tid`` mask.
        * notes: ``"message:<ticket id>"`` for the opening message (``replyid`` "0"),
          ``"reply:<replyid>"`` for replies (both kind reply, public) and ``"note:<noteid>"``
          for internal notes (kind note, private); bodies are the messages with their CRLFs.
        * people: ``"admin:<id>"`` (staff; every admin, disabled ones too),
          ``"client:<userid>"`` (clients that own a live ticket or wrote a live reply) and
          ``"guest:<lowercased e-mail>"`` for non-client e-mail addresses that opened a live
          ticket or wrote a live reply, named as on their most recent such message.
        * time_entries: always empty; WHMCS has no ticket time tracking.
        """
        return self.store.truth()

    def mutate(self, n: int = 10) -> list[str]:
        """New tickets, customer and admin replies, notes, status/priority/department/flag
        changes and rare deletes. Only new tickets and replies move ``lastreply``."""
        return self._activity.run(n)

    def vendor_app(self) -> ASGIApp:
        return Starlette(
            routes=[
                Route("/includes/api.php", self._api, methods=["GET", "POST"]),
                Route("/oauth/token", self._token, methods=["POST"]),
                Route("/api/v2/keliweb/{action}", self._keliweb, methods=["POST"]),
            ]
        )

    # -- WHMCS ----------------------------------------------------------------------------------
    def _make_credentials(self) -> dict[str, str]:
        admin = self.store.admins[API_ADMIN_ID]
        # the reseller's API login is its own address, not the WHMCS client's e-mail, so a
        # credential never doubles as data that rightly lands in a warehouse
        login = f"api-{secret_token(self.seed, 'keliweb-login', 8)}@reseller.example.net"
        return {
            "identifier": secret_token(self.seed, "identifier"),
            "secret": secret_token(self.seed, "secret"),
            "accesskey": secret_token(self.seed, "accesskey", 20) + "!@_",
            "admin_username": admin.username,
            "admin_password": admin.password,
            "keliweb_username": login,
            "keliweb_password": secret_token(self.seed, "keliweb-password", 16),
            "keliweb_client_id": "2",
            "keliweb_client_secret": secret_token(self.seed, "keliweb-client-secret", 40),
        }

    def _authenticate(self, p: dict[str, str]) -> Admin | str:
        """The admin behind the request's credentials, or the refusal message.

        A non-empty ``identifier`` is an API credential login; otherwise ``username`` and
        ``password`` are tried as an API credential, then as an admin login (MD5 password).
        """
        if truthy(p.get("identifier")):
            return self._device(p["identifier"], p.get("secret", ""))
        user, password = p.get("username", ""), p.get("password", "")
        device = self._device(user, password)
        if isinstance(device, Admin):
            return device
        admin = self.store.admin_by_username(user)
        if admin is None:
            return "Authentication Failed"
        if admin.disabled:
            return "Administrator Account Disabled"
        md5 = hashlib.md5(admin.password.encode()).hexdigest()
        return admin if _same(password, md5) else "Authentication Failed"

    def _device(self, identifier: str, secret: str) -> Admin | str:
        if not truthy(identifier) or not truthy(secret):
            return NO_CREDENTIALS
        if not _same(identifier, self._creds["identifier"]):
            return NO_CREDENTIALS
        if not _same(secret, self._creds["secret"]):
            return "Authentication Failed"
        return self.store.admins[API_ADMIN_ID]

    async def _api(self, request: Request) -> Response:
        """WHMCS's order: IP check, action name, credentials, response type, then the action."""
        params = dict(request.query_params)
        params.update(await read_params(request))
        asked = params.get("responsetype") or ""
        host = request.client.host if request.client else ""
        allowed = self.allowed_ips is None or host in self.allowed_ips
        if not allowed and not _same(params.get("accesskey", ""), self._creds["accesskey"]):
            body = error(f"Invalid IP {host}")
            return wire.render(asked, params.get("action", ""), body, 403)
        name = re.sub(r"[^0-9a-z]", "", params.get("action", "").lower())
        admin = self._authenticate(params)
        if not isinstance(admin, Admin):
            return wire.render(asked, name, error(admin), AUTH_FAILED_STATUS)
        kind, refusal = wire.resolve(name, asked)
        if refusal:
            return wire.render(kind, name, error(refusal))
        action = ACTIONS.get(name)
        if action is None:  # the message WHMCS is observed to send (developer-docs issue 60)
            return wire.render(kind, name, error("Command Not Found"))
        return wire.render(kind, name, action(Ctx(self.store, admin, self._api_rng), params))

    # -- Keliweb --------------------------------------------------------------------------------
    async def _token(self, request: Request) -> Response:
        p = await read_params(request, json_ok=True)
        grant = p.get("grant_type", "")
        if grant not in ("password", "refresh_token"):
            return _oauth_error("unsupported_grant_type")
        client = {"client_id": "keliweb_client_id", "client_secret": "keliweb_client_secret"}
        if not self._matches(p, **client):
            return _oauth_error("invalid_client")
        if grant == "refresh_token":
            pair = self.tokens.redeem(p.get("refresh_token", ""))
            return json_response(pair) if pair else _oauth_error("invalid_refresh")
        if not self._matches(p, username="keliweb_username", password="keliweb_password"):
            return _oauth_error("invalid_grant")
        return json_response(self.tokens.issue())

    def _matches(self, p: dict[str, str], **fields: str) -> bool:
        """Whether each request field equals the credential named for it."""
        return all(_same(p.get(name, ""), self._creds[key]) for name, key in fields.items())

    async def _keliweb(self, request: Request) -> Response:
        action = KELIWEB_ACTIONS.get(request.path_params["action"])
        if action is None:  # not documented: emulator choice (Laravel's JSON 404)
            return json_response({"message": "Not Found"}, 404)
        if not self.tokens.valid(request.headers.get("authorization", "")):
            return json_response(UNAUTHENTICATED, 401)
        params = await read_params(request, json_ok=True)
        admin = self.store.admins[API_ADMIN_ID]
        ctx = Ctx(self.store, admin, self._api_rng, owner=KELIWEB_CLIENT_ID)
        return json_response(action(ctx, params))


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _oauth_error(kind: str) -> Response:
    status, body = OAUTH_ERRORS[kind]
    return json_response(body, status)
