"""Authentication: HTTP Basic with the M4 user's name and password."""

from __future__ import annotations

import base64

import httpx


class M4Auth(httpx.BasicAuth):
    """HTTP Basic auth; :attr:`secrets` are the values a log line must never show."""

    def __init__(self, username: str, password: str) -> None:
        super().__init__(username, password)
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self.secrets = [username, password, token]
