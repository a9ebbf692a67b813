"""The Mapcom M4 Workforce connector: streams, options and write operations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

import httpx

from deskbridge.sdk import (
    Batch,
    ConnectionConfig,
    CursorKind,
    HttpConnector,
    ReadContext,
    StreamSpec,
    WriteContext,
    WriteOp,
    check_batch,
)

from . import writer
from .auth import M4Auth
from .client import M4Client
from .clock import ServerClock, parse_zone
from .reread import read_tickets
from .streams import M4Options, M4Reader


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
        return check_batch(
            await read_tickets(self.client.costing("reconcile"), ticket_ids), self.vendor
        )

    async def write(
        self,
        op: WriteOp,
        ticket_id: str | None,
        payload: dict[str, Any],
        ctx: WriteContext | None = None,
    ) -> str | None:
        return await writer.write(self.client.costing("write"), op, ticket_id, payload)
