"""WHMCS raw records -> canonical rows. Pure functions: no I/O, tested on recorded payloads.

WHMCS sends most numbers as strings and some as integers, wraps lists XML-style
(``{"replies": {"reply": [...]}}``) and may send an empty list as ``[]``, ``{}`` or nothing;
the helpers here accept every form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from deskbridge.sdk import mappings, number, vendor_id

Row = dict[str, Any]
WIRE_FORMAT = "%Y-%m-%d %H:%M:%S"
# login names and authentication data of admins are not kept in the warehouse
ADMIN_PRIVATE = frozenset(
    {"username", "password", "authData", "passwordResetData", "twoFactorAuthData"}
)


@dataclass(frozen=True)
class Lookups:
    """Department names by id and admin ids by full name, read once per run."""

    departments: Mapping[str, str] = field(default_factory=dict)
    admins: Mapping[str, str] = field(default_factory=dict)
    tz: tzinfo = UTC

    @classmethod
    def from_records(cls, departments: list[Row], admins: list[Row], tz: tzinfo = UTC) -> Lookups:
        return cls(
            departments={as_id(d.get("id")): str(d.get("name", "")) for d in departments},
            admins={admin_name(a): as_id(a.get("id")) for a in admins},
            tz=tz,
        )


def as_int(value: Any) -> int:
    """A WHMCS number sent as an integer, a numeric string, or empty."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    text = str(value or "").strip()
    return int(text) if text.lstrip("-").isdigit() else 0


def as_id(value: Any) -> str:
    """A lenient id, for values we send back to WHMCS; records read from it use :func:`vendor_id`."""
    return str(as_int(value)) if value not in (None, "") else ""


def items(container: Any, key: str) -> list[Row]:
    """The records of a wrapped list: ``{key: [...]}``, ``{key: {...}}``, ``[]``, ``{}`` or None."""
    if isinstance(container, list):
        return [r for r in container if isinstance(r, dict)]
    if not isinstance(container, dict):
        return []
    inner = container.get(key)
    if isinstance(inner, dict):
        return [inner]
    return [r for r in inner if isinstance(r, dict)] if isinstance(inner, list) else []


def parse_wire(value: str | None) -> datetime | None:
    """A naive ``Y-m-d H:i:s`` (or ISO-8601) time; the zero date means unset."""
    text = (value or "").strip()
    if not text or text.startswith("0000-00-00"):
        return None
    try:
        return datetime.strptime(text, WIRE_FORMAT)
    except ValueError:
        return datetime.fromisoformat(text)


def when(value: str | None, tz: tzinfo) -> datetime | None:
    """A WHMCS server-local time as an aware UTC datetime."""
    parsed = parse_wire(value)
    if parsed is None:
        return None
    local = parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    return local.astimezone(UTC)


def admin_name(raw: Row) -> str:
    first = raw.get("firstName", raw.get("firstname", ""))
    last = raw.get("lastName", raw.get("lastname", ""))
    return f"{first} {last}".strip()


def requester_id(userid: Any, email: str | None) -> str | None:
    """``client:<userid>`` for a client, ``guest:<lowercased e-mail>`` for anyone else."""
    client = number(userid, "userid", optional=True)
    if client:
        return f"client:{client}"
    return f"guest:{email.strip().lower()}" if email and email.strip() else None


def ticket_id_of(raw: Row) -> str:
    """GetTicket says ``ticketid``, GetTickets items say ``id``."""
    return vendor_id(raw.get("ticketid", raw.get("id")), "ticketid")


def ticket_row(raw: Row, lookups: Lookups) -> Row:
    vocab = mappings.load("whmcs")
    status, priority = raw.get("status") or None, raw.get("priority") or None
    deptid = as_id(raw.get("deptid"))
    flag = number(raw.get("flag"), "flag", optional=True)
    return {
        "source_id": ticket_id_of(raw),
        "number": str(raw.get("tid") or raw.get("ticketnum") or "") or None,
        "subject": raw.get("subject"),
        "status": status,
        "status_category": vocab.values("status").to_canonical(status, "open"),
        "priority": priority,
        "priority_level": vocab.values("priority").to_canonical(priority),
        "type": None,
        "department": lookups.departments.get(deptid) or raw.get("deptname") or None,
        "requester_id": requester_id(raw.get("userid"), raw.get("email")),
        "assignee_id": f"admin:{flag}" if flag else None,
        "created_at": when(raw.get("date"), lookups.tz),
        "updated_at": when(raw.get("lastreply"), lookups.tz),
        "resolved_at": None,
        "due_at": None,
        "tags": None,
        "raw": {k: v for k, v in raw.items() if k not in ("replies", "notes")},
    }


