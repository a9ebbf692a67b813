"""The Omnidesk API v2 connector: streams, options and write operations."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterable
from typing import Any, ClassVar

import httpx
from pydantic import Field

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

from . import writer
from .auth import ApiKeyAuth
from .client import OmnideskClient
from .reread import read_tickets
from .streams import OmnideskReader


class OmnideskOptions(ConnectorOptions):
    page_size: int = Field(
        100,
        ge=10,
        le=9999,
        description="Tickets per list page of the walk; tickets per checkpoint.",
    )
    listing_page_size: int = Field(
        5000, ge=10, le=9999, description="Tickets per list page of a complete listing."
    )
    lookback: Duration = Field("5m", description="Overlap below the last_update watermark.")
    clock_skew: Duration = Field(
        "5s", description="How far Omnidesk's clock may be ahead of or behind ours."
    )
    reconcile_every: Duration = Field(
        "24h", description="How often a complete listing runs without a reason."
    )


class OmnideskConnector(HttpConnector):
    vendor = "omnidesk"
    Options = OmnideskOptions
    streams: ClassVar[tuple[StreamSpec, ...]] = (
        StreamSpec(
            "tickets", "tickets", CursorKind.TIMESTAMP, "list by last_update DESC, archive included"
        ),
        StreamSpec(
            "timeline",
            "notes",
            CursorKind.WITH_PARENT,
            "messages and notes, read with each changed ticket",
        ),
        StreamSpec(
            "people", "people", CursorKind.WITH_PARENT, "customers and staff seen on tickets"
        ),
    )
    writable_fields = writer.WRITABLE
    write_ops = frozenset(
        {
            WriteOp.CHANGE_STATUS,
            WriteOp.UPDATE_FIELDS,
            WriteOp.ADD_NOTE,
            WriteOp.CREATE_TICKET,
            WriteOp.DELETE_TICKET,
        }
    )

    def __init__(
        self, config: ConnectionConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(config, transport=transport)
        api_key = config.secret("api_key")
        auth = ApiKeyAuth(api_key)
        session = self.open_session(auth=auth, secrets=[api_key])
        # Creating writes are not retried: a lost answer must not create a ticket or message twice.
        once = self.open_session(auth=auth, options=dataclasses.replace(config.http, retries=0))
        self.client = OmnideskClient(session, once)
        self.writes = self.client.costing("write")
        self.options: OmnideskOptions

    async def check(self) -> str:
        listing = await self.client.list_tickets(0, 1)
        total = "some" if listing.total is None else listing.total
        return f"authenticated; {total} tickets visible"

    async def read(self, ctx: ReadContext) -> AsyncIterator[Batch]:
        async for batch in OmnideskReader(self.client, self.options, ctx).read():
            yield check_batch(batch, self.vendor)

    async def write(
        self,
        op: WriteOp,
        ticket_id: str | None,
        payload: dict[str, Any],
        ctx: WriteContext | None = None,
    ) -> str | None:
        return await writer.write(self.writes, op, ticket_id, payload, ctx or WriteContext())

    async def read_tickets(self, ticket_ids: list[str]) -> Batch:
        """Re-read these tickets with their timelines; a ticket answering 404 is deleted."""
        return check_batch(
            await read_tickets(self.client.costing("reconcile"), writer.ticket_ids(ticket_ids)),
            self.vendor,
        )

    async def batch(
        self,
        ticket_ids: Iterable[str | int],
        *,
        status: str | None = None,
        priority: str | None = None,
        department: str | int | None = None,
        delete: bool = False,
    ) -> None:
        """Change several tickets in one call (status, priority, group) or delete them.

        Status and priority take Omnidesk or canonical values, like :meth:`write`.
        """
        await writer.batch(
            self.writes,
            ticket_ids,
            status=status,
            priority=priority,
            department=department,
            delete=delete,
        )
