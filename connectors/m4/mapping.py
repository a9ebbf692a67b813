"""M4 raw records -> canonical rows. Pure functions: no I/O, tested on recorded payloads."""

from __future__ import annotations

from typing import Any

from deskbridge.sdk import mappings, number, vendor_id

from .clock import ServerClock

Row = dict[str, Any]
CLOSED_CATEGORIES = frozenset({"resolved", "closed"})
NOTE_TYPES = {"NOTE": "public", "LOG": "private"}  # NoteType -> visibility


def customer_id(value: Any) -> str | None:
    return f"customer:{value}" if value not in (None, "", 0) else None


def user_id(name: str | None) -> str | None:
    return f"user:{name}" if name else None


def ticket_row(raw: Row, clock: ServerClock) -> Row:
    """A Ticket. M4 has no subject and no modification time; states are bare integers."""
    vocab = mappings.load("m4")
    status, priority = _label(raw.get("TicketState")), _label(raw.get("Priority"))
    return {
        "source_id": vendor_id(raw.get("ID"), "ID"),
        "number": raw.get("TicketNumber") or str(raw["ID"]),
        "subject": None,
        "status": status,
        "status_category": vocab.values("status").to_canonical(status),
        "priority": priority,
        "priority_level": vocab.values("priority").to_canonical(priority),
        "type": _label(raw.get("TicketType")),
        "department": _label(raw.get("TicketCategory")),
        "requester_id": customer_id(raw.get("CustomerID")),
        "assignee_id": None,
        "created_at": clock.to_utc(raw.get("TimeOpened")),
        "updated_at": None,
        "resolved_at": None,
        "due_at": None,
        "tags": None,
        "raw": raw,
    }


def is_open(row: Row) -> bool:
    """Whether a ticket row may still change; an unmapped state counts as open."""
    return row.get("status_category") not in CLOSED_CATEGORIES


def people_rows(tickets: list[Row]) -> list[Row]:
    """Requesters (``customer:<CustomerID>``) and staff (``user:<name>``) named by tickets.

    M4 has no people endpoint: a ticket names its customer by ID and its staff by user name
    (CreatedBy, ModifiedBy, ChangedBy), so this is all the API says about them.
    """
    people: dict[str, Row] = {}
    for raw in tickets:
        cid = customer_id(raw.get("CustomerID"))
        if cid:
            people[cid] = _person(cid, "requester", None, {"CustomerID": raw["CustomerID"]})
        for key in ("CreatedBy", "ModifiedBy", "ChangedBy"):
            name = raw.get(key)
            if name:
                people[f"user:{name}"] = _person(f"user:{name}", "staff", name, {"UserName": name})
    return list(people.values())


def _person(source_id: str, kind: str, name: str | None, raw: Row) -> Row:
    return {
        "source_id": source_id,
        "kind": kind,
        "name": name,
        "email": None,
        "organization": None,
        "is_active": None,
        "raw": raw,
    }


def note_row(raw: Row, clock: ServerClock) -> Row:
    """A TicketNote: NOTE is public, LOG private; both are work notes, never replies."""
    user = raw.get("UserName") or None
    return {
        "source_id": vendor_id(raw.get("ID"), "ID"),
        "ticket_id": vendor_id(raw.get("TicketID"), "TicketID"),
        "kind": "note",
        "visibility": NOTE_TYPES.get(str(raw.get("NoteType") or "NOTE").upper(), "private"),
        "author_id": user_id(user),
        "author_name": user,
        "author_kind": "staff" if user else None,
        "body": raw.get("Note"),
        "is_html": False,
        "created_at": clock.to_utc(raw.get("ts")),
        "raw": raw,
    }


def entry_row(raw: Row, clock: ServerClock) -> Row:
    """A TimeEntry: ``Minutes`` worked by technician ``TechID``; M4 records no billable time."""
    minutes = raw.get("Minutes")
    return {
        "source_id": vendor_id(raw.get("ID"), "ID"),
        "ticket_id": vendor_id(raw.get("TicketID"), "TicketID"),
        "worker_id": f"tech:{raw['TechID']}" if raw.get("TechID") is not None else None,
        "worker_name": None,
        "seconds_worked": number(minutes, "Minutes") * 60 if minutes is not None else None,  # type: ignore[operator]
        "seconds_billable": None,
        "work_time": clock.to_utc(raw.get("Time")),
        "bill_time": None,
        "note": raw.get("Comment"),
        "created_by_id": None,
        "raw": raw,
    }


def _label(value: Any) -> str | None:
    return None if value is None else str(value)
