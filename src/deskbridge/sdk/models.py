"""The canonical model: every synced table, declared once; the DDL is derived from it.

This is the source of truth of the schema (the DDL, the data dictionary's descriptions). Its
import is heavy (SQLModel, SQLAlchemy), so only creating or migrating a warehouse and the
dictionary import it; the rest reads :mod:`deskbridge.sdk.canonical` and the column table
generated from these declarations, :mod:`deskbridge.sdk.columns`.

Synced entities share :class:`Synced` columns: the connection they came from, the vendor's
source id (a string, unique per connection and entity), the vendor payload with secrets
stripped (``raw``), a content hash over the canonical fields, and the sync bookkeeping.
A connector's mapping returns plain dicts holding the canonical fields of one table; the
warehouse adds the bookkeeping columns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from deskbridge.sdk.canonical import (
    BOOKKEEPING,
    FIELD_TYPES,
    FIELDS_KEY,
    SCHEMA_VERSION,
    SYNCED_ENTITIES,
    canonical_fields,
)

__all__ = [
    "BOOKKEEPING",
    "ENTITY_MODELS",
    "FIELDS_KEY",
    "FIELD_TYPES",
    "SCHEMA_VERSION",
    "SYNCED_ENTITIES",
    "Attachment",
    "FieldDef",
    "Note",
    "Person",
    "Synced",
    "Ticket",
    "TicketField",
    "TimeEntry",
    "canonical_fields",
]


class Synced(SQLModel):
    connection: str = Field(primary_key=True, description="Connection name from config.")
    source_id: str = Field(primary_key=True, description="The vendor's id for this record.")
    raw: Any = Field(default=None, sa_type=JSON, description="Vendor payload, secrets stripped.")
    content_hash: str = Field(
        description="Hash of the canonical fields; changes when content does."
    )
    raw_digest: int | None = Field(
        default=None,
        description="63 bits of the md5 of raw: how a sync tells that a payload it reads again "
        "is unchanged, without reading the stored one.",
    )
    first_seen_at: datetime = Field(description="When deskbridge first saw the record (UTC).")
    last_synced_at: datetime = Field(description="When a sync last read the record (UTC).")
    deleted_at: datetime | None = Field(
        default=None, description="When the record was found gone at the vendor."
    )
    deleted_proof: str | None = Field(
        default=None,
        description="What proved the deletion: not_found (the vendor answered not found for it), "
        "listing (absent from a complete listing), parent (its ticket was answered not found), operator "
        "(confirmed with 'deskbridge deletes confirm'), legacy (deleted before deskbridge recorded proofs).",
    )
    run_id: int | None = Field(
        default=None, description="sync_runs.run_id that last changed the row."
    )


class Ticket(Synced, table=True):
    __tablename__ = "tickets"
    number: str | None = Field(default=None, description="Human-facing ticket number (display id).")
    subject: str | None = Field(default=None, description="Ticket subject or title.")
    status: str | None = Field(default=None, description="Vendor status label.")
    status_category: str | None = Field(
        default=None, description="Canonical status: new, open, pending, resolved, closed."
    )
    priority: str | None = Field(default=None, description="Vendor priority label.")
    priority_level: str | None = Field(
        default=None, description="Canonical priority: low, normal, high, urgent."
    )
    type: str | None = Field(default=None, description="Vendor ticket type label.")
    department: str | None = Field(default=None, description="Department, queue or category label.")
    requester_id: str | None = Field(default=None, description="people.source_id of the requester.")
    assignee_id: str | None = Field(
        default=None, description="people.source_id of the assigned agent."
    )
    created_at: datetime | None = Field(default=None, description="Creation time (UTC).")
    updated_at: datetime | None = Field(
        default=None, description="Vendor's last activity or update time (UTC)."
    )
    resolved_at: datetime | None = Field(
        default=None, description="When the ticket was resolved or closed (UTC)."
    )
    due_at: datetime | None = Field(default=None, description="Due time (UTC).")
    tags: str | None = Field(default=None, description="Tags, space separated.")


class Note(Synced, table=True):
    __tablename__ = "notes"
    ticket_id: str = Field(description="tickets.source_id the note belongs to.")
    kind: str = Field(description="reply (a message on the conversation) or note (internal).")
    visibility: str = Field(description="public (the requester sees it) or private.")
    author_id: str | None = Field(default=None, description="people.source_id of the author.")
    author_name: str | None = Field(default=None, description="Author name as the vendor shows it.")
    author_kind: str | None = Field(default=None, description="staff or requester.")
    body: str | None = Field(default=None, description="Text of the note or reply.")
    is_html: bool | None = Field(default=None, description="Whether body is HTML.")
    created_at: datetime | None = Field(default=None, description="When it was written (UTC).")


class TimeEntry(Synced, table=True):
    __tablename__ = "time_entries"
    ticket_id: str = Field(description="tickets.source_id the time was logged on.")
    worker_id: str | None = Field(default=None, description="people.source_id of who did the work.")
    worker_name: str | None = Field(default=None, description="Worker name as the vendor shows it.")
    seconds_worked: int | None = Field(default=None, description="Time worked, in seconds.")
    seconds_billable: int | None = Field(default=None, description="Time billable, in seconds.")
    work_time: datetime | None = Field(default=None, description="When the work was done (UTC).")
    bill_time: datetime | None = Field(default=None, description="When it is billed (UTC).")
    note: str | None = Field(default=None, description="Text logged with the entry.")
    created_by_id: str | None = Field(
        default=None, description="people.source_id of who logged it."
    )


class Person(Synced, table=True):
    __tablename__ = "people"
    kind: str = Field(description="staff or requester.")
    name: str | None = Field(default=None, description="Full name.")
    email: str | None = Field(default=None, description="Primary e-mail address.")
    organization: str | None = Field(default=None, description="Organization or company.")
    is_active: bool | None = Field(default=None, description="Whether the account is enabled.")


class Attachment(Synced, table=True):
    __tablename__ = "attachments"
    ticket_id: str = Field(description="tickets.source_id of the ticket.")
    note_id: str | None = Field(
        default=None, description="notes.source_id it is attached to, if any."
    )
    filename: str | None = Field(default=None, description="File name.")
    size_bytes: int | None = Field(default=None, description="Size in bytes.")
    content_type: str | None = Field(default=None, description="MIME type.")
    created_at: datetime | None = Field(default=None, description="Upload time (UTC).")


class TicketField(SQLModel, table=True):
    """One custom (vendor-defined) field value of a ticket, written with its ticket.

    A row exists while the field has a value; clearing a field at the vendor removes its row the
    next time the ticket is read. The value sits in the one ``value_*`` column its type uses, and
    as text in ``value_text`` for every type, so one column answers "what does it say".
    """

    __tablename__ = "ticket_fields"
    connection: str = Field(primary_key=True, description="Connection name from config.")
    ticket_id: str = Field(primary_key=True, description="tickets.source_id of the ticket.")
    field_key: str = Field(
        primary_key=True,
        description="The field's stable key at this connection (fields.field_key), as mappings name it.",
    )
    field_id: str | None = Field(
        default=None, description="The vendor's own id of the field (e.g. Track-It! sequence 85)."
    )
    label: str | None = Field(
        default=None, description="The field's current display name at the vendor."
    )
    type: str = Field(
        description="text, integer, number, date, datetime, boolean, choice or multichoice."
    )
    value_text: str | None = Field(
        default=None,
        description="The value as text, for every type (choices joined by ', ', dates ISO 8601).",
    )
    value_number: float | None = Field(
        default=None, description="The value of an integer or number field."
    )
    value_time: datetime | None = Field(
        default=None, description="The value of a date (midnight UTC) or datetime field (UTC)."
    )
    value_bool: bool | None = Field(default=None, description="The value of a boolean field.")
    value_json: Any = Field(
        default=None,
        sa_type=JSON,
        description="The value as JSON, typed (a list for multichoice).",
    )
    last_synced_at: datetime = Field(description="When a sync wrote this value (UTC).")
    deleted_at: datetime | None = Field(
        default=None, description="When the ticket was found gone at the vendor."
    )
    run_id: int | None = Field(default=None, description="sync_runs.run_id that wrote this value.")


class FieldDef(SQLModel, table=True):
    """The custom ticket fields a connection's vendor defines: the catalog mappings are checked against."""

    __tablename__ = "fields"
    connection: str = Field(primary_key=True, description="Connection name from config.")
    field_key: str = Field(
        primary_key=True, description="Stable key of the field at this connection."
    )
    field_id: str | None = Field(default=None, description="The vendor's own id of the field.")
    label: str | None = Field(default=None, description="Current display name at the vendor.")
    type: str = Field(
        description="text, integer, number, date, datetime, boolean, choice or multichoice."
    )
    writable: bool = Field(description="Whether the vendor's API can write the field.")
    choices: Any = Field(
        default=None,
        sa_type=JSON,
        description="Allowed values of a choice or multichoice field, when the API lists them.",
    )
    source: str | None = Field(
        default=None, description="Where the definition came from (vendor endpoint or table)."
    )
    last_synced_at: datetime = Field(description="When a sync last read the definition (UTC).")
    deleted_at: datetime | None = Field(
        default=None, description="When the field was found gone from the vendor's definitions."
    )


ENTITY_MODELS: dict[str, type[Synced]] = {
    "tickets": Ticket,
    "notes": Note,
    "time_entries": TimeEntry,
    "people": Person,
    "attachments": Attachment,
}
