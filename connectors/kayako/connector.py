"""The Kayako Classic connector: streams, options and write operations."""

from __future__ import annotations

from collections.abc import AsyncIterator
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

from .auth import KayakoAuth
from .client import KayakoClient
from .reread import read_tickets
from .streams import KayakoReader
from .writer import KayakoWriter


class KayakoOptions(ConnectorOptions):
    page_size: int = Field(
        200,
        ge=10,
        le=5000,
        description="Tickets per ListAll request; a page and its posts are held until they commit.",
    )
    lookback: Duration = Field(
        "5m", description="Overlap below the watermark, for clock skew and ties."
    )
    closed_reconcile_every: Duration = Field(
        "24h", description="How often resolved tickets are re-read."
    )
    custom_fields: bool = Field(
        False,
        description="Read ticket custom fields: one more request per changed ticket, plus the "
        "catalog (1 + one per choice field) each run.",
    )
    custom_date_format: str = Field(
        "%m/%d/%Y", description="The helpdesk's date format, as strptime reads it (custom dates)."
    )


class KayakoConnector(HttpConnector):
    vendor = "kayako"
    Options = KayakoOptions
    streams: ClassVar[tuple[StreamSpec, ...]] = (
        StreamSpec("tickets", "tickets", CursorKind.TIMESTAMP, "ListAll by lastactivity DESC"),
        StreamSpec(
            "posts", "notes", CursorKind.WITH_PARENT, "replies, re-read with each changed ticket"
        ),
        StreamSpec("notes", "notes", CursorKind.WITH_PARENT, "staff notes, carried by ListAll"),
        StreamSpec("time_tracks", "time_entries", CursorKind.WITH_PARENT, "carried by ListAll"),
        StreamSpec(
            "attachments", "attachments", CursorKind.WITH_PARENT, "post attachment metadata"
        ),
        StreamSpec("people", "people", CursorKind.ID_WALK, "staff in full; users by id marker"),
    )
    write_ops = frozenset(
        {
            WriteOp.ADD_NOTE,
            WriteOp.DELETE_NOTE,
            WriteOp.ADD_TIME_ENTRY,
            WriteOp.DELETE_TIME_ENTRY,
            WriteOp.UPDATE_FIELDS,
            WriteOp.CHANGE_STATUS,
            WriteOp.CREATE_TICKET,
            WriteOp.DELETE_TICKET,
            WriteOp.CLOSE_TICKET,
        }
    )
    writable_fields = frozenset(
        {"subject", "status", "priority", "department", "type", "assignee_id"}
    )

    def __init__(
        self, config: ConnectionConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(config, transport=transport)
        api_key, secret_key = config.secret("api_key"), config.secret("secret_key")
        session = self.open_session(
            auth=KayakoAuth(api_key, secret_key), secrets=[api_key, secret_key]
        )
        self.client = KayakoClient(session)
        self.writer = KayakoWriter(self.client.costing("write"))
        self.options: KayakoOptions

    async def check(self) -> str:
        staff = await self.client.lookup("/Base/Staff")
        return f"authenticated; {len(staff)} staff visible"

    async def read(self, ctx: ReadContext) -> AsyncIterator[Batch]:
        reader = KayakoReader(self.client, self.options, ctx)
        self._reader = reader  # its lookups serve the deletion checks that follow the read
        async for batch in reader.read():
            yield check_batch(batch, self.vendor)

    async def read_tickets(self, ticket_ids: list[str]) -> Batch:
        reader: KayakoReader | None = getattr(self, "_reader", None)
        lookups = reader.lookups_read if reader is not None else None
        if lookups is None:
            reader = KayakoReader(self.client.costing("reconcile"), self.options, None)
            lookups = await reader.lookups()
        batch = await read_tickets(
            self.client.costing("reconcile"), ticket_ids, lookups, self.options
        )
        return check_batch(batch, self.vendor)

    async def write(
        self,
        op: WriteOp,
        ticket_id: str | None,
        payload: dict[str, Any],
        ctx: WriteContext | None = None,
    ) -> str | None:
        return await self.writer.write(op, ticket_id, payload, ctx or WriteContext())
