"""Kayako write operations: canonical payloads -> form posts, with the vendor's rules checked first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from deskbridge.contract import WriteOp
from deskbridge.errors import VendorRejected

from .client import KayakoClient


def _staff(person: str | None, what: str) -> str:
    if not person or not person.startswith("staff:"):
        raise VendorRejected(f"{what} needs a staff author (people id 'staff:<id>'), got {person!r}", vendor="kayako")
    return person.removeprefix("staff:")


def _epoch(value: datetime | int | None) -> int:
    if value is None:
        raise VendorRejected("work and bill times are required", vendor="kayako")
    return int(value.timestamp()) if isinstance(value, datetime) else int(value)


async def write(client: KayakoClient, op: WriteOp, ticket_id: str | None, p: dict[str, Any]) -> str | None:
    """Perform one write; returns the created record's canonical source id."""
    if op is WriteOp.ADD_NOTE:
        return await _add_note(client, _need(ticket_id), p)
    if op is WriteOp.DELETE_NOTE:
        kind, _, note_id = str(p["source_id"]).partition(":")
        await client.delete("TicketPost" if kind == "post" else "TicketNote", _need(ticket_id), note_id)
        return None
    if op is WriteOp.ADD_TIME_ENTRY:
        created = await client.create("TicketTimeTrack", _time_track(_need(ticket_id), p))
        return str(created["id"])
    if op is WriteOp.DELETE_TIME_ENTRY:
        await client.delete("TicketTimeTrack", _need(ticket_id), str(p["source_id"]))
        return None
    if op in (WriteOp.UPDATE_FIELDS, WriteOp.CHANGE_STATUS):
        await client.update_ticket(_need(ticket_id), _ticket_fields(p))
        return ticket_id
    if op is WriteOp.CREATE_TICKET:
        created = await client.create("Ticket", {**_ticket_fields(p), **_creator(p)})
        return str(created["id"])
    if op is WriteOp.DELETE_TICKET:
        await client.delete("Ticket", _need(ticket_id))
        return None
    raise NotImplementedError(f"kayako does not support {op}")


def _need(ticket_id: str | None) -> str:
    if not ticket_id:
        raise VendorRejected("this operation needs a ticket id", vendor="kayako")
    return ticket_id


async def _add_note(client: KayakoClient, ticket_id: str, p: dict[str, Any]) -> str:
    body = p.get("body") or ""
    if not body.strip():
        raise VendorRejected("No contents specified", vendor="kayako", resource="notes")
    if p.get("kind", "note") == "note":
        data = {"ticketid": ticket_id, "contents": body, "staffid": _staff(p.get("author_id"), "a staff note")}
        created = await client.create("TicketNote", data)
        return f"note:{created['id']}"
    data = {"ticketid": ticket_id, "contents": body}
    author = p.get("author_id") or ""
    if author.startswith("staff:"):
        data["staffid"] = author.removeprefix("staff:")
        data["isprivate"] = "1" if p.get("visibility") == "private" else "0"
    elif author.startswith("user:"):
        data["userid"] = author.removeprefix("user:")
    else:
        raise VendorRejected("Staff ID and User ID is empty", vendor="kayako", resource="posts")
    created = await client.create("TicketPost", data)
    return f"post:{created['id']}"


def _time_track(ticket_id: str, p: dict[str, Any]) -> dict[str, Any]:
    creator = _staff(p.get("created_by_id") or p.get("worker_id"), "a time entry")
    data = {
        "ticketid": ticket_id,
        "contents": p.get("note") or "",
        "staffid": creator,
        "worktimeline": _epoch(p.get("work_time")),
        "billtimeline": _epoch(p.get("bill_time") or p.get("work_time")),
        "timespent": int(p.get("seconds_worked") or 0),
        "timebillable": int(p.get("seconds_billable") or 0),
    }
    if p.get("worker_id"):
        data["workerstaffid"] = _staff(p["worker_id"], "a time entry's worker")
    if not data["contents"]:
        raise VendorRejected("No contents specified", vendor="kayako", resource="timetracks")
    return data


_TICKET_FIELDS = {
    "subject": "subject",
    "department_id": "departmentid",
    "status_id": "ticketstatusid",
    "priority_id": "ticketpriorityid",
    "type_id": "tickettypeid",
}


def _ticket_fields(p: dict[str, Any]) -> dict[str, Any]:
    data = {vendor: p[key] for key, vendor in _TICKET_FIELDS.items() if p.get(key) is not None}
    if "assignee_id" in p:
        data["ownerstaffid"] = (p["assignee_id"] or "staff:0").removeprefix("staff:")
    return data


def _creator(p: dict[str, Any]) -> dict[str, Any]:
    data = {"fullname": p.get("requester_name", ""), "email": p.get("requester_email", ""), "contents": p.get("body", "")}
    requester = p.get("requester_id") or ""
    if requester.startswith("user:"):
        data["userid"] = requester.removeprefix("user:")
    else:
        data["autouserid"] = "1"
    return data
