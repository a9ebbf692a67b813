"""WHMCS External API and Keliweb clients: actions in, raw records (plain dicts) out.

Every WHMCS call is a form POST to ``includes/api.php``; the answer is a JSON envelope with
``result`` (or, in a few actions, ``status``) ``success`` or ``error`` and a ``message``.
Error envelopes become errors carrying the vendor's message verbatim.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo
from functools import partial
from typing import Any, Protocol

import httpx

from deskbridge.sdk import (
    AuthError,
    Costed,
    HttpSession,
    NotFound,
    PayloadError,
    PermissionDenied,
    VendorRejected,
    check_ids,
    excerpt,
    reject_html,
)

from .mapping import Lookups, as_int, items

API_PATH = "/includes/api.php"
KELIWEB_PATH = "/api/v2/keliweb/"
TICKET_GONE = "ticket id not found"
Record = dict[str, Any]


def parse_body(response: httpx.Response, resource: str, record_id: str | None = None) -> Record:
    """The JSON object of a response, or a PayloadError saying what arrived instead."""
    where: dict[str, Any] = {"vendor": "whmcs", "resource": resource, "record_id": record_id}
    reject_html(response, "whmcs", resource)
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise PayloadError(
            f"malformed JSON ({exc}); body starts {excerpt(response, 80)!r}",
            status=response.status_code,
            **where,
        ) from None
    if not isinstance(body, dict):
        raise PayloadError(f"expected a JSON object, got {type(body).__name__}", **where)
    return body


def outcome(body: Record) -> str | None:
    """``result``, or ``status`` where an action says that instead (AddBillableItem)."""
    result = body.get("result")
    if result is None and body.get("status") in ("success", "error"):
        result = body["status"]
    return str(result).lower() if result is not None else None


def check(body: Record, where: dict[str, Any]) -> Record:
    """The body of a successful answer; an error envelope raises with the vendor's message."""
    result = outcome(body)
    if result == "error":
        message = str(body.get("message") or "result=error without a message")
        error = NotFound if message.lower().endswith("not found") else VendorRejected
        raise error(message, **where)
    if result != "success":
        raise PayloadError(f"no result in the answer: {json.dumps(body)[:120]}", **where)
    return body


def parse_envelope(response: httpx.Response, resource: str, record_id: str | None = None) -> Record:
    """Parse and check one answer; a 403 is a refused IP or refused credentials."""
    where = {"vendor": "whmcs", "resource": resource, "record_id": record_id}
    if response.status_code == 403:
        raise _refusal(response, where)
    return check(parse_body(response, resource, record_id), where)


def _refusal(response: httpx.Response, where: dict[str, Any]) -> AuthError | PermissionDenied:
    try:
        message = str(json.loads(response.content).get("message") or "")
    except (ValueError, AttributeError):
        message = ""
    message = message or excerpt(response, 200) or "403 Forbidden"
    # "Authentication Failed", "Invalid or missing credentials", "Administrator Account Disabled"
    if any(word in message.lower() for word in ("authentication", "credentials", "administrator")):
        hint = "authentication refused: check identifier/secret, or the admin username/password"
        return AuthError(f"{message} ({hint})", status=403, **where)
    return PermissionDenied(
        f"{message} (allow this IP in WHMCS or set an accesskey)", status=403, **where
    )


@dataclass(frozen=True)
class Page:
    """One GetTickets page: its tickets and the paging counters, coerced to integers."""

    tickets: list[Record]
    total: int
    start: int
    returned: int

    @property
    def last(self) -> bool:
        return self.returned == 0 or self.start + self.returned >= self.total


class TicketSource(Protocol):
    """What re-reading tickets needs of a flavour's client."""

    async def ticket(self, ticket_id: str) -> Record | None: ...

    async def lookups(self, tz: tzinfo) -> Lookups: ...


