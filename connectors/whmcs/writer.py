"""WHMCS and Keliweb write operations: canonical payloads -> actions, vendor rules checked first.

AddTicketReply, AddTicketNote and Keliweb's add-ticket-reply answer without the new id, so the
writer re-reads the ticket and returns the newest reply or note carrying the text it sent.
"""

from __future__ import annotations

from typing import Any

from deskbridge.sdk import (
    NotFound,
    PayloadError,
    UnmappedValueError,
    Unsupported,
    ValueMap,
    VendorRejected,
    WriteContext,
    WriteOp,
    mappings,
)

from .client import KeliwebClient, Record, WhmcsClient
from .mapping import as_id, as_int, items

Payload = dict[str, Any]


def reject(message: str, resource: str | None = None) -> VendorRejected:
    return VendorRejected(message, vendor="whmcs", resource=resource)


def need_ticket(ticket_id: str | None) -> str:
    if not ticket_id:
        raise reject("this operation needs a ticket id")
    return ticket_id


def text(p: Payload, key: str, message: str) -> str:
    value = str(p.get(key) or "")
    if not value.strip():
        raise reject(message)
    return value


def vendor_value(values: ValueMap, value: str) -> str:
    """A vendor label as given, or the vendor label of a canonical value."""
    if value in values.forward:
        return value
    if value in set(values.forward.values()):
        return values.to_vendor(value)
    raise UnmappedValueError(values.name, value, sorted(values.forward))


def newest_id(raw: Record | None, kind: str, body: str) -> str:
    """``reply:<id>`` or ``note:<id>`` of the newest reply or note whose text is ``body``."""
    if raw is None:
        raise NotFound("Ticket ID Not Found", vendor="whmcs", resource="GetTicket")
    if kind == "reply":
        found = [(as_int(r.get("replyid")), r) for r in items(raw.get("replies"), "reply")]
    else:
        found = [(as_int(n.get("noteid", n.get("id"))), n) for n in items(raw.get("notes"), "note")]
    found = [(i, r) for i, r in found if i]
    same = [i for i, r in found if r.get("message") == body] or [i for i, _ in found]
    if not same:
        raise PayloadError(f"the ticket shows no {kind} after adding one", vendor="whmcs")
    return f"{kind}:{max(same)}"