def message_rows(raw: Row, lookups: Lookups) -> list[Row]:
    """The opening message (``replyid`` 0) and the replies: public notes of kind ``reply``."""
    ticket_id = ticket_id_of(raw)
    return [_message_row(ticket_id, m, lookups) for m in items(raw.get("replies"), "reply")]


def _message_row(ticket_id: str, m: Row, lookups: Lookups) -> Row:
    reply_id = vendor_id(m.get("replyid"), "replyid", zero=True)
    admin = m.get("admin") or ""
    if admin:
        author = _admin_id(admin, lookups)
        name = admin
    else:
        author = requester_id(m.get("userid"), m.get("email"))
        name = m.get("requestor_name") or m.get("name") or None
    return {
        "source_id": f"reply:{reply_id}" if reply_id != "0" else f"message:{ticket_id}",
        "ticket_id": ticket_id,
        "kind": "reply",
        "visibility": "public",
        "author_id": author,
        "author_name": name,
        "author_kind": "staff" if admin else "requester",
        "body": m.get("message", ""),
        "is_html": False,
        "created_at": when(m.get("date"), lookups.tz),
        "raw": m,
    }


def note_rows(raw: Row, lookups: Lookups) -> list[Row]:
    """Internal notes (``noteid`` in GetTicket, ``id`` in GetTicketNotes): private notes."""
    ticket_id = ticket_id_of(raw)
    return [
        {
            "source_id": f"note:{vendor_id(n.get('noteid', n.get('id')), 'noteid')}",
            "ticket_id": ticket_id,
            "kind": "note",
            "visibility": "private",
            "author_id": _admin_id(n.get("admin") or "", lookups),
            "author_name": n.get("admin") or None,
            "author_kind": "staff",
            "body": n.get("message", ""),
            "is_html": False,
            "created_at": when(n.get("date"), lookups.tz),
            "raw": n,
        }
        for n in items(raw.get("notes"), "note")
    ]


def _admin_id(name: str, lookups: Lookups) -> str | None:
    admin = lookups.admins.get(name.strip())
    return f"admin:{admin}" if admin else None


def admin_row(raw: Row) -> Row:
    return {
        "source_id": f"admin:{vendor_id(raw.get('id'))}",
        "kind": "staff",
        "name": admin_name(raw),
        "email": raw.get("email") or None,
        "organization": None,
        "is_active": not as_int(raw.get("isDisabled", raw.get("disabled"))),
        "raw": {k: v for k, v in raw.items() if k not in ADMIN_PRIVATE},
    }


MessageKey = tuple[str, int]  # (date, reply id): which of a person's messages is newest


def requester_rows(raw: Row) -> list[tuple[MessageKey, Row]]:
    """The people behind a ticket and its customer messages, each with its message's key.

    Clients are named from the ``requestor_*`` fields (the client record); a guest is named
    as on the message, so the caller keeps the row of the guest's newest message.
    """
    out = []
    person = _person(raw.get("userid"), raw.get("name"), raw.get("email"), raw)
    if person is not None:
        out.append(((str(raw.get("date") or ""), 0), person))
    for m in items(raw.get("replies"), "reply"):
        reply_id = int(vendor_id(m.get("replyid"), "replyid", zero=True))
        if reply_id and not m.get("admin"):
            person = _person(m.get("userid"), m.get("name"), m.get("email"), m)
            if person is not None:
                out.append(((str(m.get("date") or ""), reply_id), person))
    return out


def _person(userid: Any, name: str | None, email: str | None, raw: Row) -> Row | None:
    source_id = requester_id(userid, email)
    if source_id is None:
        return None
    if source_id.startswith("client:") and raw.get("requestor_type", "Owner") == "Owner":
        name = raw.get("requestor_name") or name
        email = raw.get("requestor_email") or email
    if source_id.startswith("client:") and not name:
        return None  # a client reply without the requestor fields names nobody
    keep = ("userid", "name", "email", "requestor_name", "requestor_email", "requestor_type")
    return {
        "source_id": source_id,
        "kind": "requester",
        "name": name or None,
        "email": email or None,
        "organization": None,
        "is_active": None,
        "raw": {k: raw[k] for k in keep if k in raw},
    }
