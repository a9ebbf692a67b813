"""The Mapcom M4 Workforce connector: streams, options and write operations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

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
    parse_duration,
)

from . import writer
from .auth import M4Auth
from .client import M4Client
from .clock import ServerClock, parse_zone
from .streams import M4Reader, reread


class M4Options(ConnectorOptions):
    api_root: str = Field("/m4api/api", description="Path of the web API under base_url.")
    server_timezone: str = Field(
        "-05:00", description="Zone of times sent without an offset: '-05:00' or an IANA name."
    )
    lookback: Duration = Field("10m", description="Overlap of the note window below its watermark.")
    reconcile_open_every: Duration = Field(
        "0s", description="How often notes and time entries of open tickets are re-read."
    )
    reconcile_all_every: Duration = Field(
        "0s", description="How often every note and every ticket's time entries are re-read."
    )
    sweep_window: Duration = Field(
        "30d", description="ts span of one GetTicketNotes request in the sweep."
    )
    reconcile_chunk: int = Field(100, ge=1, le=5000, description="Tickets re-read per checkpoint.")

    @field_validator("sweep_window")
    @classmethod
    def _window(cls, value: str) -> str:
        if parse_duration(value) < 3600:
            raise ValueError("the note sweep window must be at least '1h'")
        return value

    @field_validator("server_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        parse_zone(value)
        return value


class M4Connector(HttpConnector):
    vendor = "m4"
    Options = M4Options
    streams: ClassVar[tuple[StreamSpec, ...]] = (
        StreamSpec(
            "tickets", "tickets", CursorKind.SNAPSHOT, "GetTickets; content hash finds changes"
        ),
        StreamSpec("people", "people", CursorKind.SNAPSHOT, "customers and users the tickets name"),
        StreamSpec(
            "notes", "notes", CursorKind.WINDOW, "GetTicketNotes by ts window, sweep, re-reads"
        ),
        StreamSpec("time_entries", "time_entries", CursorKind.WITH_PARENT, "per re-read ticket"),
    )
    write_ops = frozenset({WriteOp.ADD_NOTE, WriteOp.UPDATE_NOTE, WriteOp.DELETE_NOTE})

    def __init__(
        self, config: ConnectionConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(config, transport=transport)
        self.options: M4Options
        auth = M4Auth(config.secret("username"), config.secret("password"))
        session = self.open_session(auth=auth, secrets=auth.secrets)
        clock = ServerClock(parse_zone(self.options.server_timezone))
        self.client = M4Client(session, clock, self.options.api_root)

    async def check(self) -> str:
        methods = await self.client.specification("TicketNote")
        return f"authenticated; TicketNote answers with {len(methods)} documented methods"

    async def read(self, ctx: ReadContext) -> AsyncIterator[Batch]:
        async for batch in M4Reader(self.client, self.options, ctx).read():
            yield check_batch(batch, self.vendor)

    async def read_tickets(self, ticket_ids: list[str]) -> Batch:
        reread_client = self.client.costing("reconcile")
        return check_batch(await reread(reread_client, ticket_ids), self.vendor)

    async def write(
        self,
        op: WriteOp,
        ticket_id: str | None,
        payload: dict[str, Any],
        ctx: WriteContext | None = None,
    ) -> str | None:
        return await writer.write(self.client.costing("write"), op, ticket_id, payload)