class WhmcsClient(Costed):
    """Typed WHMCS actions over one :class:`HttpSession`; every method returns raw records."""

    def __init__(self, session: HttpSession, path: str = API_PATH) -> None:
        self.session, self.path = session, path

    async def call(self, action: str, record_id: str | None = None, **params: Any) -> Record:
        data = {"responsetype": "json", **{k: str(v) for k, v in params.items() if v is not None}}
        return await self.session.fetch(
            "POST",
            self.path,
            params={"action": action},
            data=data,
            cost=self.cost,
            parse=partial(parse_envelope, resource=action, record_id=record_id),
            resource=action,
            record_id=record_id,
            allow=(403,),
            idempotent=action.lower().startswith(
                "get"
            ),  # every action is a POST; reads are safe to resend
        )

    async def tickets(self, start: int, num: int, status: str | None = None) -> Page:
        body = await self.call(
            "GetTickets",
            limitstart=start,
            limitnum=num,
            status=status,
            ignore_dept_assignments="true",
        )
        found = items(body.get("tickets"), "ticket")
        check_ids(found, "id", vendor="whmcs", resource=f"GetTickets from {start}")
        returned = as_int(body.get("numreturned", len(found)))
        return Page(
            found,
            as_int(body.get("totalresults")),
            as_int(body.get("startnumber", start)),
            returned,
        )

    async def ticket(self, ticket_id: str) -> Record | None:
        """One ticket with its replies and notes, or ``None`` when WHMCS no longer has it."""
        try:
            return checked_ticket(
                await self.call("GetTicket", ticket_id, ticketid=ticket_id), "GetTicket", ticket_id
            )
        except NotFound as exc:
            if TICKET_GONE in str(exc).lower():
                return None
            raise

    async def departments(self) -> list[Record]:
        body = await self.call("GetSupportDepartments", ignore_dept_assignments="true")
        found = items(body.get("departments"), "department")
        check_ids(found, "id", vendor="whmcs", resource="GetSupportDepartments")
        return found

    async def admins(self) -> list[Record]:
        body = await self.call("GetAdminUsers", include_disabled="1")
        found = items(body.get("admin_users"), "admin_user")
        check_ids(found, "id", vendor="whmcs", resource="GetAdminUsers")
        return found

    async def lookups(self, tz: tzinfo) -> Lookups:
        """Department names and admins, to map tickets read one by one."""
        departments, admins = await asyncio.gather(self.departments(), self.admins())
        return Lookups.from_records(departments, admins, tz)


class KeliwebClient(Costed):
    """Keliweb's reseller calls: WHMCS bodies passed through behind a Bearer token."""

    def __init__(self, session: HttpSession, path: str = KELIWEB_PATH) -> None:
        self.session, self.path = session, path

    async def call(self, action: str, record_id: str | None = None, **params: Any) -> Record:
        data = {k: str(v) for k, v in params.items() if v is not None}
        return await self.session.fetch(
            "POST",
            self.path + action,
            data=data,
            cost=self.cost,
            parse=partial(parse_envelope, resource=action, record_id=record_id),
            resource=action,
            record_id=record_id,
            allow=(403,),
            idempotent=action.startswith("get"),
        )

    async def ticket(self, ticket_id: str) -> Record | None:
        """One of the reseller's tickets, or ``None`` when it is gone or not the reseller's."""
        try:
            return checked_ticket(
                await self.call("get-ticket", ticket_id, ticketid=ticket_id),
                "get-ticket",
                ticket_id,
            )
        except NotFound as exc:
            if TICKET_GONE in str(exc).lower():
                return None
            raise

    async def lookups(self, tz: tzinfo) -> Lookups:
        """Keliweb has no department or admin lookups: ids stand for themselves."""
        return Lookups(tz=tz)


def checked_ticket(body: Record, action: str, ticket_id: str) -> Record:
    """A ticket whose own id, reply ids and note ids are all present, well-formed and unique."""
    where = f"{action} ticket {ticket_id}"
    check_ids([body], lambda t: t.get("ticketid", t.get("id")), vendor="whmcs", resource=where)
    check_ids(
        items(body.get("replies"), "reply"),
        "replyid",
        vendor="whmcs",
        resource=f"{where} replies",
        zero=True,
    )
    check_ids(items(body.get("notes"), "note"), _note_id, vendor="whmcs", resource=f"{where} notes")
    return body


def _note_id(note: Mapping[str, Any]) -> Any:
    return note.get("noteid", note.get("id"))  # GetTicket says noteid, GetTicketNotes id
