"""The WHMCS connector (and its Keliweb flavour): options, credentials, streams, writes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from functools import cached_property
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from pydantic import Field, field_validator

from deskbridge.sdk import (
    SCRUBBER,
    Batch,
    ConfigError,
    ConnectionConfig,
    Connector,
    ConnectorOptions,
    CursorKind,
    Duration,
    HttpSession,
    ReadContext,
    StreamSpec,
    WriteContext,
    WriteOp,
    check_batch,
)

from .auth import KeliwebAuth, WhmcsAuth, md5_hex
from .client import API_PATH, KeliwebClient, WhmcsClient
from .reread import read_tickets
from .streams import KeliwebReader, WhmcsReader
from .writer import KeliwebWriter, WhmcsWriter

NEEDS = {
    "credential": ("identifier", "secret"),
    "password": ("admin_username", "admin_password"),
    "keliweb": (
        "keliweb_username",
        "keliweb_password",
        "keliweb_client_id",
        "keliweb_client_secret",
    ),
}


class WhmcsOptions(ConnectorOptions):
    """``[connections.<name>.options]`` of a WHMCS connection; see the connector's README."""

    flavor: Literal["whmcs", "keliweb"] = Field(
        "whmcs", description="A WHMCS install, or Keliweb's API v2."
    )
    auth: Literal["credential", "password"] = Field(
        "credential",
        description="WHMCS login: API credential (identifier/secret) or admin password.",
    )
    api_path: str = Field(API_PATH, description="Path of the External API below base_url.")
    page_size: int = Field(100, ge=10, le=1000, description="Tickets per GetTickets request.")
    lookback: Duration = Field(
        "5m", description="Overlap below the lastreply watermark, for clock skew and ties."
    )
    recent_tickets: int = Field(
        250, ge=0, description="Most recently replied tickets re-read by the reconcile."
    )
    reconcile_every: Duration = Field(
        "0s", description="How often active and recent tickets are re-read (0s: every run)."
    )
    deep_reconcile_every: Duration = Field(
        "24h", description="How often the whole ticket list is compared."
    )
    timezone: str = Field("UTC", description="Time zone of the WHMCS server's naive datetimes.")
    ticket_ids: list[int] = Field(
        default_factory=list, description="Keliweb: ticket ids to follow."
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name like 'Europe/Rome'"
            ) from None
        return value

    @cached_property
    def tzinfo(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class WhmcsConnector(Connector):
    """WHMCS over the External API, or Keliweb's reseller API with ``flavor = "keliweb"``."""

    vendor = "whmcs"
    Options = WhmcsOptions
    streams: ClassVar[tuple[StreamSpec, ...]] = (
        StreamSpec(
            "tickets",
            "tickets",
            CursorKind.TIMESTAMP,
            "GetTickets by lastreply DESC (Keliweb: known ids)",
        ),
        StreamSpec(
            "replies",
            "notes",
            CursorKind.WITH_PARENT,
            "opening message and replies, from GetTicket",
        ),
        StreamSpec("notes", "notes", CursorKind.WITH_PARENT, "internal notes, from GetTicket"),
        StreamSpec(
            "people", "people", CursorKind.FULL, "admins in full; clients and guests from tickets"
        ),
    )
    write_ops = frozenset(
        {
            WriteOp.CREATE_TICKET,
            WriteOp.UPDATE_FIELDS,
            WriteOp.CHANGE_STATUS,
            WriteOp.CLOSE_TICKET,
            WriteOp.DELETE_TICKET,
            WriteOp.ADD_NOTE,
            WriteOp.UPDATE_NOTE,
            WriteOp.DELETE_NOTE,
        }
    )
    writable_fields = frozenset(
        {"subject", "status", "priority", "department", "assignee_id", "requester_id"}
    )
    public_notes = False  # AddTicketNote notes are staff-only
    private_replies = False  # AddTicketReply replies are seen by the client

    def __init__(
        self, config: ConnectionConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(config, transport=transport)
        self.options: WhmcsOptions
        if self.options.flavor == "keliweb":
            self._build_keliweb(config, transport)
        else:
            self._build_whmcs(config, transport)

    def _build_whmcs(
        self, config: ConnectionConfig, transport: httpx.AsyncBaseTransport | None
    ) -> None:
        names = NEEDS[self.options.auth]
        user, password = _secrets(config, names, f"auth = {self.options.auth!r}")
        fields = {"identifier": user, "secret": password}
        if self.options.auth == "password":
            fields = {"username": user, "password": md5_hex(password)}
        secrets = [user, password, *fields.values()]
        if "accesskey" in config.credentials:
            fields["accesskey"] = config.secret("accesskey")
            secrets.append(fields["accesskey"])
        SCRUBBER.add(secrets)
        self.session = HttpSession(
            "whmcs",
            config.base_url,
            options=config.http,
            auth=WhmcsAuth(fields),
            transport=transport,
        )
        self.client: WhmcsClient | KeliwebClient = WhmcsClient(self.session, self.options.api_path)
        self.writer: WhmcsWriter | KeliwebWriter = WhmcsWriter(self.client)

    def _build_keliweb(
        self, config: ConnectionConfig, transport: httpx.AsyncBaseTransport | None
    ) -> None:
        username, password, client_id, client_secret = _secrets(
            config, NEEDS["keliweb"], "flavor = 'keliweb'"
        )
        SCRUBBER.add([username, password, client_secret])
        auth = KeliwebAuth(
            config.base_url.rstrip("/") + "/oauth/token",
            client={"client_id": client_id, "client_secret": client_secret},
            login={"username": username, "password": password},
            on_token=self._count_token,
        )
        headers = {"x-requested-with": "XMLHttpRequest", "accept": "application/json"}
        self.session = HttpSession(
            "whmcs",
            config.base_url,
            options=config.http,
            auth=auth,
            transport=transport,
            headers=headers,
        )
        self.client = KeliwebClient(self.session)
        self.writer = KeliwebWriter(self.client)

    def _count_token(self) -> None:
        self.session.counts[self.session.category] += 1

    @property
    def request_counts(self) -> Mapping[str, int]:
        return self.session.counts

    async def check(self) -> str:
        if isinstance(self.client, KeliwebClient):
            await self.client.ticket("0")
            return "authenticated with Keliweb (get-ticket answered)"
        departments = await self.client.departments()
        return f"authenticated; {len(departments)} support departments visible"

    async def read(self, ctx: ReadContext) -> AsyncIterator[Batch]:
        if isinstance(self.client, KeliwebClient):
            reader: WhmcsReader | KeliwebReader = KeliwebReader(
                self.client, self.session, self.options, ctx
            )
        else:
            reader = WhmcsReader(self.client, self.session, self.options, ctx)
        async for batch in reader.read():
            yield check_batch(batch, self.vendor)

    async def read_tickets(self, ticket_ids: list[str]) -> Batch:
        self.session.category = "reconcile"
        return check_batch(await read_tickets(self.client, self.options, ticket_ids), self.vendor)

    async def write(
        self,
        op: WriteOp,
        ticket_id: str | None,
        payload: dict[str, Any],
        ctx: WriteContext | None = None,
    ) -> str | None:
        self.session.category = "write"
        return await self.writer.write(op, ticket_id, payload, ctx or WriteContext())

    async def aclose(self) -> None:
        await self.session.aclose()


def _secrets(config: ConnectionConfig, names: tuple[str, ...], why: str) -> list[str]:
    """The credentials ``names``, or a ConfigError naming the first missing key and why."""
    for name in names:
        if name not in config.credentials:
            raise ConfigError(
                f"connections.{config.name}.credentials.{name}: missing credential "
                f"(whmcs with {why} needs {', '.join(names)})"
            )
    return [config.secret(name) for name in names]
