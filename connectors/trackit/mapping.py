"""Track-It! raw records -> canonical rows. Pure functions: no I/O, tested on recorded payloads.

Raw records are ``{sequence: value}`` (see :mod:`.client`). Ticket fields are read by the
sequences of ``mappings/trackit.toml``; note, attachment and people fields by the fixed
sequences of BMC's field tables below.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from deskbridge.sdk import FieldSpec, FieldValue, field_value, mappings, number, vendor_id

from .catalog import custom_fields, field_catalog, field_map

Row = dict[str, Any]
Record = dict[int, Any]

# Note fields (GET /tickets/{id}/Notes).
N_ID, N_NOTE, N_TICKET, N_DATE, N_TECH, N_DURATION = 1, 5, 6, 7, 8, 10
N_TECH_NAME, N_EMAIL, N_PRIVATE, N_REQUESTOR, N_REQUESTOR_NAME, N_TRACK_TIME = (
    16,
    24,
    27,
    28,
    29,
    31,
)
# Attachment fields (GET /tickets/{id}/Attachments).
A_ID, A_SIZE, A_NAME = 1, 6, 7
# Ticket fields naming people: (seq of the person's sequence, seqs of the name parts).
TECH_ROLES = ((10, (68, 69)), (16, (128, 129)), (17, (130, 131)), (150, (152, 153)))
T_REQUESTOR, T_REQUESTOR_NAME, T_REQUESTOR_EMAIL = 8, 149, 114


def parse_time(value: Any) -> datetime | None:
    """Track-It's ``2019-01-23T11:27:09.7970000Z`` (seven fractional digits, UTC)."""
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def technician_id(seq: Any) -> str | None:
    return f"technician:{seq}" if seq else None


def requestor_id(seq: Any) -> str | None:
    return f"requestor:{seq}" if seq else None


def raw(record: Record) -> dict[str, Any]:
    return {str(seq): value for seq, value in record.items()}


def ticket_row(record: Record, label: Callable[[int], str] | None = None) -> Row:
    """One ticket; ``raw`` keeps every field by sequence (assignments are added by the reader).

    ``fields`` holds its custom fields that have a value, named by ``label`` (the display
    names the server last showed; by default those of the field table).
    """
    fields, vocab = field_map(), mappings.load("trackit")
    get = {name: record.get(fields.seq(name)) for name in (*fields.write, *fields.read)}
    closed = get["resolved_at"] is not None
    updated = max(filter(None, (get["updated_at"], get["latest_note_at"])), default=None)
    return {
        "source_id": vendor_id(get["number"], "ticket number"),
        "number": str(get["number"]),
        "subject": get["subject"],
        "status": get["status"],
        "status_category": vocab.values("status").to_canonical(
            get["status"], "closed" if closed else "open"
        ),
        "priority": get["priority"],
        "priority_level": vocab.values("priority").to_canonical(get["priority"]),
        "type": None,
        "department": get["department"],
        "requester_id": requestor_id(get["requester_id"]),
        "assignee_id": technician_id(get["assignee_id"]),
        "created_at": parse_time(get["created_at"]),
        "updated_at": parse_time(updated),
        "resolved_at": parse_time(get["resolved_at"]),
        "due_at": parse_time(get["due_at"]),
        "tags": None,
        "fields": custom_values(record, label or _default_label),
        "raw": raw(record),
    }


def custom_values(record: Record, label: Callable[[int], str]) -> list[FieldValue]:
    """Custom Text, Date, Integer, Numeric and Look Up fields by sequence (null ones are not sent)."""
    return [
        field_value(seq, kind, _typed(kind, record[seq], seq), label=label(seq), field_id=seq)
        for seq, kind in custom_fields().items()
        if record.get(seq) is not None
    ]


def custom_specs(label: Callable[[int], str] | None = None) -> list[FieldSpec]:
    """The custom field catalog: every custom sequence, its current name, updatable or not."""
    fields, label = field_catalog().fields, label or _default_label
    return [
        FieldSpec(
            key=str(seq),
            field_id=str(seq),
            label=label(seq),
            type=kind,
            writable=fields[seq].updatable,
            choices=None,  # look-up lists are kept by the administrator; no endpoint lists them
            source="BMC Ticket Web APIs field table; names from GET /tickets/{id}",
        )
        for seq, kind in custom_fields().items()
    ]


