"""Redaction: secrets never reach a log line, an error message or the warehouse."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    import httpx

MASK = "***"
SENSITIVE_NAMES = frozenset(
    {
        "apikey",
        "api_key",
        "salt",
        "signature",
        "token",
        "access_token",
        "refresh_token",
        "password",
        "passwd",
        "secret",
        "secret_key",
        "secretkey",
        "identifier",
        "accesskey",
        "client_secret",
        "authorization",
        "admin_password",
        "x-api-key",
        "x-auth-token",
    }
)


@lru_cache(maxsize=4096)  # payload keys repeat in every record: decide each name once
def is_sensitive(name: str) -> bool:
    key = name.lower().strip()
    return key in SENSITIVE_NAMES or key.endswith(("_password", "_secret", "_token", "_apikey"))


def sanitize_url(url: str) -> str:
    """The URL with the values of sensitive query parameters masked."""
    parts = urlsplit(str(url))
    if not parts.query:
        return str(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    clean = [(k, MASK if is_sensitive(k) else v) for k, v in pairs]
    return urlunsplit(parts._replace(query=urlencode(clean, safe="/=,-*")))


def redact_mapping(obj: Any) -> Any:
    """``obj`` with the values of sensitive keys masked, for encoding right away.

    Containers holding nothing sensitive come back as they are (no copy: this runs on every raw
    payload of every row written); the others are new containers, ``obj`` is left unchanged.
    """
    if isinstance(obj, dict):
        out = None
        for k, v in obj.items():
            new = MASK if is_sensitive(k if isinstance(k, str) else str(k)) else redact_mapping(v)
            if new is not v:
                if out is None:
                    out = dict(obj)
                out[k] = new
        return obj if out is None else out
    if isinstance(obj, list):
        items = [redact_mapping(v) for v in obj]
        return obj if all(a is b for a, b in zip(items, obj, strict=True)) else items
    return obj


class Scrubber:
    """Removes known secret values (and their URL-encoded forms) from any text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._pattern: re.Pattern[str] | None = None
        self._secrets: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        from urllib.parse import quote, quote_plus

        for secret in secrets:
            if secret and len(secret) >= 4:
                self._secrets.update({secret, quote(secret, safe=""), quote_plus(secret)})
        ordered = sorted(self._secrets, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __call__(self, text: str) -> str:
        return self._pattern.sub(MASK, text) if self._pattern else text


SCRUBBER = Scrubber()
"""Every secret a session was handed; :func:`scrub` masks them in any text, anywhere."""


def register(secrets: Iterable[str]) -> None:
    """Mask these values from now on; an :class:`~deskbridge.sdk.http.HttpSession` calls this
    with the secrets it is handed."""
    SCRUBBER.add(secrets)


def scrub(text: str) -> str:
    return SCRUBBER(text)


def request_secrets(request: httpx.Request) -> list[str]:
    """The credential values one request carries, including those made for it alone (Kayako's
    salt and signature, a bearer token): sensitive query and form fields, auth headers."""
    values = [v for k, v in request.url.params.multi_items() if is_sensitive(k)]
    if "x-www-form-urlencoded" in request.headers.get("content-type", ""):
        try:
            body = request.content.decode("utf-8", "replace")
        except Exception:
            body = ""
        values += [v for k, v in parse_qsl(body, keep_blank_values=True) if is_sensitive(k)]
    for name, value in request.headers.items():
        if is_sensitive(name) or name.lower() in ("cookie", "proxy-authorization"):
            values += [value, *value.split(" ", 1)[1:]]  # "Bearer <token>": the token alone too
    return values


def scrub_for(request: httpx.Request, text: str) -> str:
    """``text`` (e.g. an error page that echoes the request) with every known secret and every
    credential ``request`` carried masked."""
    return Scrubber(request_secrets(request))(scrub(text))


def excerpt(response: httpx.Response, limit: int = 300) -> str:
    """The start of a response's text, safe to put in an error message or a log line."""
    return scrub_for(response.request, response.text[: limit * 4])[:limit].strip()
