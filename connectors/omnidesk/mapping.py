"""Omnidesk raw records -> canonical rows. Pure functions: no I/O, tested on recorded payloads.

Omnidesk sends datetimes as naive ``YYYY-MM-DD HH:MM:SS`` strings in Europe/Amsterdam time and
ids as numbers or numeric strings, depending on the field.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from deskbridge.sdk import InvalidRecord, PayloadError, mappings, number

Row = dict[str, Any]
ZONE = ZoneInfo("Europe/Amsterdam")
DIGITS = re.compile(r"^[0-9]+$")
FORMAT = "%Y-%m-%d %H:%M:%S"


def _local(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        if len(value) == 19 and value[10] == " " and value[13] == value[16] == ":":
            return datetime.fromisoformat(value)  # FORMAT exactly; strptime costs 30x more
        return datetime.strptime(value, FORMAT)
    except (TypeError, ValueError):
        raise PayloadError(
            f"expected a datetime like '2019-09-28 22:06:16', got {value!r}", vendor="omnidesk"
        ) from None


def to_utc(value: str | None) -> datetime | None:
    """A naive Amsterdam time in UTC; an ambiguous time (the autumn hour that repeats) reads
    as its first occurrence."""
    local = _local(value)
    return local.replace(tzinfo=ZONE, fold=0).astimezone(UTC) if local else None


def latest_utc(value: str | None) -> datetime | None:
    """The latest instant a naive Amsterdam time can mean (its second reading when ambiguous)."""
    local = _local(value)
    if local is None:
        return None
    return max(local.replace(tzinfo=ZONE, fold=fold).astimezone(UTC) for fold in (0, 1))


def ident(value: object) -> str | None:
    """An id sent as a number or a numeric string, as a string; ``None`` for absent or 0."""
    try:
        found = number(value, "id", optional=True)
    except InvalidRecord as exc:
        raise PayloadError(f"expected a numeric id: {exc}", vendor="omnidesk") from None
    return str(found) if found else None


def required_ident(value: object, what: str) -> str:
    found = ident(value)
    if found is None:
        raise PayloadError(f"{what} has no id ({value!r})", vendor="omnidesk")
    return found


def _prefixed(prefix: str, value: object) -> str | None:
    found = ident(value)
    return f"{prefix}:{found}" if found else None


def ticket_row(raw: Row) -> Row:
    """A ticket from the list or from GET item (its timeline is left out of ``raw``)."""
    vocab = mappings.load("omnidesk")
    ticket_id = required_ident(raw.get("id"), "ticket")
    status, priority = raw.get("status"), raw.get("priority")
    return {
        "source_id": ticket_id,
        "number": ticket_id,
        "subject": raw.get("title"),
        "status": status,
        "status_category": vocab.values("status").to_canonical(status),
        "priority": priority,
        "priority_level": vocab.values("priority").to_canonical(priority),
        "type": raw.get("channel_name") or None,
        "department": ident(raw.get("assigned_group_id")),
        "requester_id": _prefixed("customer", raw.get("customer_id")),
        "assignee_id": _prefixed("staff", raw.get("assigned_user_id")),
        "created_at": to_utc(raw.get("created_at")),
        "updated_at": to_utc(raw.get("last_update")),
        "resolved_at": to_utc(raw.get("closed_at")),
        "due_at": to_utc(raw.get("sla_next_breach")),
        "tags": None,
        "raw": {k: v for k, v in raw.items() if k != "timeline"},
    }


def _first_address(value: str | None) -> str | None:
    return value.split(",")[0].strip() if value else value


def requester_row(raw: Row) -> Row | None:
    """The ticket's customer, named as the ticket's customer side shows them."""
    customer_id = ident(raw.get("customer_id"))
    if customer_id is None:
        return None
    side = ("to", "to_name") if raw.get("direction") == "outbound" else ("from", "from_name")
    email, name = _first_address(raw.get(side[0])), raw.get(side[1])
    return {
        "source_id": f"customer:{customer_id}",
        "kind": "requester",
        "name": name,
        "email": email,
        "organization": None,
        "is_active": None,
        "raw": {"customer_id": customer_id, "name": name, "email": email},
    }


def is_post(entry: Row) -> bool:
    """Timeline entries that are messages or notes (events carry no content)."""
    return entry.get("type") != "event" and "content" in entry


def note_row(entry: Row, ticket_id: str, requester_id: str | None) -> Row:
    """A timeline note (internal, private) or message (a reply on the conversation, public)."""
    is_note = entry.get("type") == "note"
    kind = "note" if is_note else "message"
    staff = ident(entry.get("user_id"))
    return {
        "source_id": f"{kind}:{required_ident(entry.get('id'), 'timeline entry')}",
        "ticket_id": ticket_id,
        "kind": "note" if is_note else "reply",
        "visibility": "private" if is_note else "public",
        "author_id": f"staff:{staff}" if staff else requester_id,
        "author_name": entry.get("user_name") if staff else entry.get("from_name"),
        "author_kind": "staff" if staff else "requester",
        "body": entry.get("content"),
        "is_html": None,
        "created_at": to_utc(entry.get("created_at")),
        "raw": entry,
    }


def staff_row(entry: Row) -> Row | None:
    """The staff author of a message or note, as the entry names them."""
    staff = ident(entry.get("user_id"))
    if staff is None:
        return None
    return {
        "source_id": f"staff:{staff}",
        "kind": "staff",
        "name": entry.get("user_name"),
        "email": entry.get("from"),
        "organization": None,
        "is_active": None,
        "raw": {"user_id": staff, "name": entry.get("user_name"), "email": entry.get("from")},
    }


def item_rows(item: Row) -> tuple[Row, list[Row], list[Row]]:
    """A GET item: its ticket row, its notes, and the people seen on it."""
    ticket = ticket_row(item)
    people = [p for p in (requester_row(item),) if p]
    notes = []
    for entry in item.get("timeline") or ():
        if isinstance(entry, dict) and is_post(entry):
            notes.append(note_row(entry, ticket["source_id"], ticket["requester_id"]))
            people += [p for p in (staff_row(entry),) if p]
    return ticket, notes, people
