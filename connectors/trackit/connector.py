"""The BMC Track-It! WebApi connector: streams, options and write operations."""

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
    FieldCatalog,
    HttpConnector,
    ReadContext,
    StreamSpec,
    WriteContext,
    WriteOp,
    check_batch,
)

from . import catalog
from .auth import Token, TrackitAuth
from .client import TrackitClient
from .reread import read_tickets
from .streams import TrackitReader
from .writer import Writer


class TrackitOptions(ConnectorOptions):
    api_path: str = Field(
        "/TrackIt/WebApi", description="WebApi path, appended unless base_url ends with it."
    )
    ticket_module: int = Field(
        24, description="Module sequence of Tickets for /module/{seq}/fields (24 or 1)."
    )
    max_misses: int = Field(
        20, ge=1, le=1000, description="404s in a row that end the walk for new ids."
    )
    first_ticket_id: int = Field(1, ge=1, description="Where a first run's walk starts.")
    batch_size: int = Field(100, ge=1, le=2000, description="Tickets per checkpoint.")
    closed_reconcile_every: Duration = Field(
        "24h", description="How often closed tickets are re-read ('0s': every run)."
    )
    note_type: str = Field("Technician Note", description="Note Type of notes written without one.")
    activity_code: str = Field(
        "Note By Technician", description="Activity Code of notes written without one."
    )
    names_max_age: Duration = Field(
        "60s", description="How old learned display names may be for a write."
    )
    recovery_field: str = Field(
        "Custom Text 6",
        description="Ticket field (default display name or sequence) a create writes its recovery "
        "marker into, so a create whose answer was lost is found again; '' disables it.",
    )

    @field_validator("recovery_field")
    @classmethod
    def _recovery(cls, value: str) -> str:
        if value.strip():
            seq = catalog.field_seq(value)
            if not catalog.field_catalog().fields[seq].updatable:
                raise ValueError(
                    f"ticket field {value!r} is read-only: pick an updatable text field"
                )
            mapped = [name for name, s in catalog.field_map().write.items() if s == seq]
            if mapped:
                raise ValueError(
                    f"ticket field {value!r} carries {mapped[0]!r} (mappings/trackit.toml): pick a free one"
                )
        return value

    @property
    def recovery_seq(self) -> int | None:
        """The sequence of ``recovery_field``, or ``None`` when disabled."""
        return catalog.field_seq(self.recovery_field) if self.recovery_field.strip() else None


class TrackitConnector(HttpConnector):
    vendor = "trackit"
    Options = TrackitOptions
    streams: ClassVar[tuple[StreamSpec, ...]] = (
        StreamSpec(
            "tickets",
            "tickets",
            CursorKind.ID_WALK,
            "id walk; open re-read every run; closed on a schedule",
        ),
        StreamSpec(
            "notes", "notes", CursorKind.WITH_PARENT, "re-read when their ticket's content moved"
        ),
        StreamSpec("time_entries", "time_entries", CursorKind.WITH_PARENT, "note durations"),
        StreamSpec("attachments", "attachments", CursorKind.WITH_PARENT, "attachment metadata"),
        StreamSpec(
            "people", "people", CursorKind.WITH_PARENT, "technicians and requestors tickets name"
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
            WriteOp.ADD_TIME_ENTRY,
        }
    )

    # "fields": custom fields, written from a payload's "fields" (sequence -> value)
    writable_fields = frozenset(
        {*catalog.field_map().write, "status_category", "priority_level", "fields"}
    )
    note_kinds = frozenset({"note"})  # the WebApi cannot send e-mail, so no replies

    def __init__(
        self, config: ConnectionConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(config, transport=transport)
        self.options: TrackitOptions
        username, password = config.secret("username"), config.secret("password")
        base = _api_base(config.base_url, self.options.api_path)
        auth = TrackitAuth(f"{base}/token", username, password, on_token=self._token_made)
        self.session = self.open_session(auth=auth, base_url=base, secrets=[password])
        self.client = TrackitClient(
            self.session, catalog.DisplayNames(), self.options.ticket_module
        )

    @classmethod
    def field_catalog(cls) -> FieldCatalog:
        """Ticket fields by sequence with default names and updatability (``deskbridge mappings check``)."""
        return catalog.field_catalog()

    def _token_made(self, token: Token) -> None:
        self.session.add_secrets([token.access, token.refresh or ""])

    async def check(self) -> str:
        count = await self.client.refresh_names()
        return f"authenticated; {count} ticket fields"

    async def read(self, ctx: ReadContext) -> AsyncIterator[Batch]:
        async for batch in TrackitReader(self.client, self.options, ctx).read():
            yield check_batch(batch, self.vendor)

    async def read_tickets(self, ticket_ids: list[str]) -> Batch:
        reread_client = self.client.costing("reconcile")
        return check_batch(await read_tickets(reread_client, ticket_ids), self.vendor)

    async def write(
        self,
        op: WriteOp,
        ticket_id: str | None,
        payload: dict[str, Any],
        ctx: WriteContext | None = None,
    ) -> str | None:
        return await Writer(self.client.costing("write"), self.options).write(
            op, ticket_id, payload, ctx or WriteContext()
        )


def _api_base(base_url: str, api_path: str) -> str:
    base = base_url.rstrip("/")
    path = "/" + api_path.strip("/")
    return base if base.lower().endswith(path.lower()) else base + path