class WhmcsWriter:
    """Writes through the External API; departments and admins are looked up once, on demand."""

    def __init__(self, client: WhmcsClient) -> None:
        self.client = client
        self._departments: dict[str, str] | None = None  # name -> id
        self._usernames: dict[str, str] | None = None  # admin id -> username

    async def write(
        self, op: WriteOp, ticket_id: str | None, p: Payload, ctx: WriteContext | None = None
    ) -> str | None:
        if op is WriteOp.CREATE_TICKET:
            return await self._create(p, ctx or WriteContext())
        ticket_id = need_ticket(ticket_id)
        if op is WriteOp.ADD_NOTE:
            return await self._add_note(ticket_id, p)
        if op is WriteOp.UPDATE_NOTE:
            return await self._update_note(ticket_id, p)
        if op is WriteOp.DELETE_NOTE:
            await self._delete_note(ticket_id, str(p.get("source_id") or ""))
            return None
        if op in (WriteOp.UPDATE_FIELDS, WriteOp.CHANGE_STATUS, WriteOp.CLOSE_TICKET):
            fields = {"status": "closed"} if op is WriteOp.CLOSE_TICKET else p
            await self.client.call(
                "UpdateTicket", ticket_id, ticketid=ticket_id, **await self._fields(fields)
            )
            return ticket_id
        if op is WriteOp.DELETE_TICKET:
            await self.client.call("DeleteTicket", ticket_id, ticketid=ticket_id)
            return None
        raise NotImplementedError(f"whmcs does not support {op}")

    async def _add_note(self, ticket_id: str, p: Payload) -> str:
        body = text(p, "body", "Message is required")
        if p.get("kind", "note") == "note":
            if p.get("visibility", "private") != "private":
                raise reject("WHMCS ticket notes are always private", "AddTicketNote")
            await self.client.call("AddTicketNote", ticket_id, ticketid=ticket_id, message=body)
            return newest_id(await self.client.ticket(ticket_id), "note", body)
        if p.get("visibility", "public") != "public":
            raise reject(
                "WHMCS replies are always public; add a note (kind 'note') instead",
                "AddTicketReply",
            )
        params = {"ticketid": ticket_id, "message": body, **await self._author(p)}
        if p.get("status"):
            params["status"] = vendor_value(mappings.load("whmcs").values("status"), p["status"])
        await self.client.call("AddTicketReply", ticket_id, **params)
        return newest_id(await self.client.ticket(ticket_id), "reply", body)

    async def _author(self, p: Payload) -> dict[str, str]:
        author = str(p.get("author_id") or "")
        kind, _, key = author.partition(":")
        if kind == "admin":
            usernames = await self._admin_usernames()
            if key not in usernames:
                raise UnmappedValueError(
                    "whmcs admin", author, [f"admin:{i}" for i in sorted(usernames, key=int)]
                )
            return {"adminusername": usernames[key]}
        if kind == "client" and as_int(key):
            return {"clientid": key}
        if kind == "guest" and key:
            return {"email": key, "name": text(p, "author_name", "a guest reply needs author_name")}
        raise reject(
            "a reply needs author_id 'admin:<id>', 'client:<id>' or 'guest:<e-mail>'",
            "AddTicketReply",
        )

    async def _update_note(self, ticket_id: str, p: Payload) -> str:
        source_id = str(p.get("source_id") or "")
        kind, _, key = source_id.partition(":")
        body = text(p, "body", "Message is Required")
        if kind == "reply":
            await self.client.call("UpdateTicketReply", ticket_id, replyid=key, message=body)
        elif kind == "message" and key == ticket_id:
            await self.client.call("UpdateTicket", ticket_id, ticketid=ticket_id, message=body)
        else:
            raise Unsupported(
                f"WHMCS edits replies and opening messages only, not {source_id!r}", vendor="whmcs"
            )
        return source_id

    async def _delete_note(self, ticket_id: str, source_id: str) -> None:
        kind, _, key = source_id.partition(":")
        if kind == "reply":
            await self.client.call("DeleteTicketReply", ticket_id, ticketid=ticket_id, replyid=key)
        elif kind == "note":
            await self.client.call("DeleteTicketNote", ticket_id, noteid=key)
        elif kind == "message":
            raise Unsupported(
                "WHMCS deletes the opening message only with its ticket", vendor="whmcs"
            )
        else:
            raise reject(
                f"unknown note source id {source_id!r}; expected 'reply:<id>' or 'note:<id>'"
            )

    async def _fields(self, p: Payload) -> dict[str, str]:
        """UpdateTicket parameters from canonical ticket fields."""
        vocab = mappings.load("whmcs")
        out: dict[str, str] = {}
        if "subject" in p:
            out["subject"] = text(p, "subject", "Subject is required")
        if p.get("status"):
            out["status"] = vendor_value(vocab.values("status"), p["status"])
        if p.get("priority"):
            out["priority"] = vendor_value(vocab.values("priority"), p["priority"])
        if p.get("department") or p.get("department_id"):
            out["deptid"] = await self._department(p)
        if "assignee_id" in p:
            out |= {"flag": _admin(p["assignee_id"])} if p["assignee_id"] else {"removeFlag": "1"}
        if p.get("requester_id"):
            out["userid"] = _client(p["requester_id"])
        if not out:
            raise reject(
                "nothing to update: give subject, status, priority, department, assignee_id or requester_id"
            )
        return out

    async def _create(self, p: Payload, ctx: WriteContext) -> str:
        """OpenTicket (its ``message`` carries the marker), then UpdateTicket for what it cannot set."""
        later = {k: p[k] for k in ("status", "assignee_id") if p.get(k)}
        fields = await self._fields(later) if later else {}
        ticket_id = ctx.resume or await self._open(p)
        if not ctx.resume:
            await ctx.created(ticket_id)
        if fields:  # setting a field twice is harmless, so a resumed create sends it again
            await self.client.call("UpdateTicket", ticket_id, ticketid=ticket_id, **fields)
        return ticket_id

    async def _open(self, p: Payload) -> str:
        params = {
            "deptid": await self._department(p),
            "subject": text(p, "subject", "Subject is required"),
            "message": text(p, "body", "Message is required"),
            **_opener(p),
        }
        if p.get("priority"):
            params["priority"] = vendor_value(
                mappings.load("whmcs").values("priority"), p["priority"]
            )
        created = await self.client.call("OpenTicket", **params)
        return as_id(created.get("id"))

    async def _department(self, p: Payload) -> str:
        if p.get("department_id"):
            return str(p["department_id"])
        if not p.get("department"):
            raise reject(
                "a new ticket needs a department (department or department_id)", "OpenTicket"
            )
        if self._departments is None:
            self._departments = {
                d.get("name", ""): as_id(d.get("id")) for d in await self.client.departments()
            }
        if p["department"] not in self._departments:
            raise UnmappedValueError("whmcs department", p["department"], sorted(self._departments))
        return self._departments[p["department"]]

    async def _admin_usernames(self) -> dict[str, str]:
        if self._usernames is None:
            self._usernames = {
                as_id(a.get("id")): str(a.get("username", "")) for a in await self.client.admins()
            }
        return self._usernames