def _typed(kind: str, value: Any, seq: int) -> Any:
    if kind == "datetime":
        return parse_time(value)
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"custom field {seq} is {value!r}, not a whole number")
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"custom field {seq} is {value!r}, not a number")
        return value
    return str(value)


def _default_label(seq: int) -> str:
    return field_catalog().fields[seq].name


def note_row(record: Record) -> Row:
    """A note is a ``reply`` when it carries an e-mail address (a mail to or from the requestor)."""
    by_requestor = bool(record.get(N_REQUESTOR)) and not record.get(N_TECH)
    return {
        "source_id": vendor_id(record.get(N_ID), "note id"),
        "ticket_id": vendor_id(record.get(N_TICKET), "note ticket id"),
        "kind": "reply" if record.get(N_EMAIL) else "note",
        "visibility": "private" if record.get(N_PRIVATE) is True else "public",
        "author_id": requestor_id(record.get(N_REQUESTOR))
        if by_requestor
        else technician_id(record.get(N_TECH)),
        "author_name": record.get(N_REQUESTOR_NAME) if by_requestor else record.get(N_TECH_NAME),
        "author_kind": "requester" if by_requestor else "staff",
        "body": record.get(N_NOTE) or "",
        "is_html": False,
        "created_at": parse_time(record.get(N_DATE)),
        "raw": raw(record),
    }


def time_entry_row(record: Record) -> Row | None:
    """The time logged on a note (its Duration, in seconds); billable when Track Time is on."""
    seconds = number(record.get(N_DURATION), "note duration", optional=True)
    if not seconds:
        return None
    return {
        "source_id": vendor_id(record.get(N_ID), "note id"),
        "ticket_id": vendor_id(record.get(N_TICKET), "note ticket id"),
        "worker_id": technician_id(record.get(N_TECH)),
        "worker_name": record.get(N_TECH_NAME),
        "seconds_worked": seconds,
        "seconds_billable": seconds if record.get(N_TRACK_TIME) is True else 0,
        "work_time": parse_time(record.get(N_DATE)),
        "bill_time": None,
        "note": record.get(N_NOTE) or "",
        "created_by_id": technician_id(record.get(N_TECH)),
        "raw": raw(record),
    }


def attachment_row(record: Record, ticket_id: str) -> Row:
    """Attachment metadata; the list does not say which note a file came with, nor its type."""
    size = record.get(A_SIZE)
    return {
        "source_id": vendor_id(record.get(A_ID), "attachment id"),
        "ticket_id": ticket_id,
        "note_id": None,
        "filename": record.get(A_NAME),
        "size_bytes": number(size, "attachment size", optional=True),
        "content_type": None,
        "created_at": None,
        "raw": raw(record),
    }


def ticket_people(record: Record) -> list[Row]:
    """Technicians and the requestor a ticket names (only the requestor has an e-mail there)."""
    people = [
        _person(technician_id(record[seq]), "staff", _name(record, parts), None)
        for seq, parts in TECH_ROLES
        if record.get(seq)
    ]
    if record.get(T_REQUESTOR):
        people.append(
            _person(
                requestor_id(record[T_REQUESTOR]),
                "requester",
                record.get(T_REQUESTOR_NAME),
                record.get(T_REQUESTOR_EMAIL),
            )
        )
    return people


def note_people(record: Record) -> list[Row]:
    """The note's technician, and its requestor (whose address is the note's e-mail, if any)."""
    people = []
    if record.get(N_TECH):
        people.append(
            _person(technician_id(record[N_TECH]), "staff", record.get(N_TECH_NAME), None)
        )
    if record.get(N_REQUESTOR):
        email = record.get(N_EMAIL) if not record.get(N_TECH) else None
        people.append(
            _person(
                requestor_id(record[N_REQUESTOR]), "requester", record.get(N_REQUESTOR_NAME), email
            )
        )
    return people


def _name(record: Record, parts: tuple[int, int]) -> str | None:
    name = " ".join(str(record[p]) for p in parts if record.get(p))
    return name or None


def _person(source_id: str | None, kind: str, name: str | None, email: str | None) -> Row:
    return {
        "source_id": source_id,
        "kind": kind,
        "name": name,
        "email": email,
        "organization": None,
        "is_active": None,
        "raw": {"name": name, "email": email},
    }
