"""Omnidesk's API key: the ``apiKey`` query parameter on every request, writes included."""

from __future__ import annotations

from deskbridge.sdk.http import QueryAuth


class ApiKeyAuth(QueryAuth):
    """Adds ``apiKey`` to the query string; log lines mask it through ``sanitize_url``."""

    def __init__(self, api_key: str) -> None:
        self._fields = {"apiKey": api_key}

    def query(self, method: str) -> dict[str, str]:
        return self._fields
