"""Kayako's per-request signature: a fresh salt and base64 HMAC-SHA256(secret, salt)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Generator
from urllib.parse import urlencode

import httpx


def sign(secret_key: str, salt: str) -> str:
    digest = hmac.new(secret_key.encode(), salt.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class KayakoAuth(httpx.Auth):
    """Adds apikey, salt and signature: to the query for GET/DELETE, to the form body otherwise."""

    requires_request_body = True

    def __init__(self, api_key: str, secret_key: str) -> None:
        self._api_key, self._secret_key = api_key, secret_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        salt = secrets.token_hex(16)
        fields = {"apikey": self._api_key, "salt": salt, "signature": sign(self._secret_key, salt)}
        if request.method in ("GET", "DELETE"):
            request.url = request.url.copy_merge_params(fields)
            yield request
            return
        body = request.content
        body += (b"&" if body else b"") + urlencode(fields).encode()
        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
        headers["content-type"] = "application/x-www-form-urlencoded"
        yield httpx.Request(request.method, request.url, headers=headers, content=body)
