"""Kayako raw records -> canonical rows. Pure functions: no I/O, tested on recorded payloads."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from deskbridge.sdk import (
    FieldSpec,
    FieldValue,
    InvalidRecord,
    field_value,
    mappings,
    number,
    vendor_id,
)

Row = dict[str, Any]


@dataclass(frozen=True)
class Lookups:
    """Titles by id, read once per run from the helpdesk's lookup routes."""

    departments: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    resolved_statuses: frozenset[str] = frozenset()
    priorities: dict[str, str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_records(
        cls, departments: list[Row], statuses: list[Row], priorities: list[Row], types: list[Row]
    ) -> Lookups:
        return cls(
            departments=_titles(departments),
            statuses=_titles(statuses),
            resolved_statuses=frozenset(
                s["id"] for s in statuses if s.get("markasresolved") == "1"
            ),
            priorities=_titles(priorities),
            types=_titles(types),
        )

    @property
    def open_statuses(self) -> list[str]:
        return [sid for sid in self.statuses if sid not in self.resolved_statuses]


def _titles(records: list[Row]) -> dict[str, str]:
    return {r["id"]: r.get("title", "") for r in records if "id" in r}


MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z, the last second a datetime holds


def epoch(value: str | None, field: str = "time") -> datetime | None:
    """Kayako epoch seconds; ``0`` or empty means not set."""
    seconds = number(value, field, optional=True)
    if not seconds:
        return None
    if seconds > MAX_EPOCH:
        raise InvalidRecord(f"{field} {seconds} is not a time (after the year 9999)")
    return datetime.fromtimestamp(seconds, UTC)


def _id(value: str | None, prefix: str) -> str | None:
    return f"{prefix}:{value}" if value and value != "0" else None


def ticket_row(raw: Row, lookups: Lookups) -> Row:
    vocab = mappings.load("kayako")
    status = lookups.statuses.get(raw.get("statusid", ""))
    resolved = raw.get("statusid") in lookups.resolved_statuses
    priority = lookups.priorities.get(raw.get("priorityid", ""))
    return {
        "source_id": vendor_id(raw.get("id")),
        "number": raw.get("displayid") or raw["id"],
        "subject": raw.get("subject"),
        "status": status,
        "status_category": vocab.values("status").to_canonical(
            status, "resolved" if resolved else "open"
        ),
        "priority": priority,
        "priority_level": vocab.values("priority").to_canonical(priority),
        "type": lookups.types.get(raw.get("typeid", "")),
        "department": lookups.departments.get(raw.get("departmentid", "")),
        "requester_id": _id(raw.get("userid"), "user"),
        "assignee_id": _id(raw.get("ownerstaffid"), "staff"),
        "created_at": epoch(raw.get("creationtime")),
        "updated_at": epoch(raw.get("lastactivity")),
        "resolved_at": epoch(raw.get("lastactivity")) if resolved else None,
        "due_at": epoch(raw.get("resolutiondue")),
        "tags": raw.get("tags") or None,
        "raw": {k: v for k, v in raw.items() if k not in ("posts", "note")},
    }


def post_row(raw: Row) -> Row:
    staff = raw.get("staffid", "0") not in ("", "0")
    return {
        "source_id": f"post:{vendor_id(raw.get('id'))}",
        "ticket_id": vendor_id(raw.get("ticketid"), "ticketid"),
        "kind": "reply",
        "visibility": "private" if raw.get("isprivate") == "1" else "public",
        "author_id": _id(raw.get("staffid"), "staff") if staff else _id(raw.get("userid"), "user"),
        "author_name": raw.get("fullname"),
        "author_kind": "staff" if staff else "requester",
        "body": raw.get("contents", ""),
        "is_html": raw.get("ishtml") == "1",
        "created_at": epoch(raw.get("dateline")),
        "raw": raw,
    }


def note_row(raw: Row) -> Row:
    return {
        "source_id": f"note:{vendor_id(raw.get('id'))}",
        "ticket_id": vendor_id(raw.get("ticketid"), "ticketid"),
        "kind": "note",
        "visibility": "private",
        "author_id": _id(raw.get("creatorstaffid"), "staff"),
        "author_name": raw.get("creatorstaffname"),
        "author_kind": "staff",
        "body": raw.get("contents", ""),
        "is_html": False,
        "created_at": epoch(raw.get("creationdate")),
        "raw": raw,
    }


def timetrack_row(raw: Row) -> Row:
    return {
        "source_id": vendor_id(raw.get("id")),
        "ticket_id": vendor_id(raw.get("ticketid"), "ticketid"),
        "worker_id": _id(raw.get("workerstaffid"), "staff"),
        "worker_name": raw.get("workerstaffname"),
        "seconds_worked": int(raw.get("timeworked") or 0),
        "seconds_billable": int(raw.get("timebillable") or 0),
        "work_time": epoch(raw.get("workdate")),
        "bill_time": epoch(raw.get("billdate")),
        "note": raw.get("contents", ""),
        "created_by_id": _id(raw.get("creatorstaffid"), "staff"),
        "raw": raw,
    }


def attachment_rows(post: Row) -> list[Row]:
    return [
        {
            "source_id": vendor_id(a.get("id")),
            "ticket_id": post["ticketid"],
            "note_id": f"post:{post['id']}",
            "filename": a.get("filename"),
            "size_bytes": int(a["filesize"]) if a.get("filesize") else None,
            "content_type": a.get("filetype"),
            "created_at": epoch(a.get("dateline")),
            "raw": a,
        }
        for a in post.get("attachments", [])
    ]


def staff_row(raw: Row) -> Row:
    return {
        "source_id": f"staff:{vendor_id(raw.get('id'))}",
        "kind": "staff",
        "name": raw.get("fullname"),
        "email": raw.get("email"),
        "organization": None,
        "is_active": raw.get("isenabled") == "1",
        "raw": raw,
    }


def user_row(raw: Row) -> Row:
    email = raw.get("email")
    return {
        "source_id": f"user:{vendor_id(raw.get('id'))}",
        "kind": "requester",
        "name": raw.get("fullname"),
        "email": email[0] if isinstance(email, list) else email,
        "organization": raw.get("userorganizationid") or None,
        "is_active": raw.get("isenabled") == "1",
        "raw": raw,
    }


def ticket_children(raw: Row) -> tuple[list[Row], list[Row]]:
    """Staff notes and time tracks carried by a ListAll or GET ticket element."""
    notes, tracks = [], []
    for note in raw.get("note", []):
        kind = note.get("type")
        if kind == "ticket":
            notes.append(note_row(note))
        elif kind == "timetrack":
            tracks.append(timetrack_row(note))
    return notes, tracks


# -- custom fields ---------------------------------------------------------------------------
# Kayako field types (SWIFT_CustomField::TYPE_*) -> value type. Checkbox and multi-select values
# come joined by ", " (a value's own commas escaped "\,"); a linked select as "parent &gt; child".
CUSTOM_KINDS = {
    "1": "text",  # text
    "2": "text",  # text area
    "3": "text",  # password
    "4": "multichoice",  # checkbox
    "5": "choice",  # radio
    "6": "choice",  # select
    "7": "multichoice",  # multi-select
    "8": "text",  # custom
    "9": "choice",  # linked select
    "10": "date",  # date, in the helpdesk's date format
}
TICKET_GROUP_TYPES = frozenset({"3", "4", "9"})  # staff, user, staff & user ticket creation
FILE_TYPE = "11"  # a file field's value is the whole file in Base64: not a field value


def custom_values(fields: list[dict[str, Any]], date_format: str) -> list[FieldValue]:
    """The set custom fields of one ticket (``/Tickets/TicketCustomField``), typed."""
    out = []
    for f in fields:
        raw, kind = (f.get("value") or "").strip(), CUSTOM_KINDS.get(str(f.get("type")))
        if not raw or kind is None:
            continue
        key = vendor_id(f.get("id"), "custom field id")
        out.append(
            field_value(
                key, kind, _custom(kind, raw, date_format), label=f.get("title"), field_id=key
            )
        )
    return out


def _custom(kind: str, raw: str, date_format: str) -> Any:
    if kind == "multichoice":
        return [v.replace("\\,", ",") for v in re.split(r"(?<!\\), ", raw)]
    if kind == "date":
        try:
            return datetime.strptime(raw, date_format).date()
        except ValueError:
            raise InvalidRecord(
                f"custom date {raw!r} does not match date_format {date_format!r}"
            ) from None
    return raw.replace(" &gt; ", " > ") if kind == "choice" else raw


def custom_specs(
    definitions: list[dict[str, Any]], options: dict[str, list[str]]
) -> list[FieldSpec]:
    """The ticket custom fields among ``/Base/CustomField``'s (file fields left out)."""
    return [
        FieldSpec(
            key=str(d["customfieldid"]),
            field_id=str(d["customfieldid"]),
            label=d.get("title"),
            type=CUSTOM_KINDS[str(d.get("fieldtype"))],
            writable=True,  # POST /Tickets/TicketCustomField/<id> sets every ticket group's field
            choices=options.get(str(d["customfieldid"])),
            source="GET /Base/CustomField, /Base/CustomField/ListOptions",
        )
        for d in definitions
        if str(d.get("grouptype")) in TICKET_GROUP_TYPES and str(d.get("fieldtype")) in CUSTOM_KINDS
    ]
