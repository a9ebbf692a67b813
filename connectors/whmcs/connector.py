"""The WHMCS connector (and its Keliweb flavour): options, credentials, streams, writes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import cached_property
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from pydantic import Field, field_validator

from deskbridge.sdk import (
    Batch,
    ConnectionConfig,
    ConnectorOptions,
    CursorKind,
    Duration,
    HttpConnector,
    ReadContext,
    StreamSpec,
    WriteContext,
    WriteOp,
    check_batch,
)

from .client import API_PATH
from .keliweb import flavour_of
from .reread import read_tickets


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


class WhmcsConnector(HttpConnector):
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
        self.flavour = flavour_of(self.options)
        login = self.flavour.login(config, self.options, (self._token_sent, self._token_made))
        self.session = self.open_session(
            auth=login.auth, secrets=login.secrets, headers=login.headers or None
        )
        self.client = self.flavour.client(self.session, self.options)
        self.writer = self.flavour.writer(self.client.costing("write"))

    def _token_sent(self, request: httpx.Request) -> None:
        self.session.charge(request)

    def _token_made(self, secrets: list[str]) -> None:
        self.session.add_secrets(secrets)

    async def check(self) -> str:
        return await self.flavour.check(self.client)

    async def read(self, ctx: ReadContext) -> AsyncIterator[Batch]:
        async for batch in self.flavour.reader(self.client, self.options, ctx).read():
            yield check_batch(batch, self.vendor)

    async def read_tickets(self, ticket_ids: list[str]) -> Batch:
        reread_client = self.client.costing("reconcile")
        return check_batch(await read_tickets(reread_client, self.options, ticket_ids), self.vendor)

    async def write(
        self,
        op: WriteOp,
        ticket_id: str | None,
        payload: dict[str, Any],
        ctx: WriteContext | None = None,
    ) -> str | None:
        return await self.writer.write(op, ticket_id, payload, ctx or WriteContext())
