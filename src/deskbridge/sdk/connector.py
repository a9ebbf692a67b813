"""The glue every HTTP connector shares: its sessions, their secrets, counts and closing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from deskbridge.sdk.contract import Connector
from deskbridge.sdk.http import HttpOptions, HttpSession

if TYPE_CHECKING:
    import httpx

    from deskbridge.sdk.connection import ConnectionConfig


class HttpConnector(Connector):
    """A :class:`Connector` that talks to its vendor through one or more :class:`HttpSession`.

    A subclass opens its sessions in ``__init__`` with :meth:`open_session`, handing each
    the secrets it carries; this base counts their requests and closes them. A request's
    cost (``incremental``, ``reconcile``, ``write``) is chosen where it is made, through
    :class:`~deskbridge.sdk.http.Costed` clients.
    """

    def __init__(
        self, config: ConnectionConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(config, transport=transport)
        self.transport = transport
        self.sessions: list[HttpSession] = []

    def open_session(
        self,
        *,
        auth: httpx.Auth | None = None,
        secrets: Iterable[str] = (),
        base_url: str | None = None,
        options: HttpOptions | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpSession:
        """A session to ``base_url`` (default: the connection's) with the connection's limits.

        Its errors name the config keys to check: ``base_url`` when the host cannot be reached,
        the credentials when the vendor refuses them.
        """
        where = f"connections.{self.config.name}"
        session = HttpSession(
            self.vendor,
            base_url or self.config.base_url,
            options=options or self.config.http,
            auth=auth,
            transport=self.transport,
            headers=headers,
            secrets=secrets,
            config_key=f"{where}.base_url" if base_url is None else where,
            credential_keys=[f"{where}.credentials.{key}" for key in self.config.credentials],
        )
        self.sessions.append(session)
        return session

    @property
    def request_counts(self) -> Mapping[str, int]:
        return sum((session.counts for session in self.sessions), Counter())

    async def aclose(self) -> None:
        for session in self.sessions:
            await session.aclose()
