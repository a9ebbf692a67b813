"""M4 Workforce web API client: routes in, raw records (plain dicts) out. No mapping here.

Every route is ``<api_root>/Workforce/<Controller>/<Method>[/<ID>]``; reads are GETs, writes
POSTs with a JSON body, and DeleteTicketNote is a GET. Bodies carry no envelope: the object,
a JSON array, or ``{"Message": ...}``, which is also how M4 reports every failure.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar, cast

import httpx

from deskbridge.sdk import (
    AuthError,
    Costed,
    FatalError,
    HttpSession,
    NotFound,
    PayloadError,
    PermissionDenied,
    VendorRejected,
    check_ids,
    excerpt,
    reject_html,
)

from .clock import ServerClock

Record = dict[str, Any]
T = TypeVar("T")
NOT_FOUND = "Object Not Found"  # M4's 404 for a missing record (an unknown route differs)
# Statuses whose {"Message": ...} body we turn into a named error (the rest are retried).
REFUSALS: dict[int, type[FatalError]] = {
    400: VendorRejected,  # business-rule violation, with the rule text
    401: AuthError,  # "Not Authorized"
    403: PermissionDenied,  # "Not Licensed": the account's license lacks this controller
    404: NotFound,  # "Object Not Found", or an unknown route
    405: VendorRejected,
    415: VendorRejected,
}


def parse_json(response: httpx.Response, resource: str) -> Any:
    """The JSON body of a 200, or a PayloadError saying what arrived instead."""
    reject_html(response, "m4", resource)
    try:
        return json.loads(response.content)
    except ValueError as exc:
        raise PayloadError(
            f"malformed JSON ({exc}); body starts {excerpt(response, 80)!r}",
            vendor="m4",
            resource=resource,
            status=response.status_code,
        ) from None


def vendor_message(response: httpx.Response) -> str:
    """The ``Message`` of an M4 error body, or the start of whatever came instead."""
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("Message"), str):
        return str(body["Message"])
    return excerpt(response, 200) or response.reason_phrase


def refuse(response: httpx.Response, resource: str, record_id: str | None) -> FatalError:
    """The error M4's refusal stands for, carrying M4's own message."""
    status = response.status_code
    return REFUSALS[status](
        f"M4 refused the request: {vendor_message(response)}",
        vendor="m4",
        resource=resource,
        record_id=record_id,
        status=status,
    )


class M4Client(Costed):
    """Typed calls over one :class:`HttpSession`; every method returns raw records."""

    def __init__(
        self, session: HttpSession, clock: ServerClock, api_root: str = "/m4api/api"
    ) -> None:
        self.session, self.clock = session, clock
        self.root = api_root.rstrip("/") + "/Workforce"

    async def _call(
        self,
        method: str,
        route: str,
        resource: str,
        expect: Callable[[Any, str], T],
        *,
        record_id: str | None = None,
        body: Record | None = None,
    ) -> T:
        """One request whose body ``expect`` checks (inside the retry loop)."""
        found = await self._maybe(
            method, route, resource, expect, record_id=record_id, body=body, missing_ok=False
        )
        return cast(T, found)  # None only stands for a 404, which raised here

    async def _maybe(
        self,
        method: str,
        route: str,
        resource: str,
        expect: Callable[[Any, str], T],
        *,
        record_id: str | None = None,
        body: Record | None = None,
        missing_ok: bool = True,
    ) -> T | None:
        """Like :meth:`_call`, but "Object Not Found" gives ``None``."""

        def parse(response: httpx.Response) -> T | None:
            if missing_ok and response.status_code == 404 and vendor_message(response) == NOT_FOUND:
                return None
            if response.status_code in REFUSALS:
                raise refuse(response, resource, record_id)
            return expect(parse_json(response, resource), resource)

        return await self.session.fetch(
            method,
            f"{self.root}/{route}",
            json=body,
            cost=self.cost,
            parse=parse,
            resource=resource,
            record_id=record_id,
            allow=tuple(REFUSALS),
            idempotent=method == "GET" or "/Get" in route,  # searches by POST are reads
        )

    async def specification(self, controller: str) -> list[Any]:
        return await self._call("GET", f"{controller}/Specification", controller, _list)

    async def tickets(self) -> list[Record]:
        """GetTickets: every ticket, in one unpaged array."""
        return await self._call("GET", "Ticket/GetTickets", "tickets", records)

    async def ticket(self, ticket_id: str) -> Record | None:
        """GetTicket; ``None`` when M4 no longer has it."""
        return await self._maybe(
            "GET", f"Ticket/GetTicket/{ticket_id}", "tickets", record, record_id=ticket_id
        )

    async def notes_between(self, start: datetime | None, end: datetime | None) -> list[Record]:
        """GetTicketNotes: notes whose ``ts`` lies in [start, end]; a missing bound is open."""
        body = {
            "TicketID": None,
            "UserName": "",
            "NoteType": "",
            "StartDate": self.clock.format(start) if start else "",
            "EndDate": self.clock.format(end) if end else "",
        }
        return await self._call("POST", "TicketNote/GetTicketNotes", "notes", records, body=body)

    async def notes_of(self, ticket_id: str) -> list[Record] | None:
        """GetTicketNotesByTicket; ``None`` when the ticket no longer exists."""
        route = f"TicketNote/GetTicketNotesByTicket/{ticket_id}"
        return await self._maybe("GET", route, "notes", records_or_one, record_id=ticket_id)

    async def entries_of(self, ticket_id: str) -> list[Record] | None:
        """GetTimeEntriesByTicket; ``None`` when the ticket no longer exists."""
        route = f"TimeEntry/GetTimeEntriesByTicket/{ticket_id}"
        return await self._maybe("GET", route, "time_entries", records, record_id=ticket_id)

    async def add_note(self, body: Record) -> Record:
        return await self._call("POST", "TicketNote/AddTicketNote", "notes", record, body=body)

    async def update_note(self, body: Record) -> Record:
        route, note_id = "TicketNote/UpdateTicketNote", str(body["ID"])
        return await self._call("POST", route, "notes", record, record_id=note_id, body=body)

    async def delete_note(self, note_id: str) -> str:
        """DeleteTicketNote (a GET); returns M4's confirmation message."""
        route = f"TicketNote/DeleteTicketNote/{note_id}"
        return await self._call("GET", route, "notes", _message, record_id=note_id)


def _list(value: Any, resource: str) -> list[Any]:
    if not isinstance(value, list):
        got = type(value).__name__
        raise PayloadError(f"expected a JSON array, got {got}", vendor="m4", resource=resource)
    return value


def record(value: Any, resource: str) -> Record:
    """One M4 object: a JSON object with an ``ID``."""
    if not isinstance(value, dict) or "ID" not in value:
        raise PayloadError("expected a JSON object with an ID", vendor="m4", resource=resource)
    check_ids([value], "ID", vendor="m4", resource=resource)
    return value


def records(value: Any, resource: str) -> list[Record]:
    """An array of M4 objects, each with its own ID (checked inside the retry loop)."""
    found = [record(item, resource) for item in _list(value, resource)]
    check_ids(found, "ID", vendor="m4", resource=resource)
    return found


def records_or_one(value: Any, resource: str) -> list[Record]:
    """An array of M4 objects, or the one object GetTicketNotesByTicket's sample shows."""
    return [record(value, resource)] if isinstance(value, dict) else records(value, resource)


def _message(value: Any, resource: str) -> str:
    if not isinstance(value, dict) or not isinstance(value.get("Message"), str):
        raise PayloadError('expected {"Message": ...}', vendor="m4", resource=resource)
    return str(value["Message"])
