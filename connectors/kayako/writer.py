"""Kayako write operations: canonical payloads -> form posts, with the vendor's rules checked first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from deskbridge.sdk import VendorRejected, WriteContext, WriteOp

from .client import KayakoClient
from .mapping import Lookups

DEFAULT_REQUESTER = ("deskbridge", "deskbridge@example.invalid")


class KayakoWriter:
    """Performs writes; learns the helpdesk's status, priority and department ids on first use."""

    def __init__(self, client: KayakoClient) -> None:
        self.client = client
        self._lookups: Lookups | None = None

    async def lookups(self) -> Lookups:
        if self._lookups is None:
            routes = (
                "/Base/Department",
                "/Tickets/TicketStatus",
                "/Tickets/TicketPriority",
                "/Tickets/TicketType",
            )
            self._lookups = Lookups.from_records(*[await self.client.lookup(r) for r in routes])
        return self._lookups

    async def write(
        self, op: WriteOp, ticket_id: str | None, p: dict[str, Any], ctx: WriteContext | None = None
    ) -> str | None:
        """Perform one write; returns the created record's canonical source id.

        Every create is one request whose ``contents`` carries the recovery marker.
        """
        if op is WriteOp.ADD_NOTE:
            return await _add_note(self.client, _need(ticket_id), p)
        if op is WriteOp.DELETE_NOTE:
            kind, _, note_id = str(p["source_id"]).partition(":")
            await self.client.delete(
                "TicketPost" if kind == "post" else "TicketNote", _need(ticket_id), note_id
            )
            return None
        if op is WriteOp.ADD_TIME_ENTRY:
            created = await self.client.create("TicketTimeTrack", _time_track(_need(ticket_id), p))
            return str(created["id"])
        if op is WriteOp.DELETE_TIME_ENTRY:
            await self.client.delete("TicketTimeTrack", _need(ticket_id), str(p["source_id"]))
            return None
        if op in (WriteOp.UPDATE_FIELDS, WriteOp.CHANGE_STATUS, WriteOp.CLOSE_TICKET):
            await self.client.update_ticket(_need(ticket_id), await self._ticket_fields(p, op))
            return ticket_id
        if op is WriteOp.CREATE_TICKET:
            if ctx is not None and ctx.resume:
                return ctx.resume  # one request, so nothing follows it
            created = await self.client.create("Ticket", await self._new_ticket(p))
            return str(created["id"])
        if op is WriteOp.DELETE_TICKET:
            await self.client.delete("Ticket", _need(ticket_id))
            return None
        raise NotImplementedError(f"kayako does not support {op}")

    async def _ticket_fields(self, p: dict[str, Any], op: WriteOp) -> dict[str, Any]:
        lookups = await self.lookups()
        data: dict[str, Any] = {}
        if op is WriteOp.CLOSE_TICKET:
            p = {
                **p,
                "status": p.get("status") or _first(lookups.statuses, lookups.resolved_statuses),
            }
        for key, vendor, table in (
            ("status", "ticketstatusid", lookups.statuses),
            ("priority", "ticketpriorityid", lookups.priorities),
            ("department", "departmentid", lookups.departments),
            ("type", "tickettypeid", lookups.types),
        ):
            if p.get(key) is not None:
                data[vendor] = _id_of(table, p[key], key)
        if p.get("subject") is not None:
            data["subject"] = p["subject"]
        if "assignee_id" in p:
            data["ownerstaffid"] = (p["assignee_id"] or "staff:0").removeprefix("staff:")
        return data

    async def _new_ticket(self, p: dict[str, Any]) -> dict[str, Any]:
        lookups = await self.lookups()
        name, email = (
            p.get("requester_name") or DEFAULT_REQUESTER[0],
            p.get("requester_email") or DEFAULT_REQUESTER[1],
        )
        data = {
            "subject": p.get("subject") or "(no subject)",
            "fullname": name,
            "email": email,
            "contents": p.get("body") or p.get("subject") or "(no description)",
            "departmentid": _first(lookups.departments),
            "ticketstatusid": _first(lookups.statuses, exclude=lookups.resolved_statuses),
            "ticketpriorityid": _first(lookups.priorities),
            "tickettypeid": _first(lookups.types),
            **await self._ticket_fields(
                {
                    k: p.get(k)
                    for k in ("status", "priority", "department", "type", "assignee_id")
                    if p.get(k) is not None
                },
                WriteOp.UPDATE_FIELDS,
            ),
        }
        requester = p.get("requester_id") or ""
        if requester.startswith("user:"):
            data["userid"] = requester.removeprefix("user:")
        else:  # Kayako finds or creates the user by e-mail
            data["autouserid"] = "1"
        return data


def _id_of(table: dict[str, str], label: str, what: str) -> str:
    if label in table:
        return label
    for key, title in table.items():
        if title == label:
            return key
    from deskbridge.sdk import UnmappedValueError

    raise UnmappedValueError(f"kayako {what}", label, sorted(table.values()))


def _first(table: dict[str, str], exclude: frozenset[str] | set[str] = frozenset()) -> str:
    return next(k for k in table if k not in exclude)


def _staff(person: str | None, what: str) -> str:
    if not person or not person.startswith("staff:"):
        raise VendorRejected(
            f"{what} needs a staff author (people id 'staff:<id>'), got {person!r}", vendor="kayako"
        )
    return person.removeprefix("staff:")


def _epoch(value: datetime | int | None) -> int:
    if value is None:
        raise VendorRejected("No work timeline specified", vendor="kayako", resource="timetracks")
    return int(value.timestamp()) if isinstance(value, datetime) else int(value)


def _need(ticket_id: str | None) -> str:
    if not ticket_id:
        raise VendorRejected("this operation needs a ticket id", vendor="kayako")
    return ticket_id


async def _add_note(client: KayakoClient, ticket_id: str, p: dict[str, Any]) -> str:
    body = p.get("body") or ""
    if not body.strip():
        raise VendorRejected("No contents specified", vendor="kayako", resource="notes")
    if p.get("kind", "note") == "note":
        data = {
            "ticketid": ticket_id,
            "contents": body,
            "staffid": _staff(p.get("author_id"), "a staff note"),
        }
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
