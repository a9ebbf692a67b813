"""Kayako's per-request signature: a fresh salt and base64 HMAC-SHA256(secret, salt)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Generator
from urllib.parse import urlencode

import httpx

from deskbridge.sdk.http import QueryAuth


def sign(secret_key: str, salt: str) -> str:
    digest = hmac.new(secret_key.encode(), salt.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class KayakoAuth(QueryAuth):
    """Adds apikey, salt and signature: to the query for GET/DELETE, to the form body otherwise."""

    requires_request_body = True

    def __init__(self, api_key: str, secret_key: str) -> None:
        self._api_key, self._secret_key = api_key, secret_key

    def fields(self) -> dict[str, str]:
        """A fresh salt and its signature: every request (every attempt) signs anew."""
        salt = secrets.token_hex(16)
        return {"apikey": self._api_key, "salt": salt, "signature": sign(self._secret_key, salt)}

    def query(self, method: str) -> dict[str, str] | None:
        return self.fields() if method in ("GET", "DELETE") else None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if request.method in ("GET", "DELETE"):
            yield from super().auth_flow(request)
            return
        body = request.content
        body += (b"&" if body else b"") + urlencode(self.fields()).encode()
        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
        headers["content-type"] = "application/x-www-form-urlencoded"
        yield httpx.Request(request.method, request.url, headers=headers, content=body)