def _admin(person: str) -> str:
    kind, _, key = str(person).partition(":")
    if kind != "admin" or not as_int(key):
        raise reject(
            f"tickets are flagged to admins ('admin:<id>'), not {person!r}", "UpdateTicket"
        )
    return key


def _client(person: str) -> str:
    kind, _, key = str(person).partition(":")
    if kind != "client" or not as_int(key):
        raise reject(
            f"a ticket's owner must be a client ('client:<id>'), not {person!r}", "UpdateTicket"
        )
    return key


def _opener(p: Payload) -> dict[str, str]:
    requester = str(p.get("requester_id") or "")
    if requester.startswith("client:"):
        return {"clientid": _client(requester)}
    email = p.get("requester_email") or requester.removeprefix("guest:")
    if not (email and p.get("requester_name")):
        raise reject("Name and email address are required if not a client", "OpenTicket")
    return {"name": str(p["requester_name"]), "email": str(email)}


class KeliwebWriter:
    """Keliweb offers two writes: open-ticket and add-ticket-reply, both as the reseller."""

    def __init__(self, client: KeliwebClient) -> None:
        self.client = client

    async def write(
        self, op: WriteOp, ticket_id: str | None, p: Payload, ctx: WriteContext | None = None
    ) -> str | None:
        if op is WriteOp.CREATE_TICKET:
            if ctx is not None and ctx.resume:
                return ctx.resume  # open-ticket is the whole create
            params = {
                "deptid": text(
                    p, "department_id", "Keliweb needs department_id (it has no department lookup)"
                ),
                "subject": text(p, "subject", "Subject is required"),
                "message": text(p, "body", "Message is required"),
            }
            if p.get("priority"):
                params["priority"] = vendor_value(
                    mappings.load("whmcs").values("priority"), p["priority"]
                )
            created = await self.client.call("open-ticket", **params)
            return as_id(created.get("id")) or None  # Keliweb documents only "result"
        if (
            op is WriteOp.ADD_NOTE
            and p.get("kind") == "reply"
            and p.get("visibility", "public") == "public"
        ):
            ticket_id = need_ticket(ticket_id)
            body = text(p, "body", "Message is required")
            await self.client.call("add-ticket-reply", ticket_id, ticketid=ticket_id, message=body)
            return newest_id(await self.client.ticket(ticket_id), "reply", body)
        raise NotImplementedError(
            f"whmcs with flavor 'keliweb' supports open-ticket and public replies only, not {op}"
        )
