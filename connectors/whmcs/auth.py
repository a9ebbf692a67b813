"""Authentication: WHMCS credentials (an API credential or an admin login) in every form body.

Keliweb's OAuth2 password grant lives with the rest of that flavour, in ``keliweb.py``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from deskbridge.sdk import ConfigError, ConnectionConfig

NEEDS = {
    "credential": ("identifier", "secret"),
    "password": ("admin_username", "admin_password"),
}


@dataclass(frozen=True)
class Login:
    """What a flavour's session carries: its auth, the secrets to mask, extra headers."""

    auth: httpx.Auth
    secrets: list[str]
    headers: dict[str, str] = field(default_factory=dict)


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


def whmcs_login(config: ConnectionConfig, options: Any) -> Login:
    """An API credential, or the legacy admin login (``auth = "password"``), in each body."""
    user, password = credentials(config, NEEDS[options.auth], f"auth = {options.auth!r}")
    fields = {"identifier": user, "secret": password}
    if options.auth == "password":
        fields = {"username": user, "password": md5_hex(password)}
    secrets = [user, password, *fields.values()]
    if "accesskey" in config.credentials:
        fields["accesskey"] = config.secret("accesskey")
        secrets.append(fields["accesskey"])
    return Login(WhmcsAuth(fields), secrets)


def credentials(config: ConnectionConfig, names: tuple[str, ...], why: str) -> list[str]:
    """The credentials ``names``, or a ConfigError naming the first missing key and why."""
    for name in names:
        if name not in config.credentials:
            raise ConfigError(
                f"connections.{config.name}.credentials.{name}: missing credential "
                f"(whmcs with {why} needs {', '.join(names)})"
            )
    return [config.secret(name) for name in names]
