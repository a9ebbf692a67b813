"""Omnidesk API v2 client: routes in, raw records (plain dicts) out. No mapping here.

Every answer is JSON: ``{"type": "list" | "item" | "result", …}`` on success and
``{"status": "error", "message": …}`` with a 4xx status on failure, which becomes the
:mod:`deskbridge.sdk.errors` class that says what to do about it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypedDict

import httpx
import orjson

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

TICKETS = "/api/v2/ticket"
MESSAGES = "/api/v2/message"
ERROR_STATUSES = (400, 401, 403, 404)
Record = dict[str, Any]
_ERRORS: dict[int, type[FatalError]] = {
    400: VendorRejected,
    401: AuthError,
    403: PermissionDenied,
    404: NotFound,
}


@dataclass(frozen=True)
class Listing:
    """One page of GET index and the total the vendor reports for the whole list."""

    tickets: list[Record]
    total: int | None


class _Where(TypedDict):
    """Where a vendor error happened, as its errors' keyword arguments."""

    vendor: str
    resource: str
    record_id: str | None
    status: int


def parser(
    kind: str, resource: str, record_id: str | None = None
) -> Callable[[httpx.Response], Any]:
    """Parse a JSON answer and unwrap its envelope (``list``: a :class:`Listing`); an error
    envelope raises the matching error with the vendor's message. Runs inside the retry loop,
    so a garbled body is retried."""

    def parse(response: httpx.Response) -> Any:
        where: _Where = {
            "vendor": "omnidesk",
            "resource": resource,
            "record_id": record_id,
            "status": response.status_code,
        }
        if response.status_code in ERROR_STATUSES:
            raise _ERRORS[response.status_code](_error_message(response), **where)
        reject_html(response, "omnidesk", resource)
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise PayloadError(
                f"malformed JSON ({exc}); body starts {excerpt(response, 60)!r}", **where
            ) from None
        return _UNWRAP[kind](body, resource)

    return parse


def _error_message(response: httpx.Response) -> str:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    return excerpt(response, 200) or response.reason_phrase


def _listing(body: Any, resource: str) -> Listing:
    """A list under ``list`` or ``items``, or a bare array of tickets."""
    found = body.get("list", body.get("items")) if isinstance(body, dict) else body
    if not isinstance(found, list) or not all(isinstance(t, dict) for t in found):
        raise _unexpected("list", body, resource)
    total = body.get("total") if isinstance(body, dict) else None
    return Listing(found, int(str(total)) if str(total).isdigit() else None)


def _item(body: Any, resource: str) -> Record:
    found = body.get("item") if isinstance(body, dict) else None
    if not isinstance(found, dict):
        raise _unexpected("item", body, resource)
    return found


def _result(body: Any, resource: str) -> Record:
    if not isinstance(body, dict) or body.get("type") != "result":
        raise _unexpected("result", body, resource)
    return body


def _unexpected(kind: str, body: Any, resource: str) -> PayloadError:
    shape = list(body)[:5] if isinstance(body, dict) else type(body).__name__
    return PayloadError(
        f"expected a {kind} envelope, got {shape}", vendor="omnidesk", resource=resource
    )


def checked(
    parse: Callable[[httpx.Response], Any], resource: str
) -> Callable[[httpx.Response], Any]:
    """``parse``, then the ids of what it found checked (inside the retry loop): tickets of a
    listing, or an item's own id and its timeline's messages and notes, each present and once."""

    def run(response: httpx.Response) -> Any:
        found = parse(response)
        if isinstance(found, Listing):
            check_ids(found.tickets, "id", vendor="omnidesk", resource=resource)
        elif isinstance(found, dict):
            check_ids([found], "id", vendor="omnidesk", resource=resource)
            timeline = found.get("timeline") or ()
            entries = [
                e
                for e in timeline
                if isinstance(e, dict) and e.get("type") != "event" and "content" in e
            ]
            for kind in ("note", "message"):
                same = [e for e in entries if (e.get("type") == "note") == (kind == "note")]
                check_ids(same, "id", vendor="omnidesk", resource=f"{resource} timeline {kind}s")
        return found

    return run


_UNWRAP: dict[str, Callable[[Any, str], Any]] = {"list": _listing, "item": _item, "result": _result}


class OmnideskClient(Costed):
    """Typed calls over HTTP sessions; every method returns raw records.

    ``session`` carries reads and repeatable writes; ``once`` carries the writes that create
    something (a ticket, a message), which are not retried so a lost answer cannot double them.
    """

    def __init__(self, session: HttpSession, once: HttpSession | None = None) -> None:
        self.session, self.once = session, once or session

    async def list_tickets(self, start: int, limit: int) -> Listing:
        """One page of every ticket, archived ones included, newest ``last_update`` first."""
        params = {"itemStart": start, "itemLimit": limit, "searchArchived": "yes"}
        return await self.session.fetch(
            "GET",
            TICKETS,
            params=params,
            cost=self.cost,
            parse=checked(parser("list", "tickets"), f"tickets from {start}"),
            resource="tickets",
            allow=ERROR_STATUSES,
        )

    async def ticket(self, ticket_id: str) -> Record | None:
        """One ticket with its timeline of messages and notes; ``None`` when it is gone."""
        parse = checked(parser("item", "tickets", ticket_id), f"ticket {ticket_id}")

        def found(response: httpx.Response) -> Record | None:
            return None if response.status_code == 404 else parse(response)

        return await self.session.fetch(
            "GET",
            f"{TICKETS}/{ticket_id}",
            cost=self.cost,
            parse=found,
            resource="tickets",
            record_id=ticket_id,
            allow=ERROR_STATUSES,
        )

    async def _call(
        self,
        method: str,
        path: str,
        resource: str,
        kind: str,
        *,
        once: bool = False,
        record_id: str | None = None,
        **kwargs: Any,
    ) -> Any:
        session = self.once if once else self.session
        return await session.fetch(
            method,
            path,
            cost=self.cost,
            parse=parser(kind, resource, record_id),
            resource=resource,
            record_id=record_id,
            allow=ERROR_STATUSES,
            **kwargs,
        )

    async def create_ticket(self, fields: dict[str, str]) -> Record:
        """POST index: an empty ticket; content is added with :meth:`post_message`."""
        return await self._call("POST", TICKETS, "tickets", "item", once=True, data=fields)

    async def update_ticket(self, ticket_id: str, fields: dict[str, str]) -> None:
        """PUT item: ``title``, ``status`` (solved or closed only), ``externalPrimaryID``."""
        await self._call(
            "PUT", f"{TICKETS}/{ticket_id}", "tickets", "result", record_id=ticket_id, data=fields
        )

    async def set_status(self, ticket_ids: Iterable[str], status: str) -> None:
        data = {"status": status, "ticketIDs[]": list(ticket_ids)}
        await self._call("POST", f"{TICKETS}/setStatus", "tickets", "result", data=data)

    async def set_priority(self, ticket_ids: Iterable[str], priority: str) -> None:
        data = {"priority": priority, "ticketIDs[]": list(ticket_ids)}
        await self._call("POST", f"{TICKETS}/setPriority", "tickets", "result", data=data)

    async def batch(self, ticket_ids: Iterable[str], actions: list[tuple[str, str]]) -> None:
        """POST batch: every action applied to every ticket."""
        data = {"TicketIDs": ",".join(ticket_ids)}
        for i, (kind, value) in enumerate(actions):
            data[f"actions[{i}][actionType]"], data[f"actions[{i}][value]"] = kind, value
        await self._call("POST", f"{TICKETS}/batch", "tickets", "result", data=data)

    async def delete_ticket(self, ticket_id: str) -> None:
        await self._call(
            "DELETE", f"{TICKETS}/{ticket_id}", "tickets", "result", record_id=ticket_id
        )

    async def delete_tickets(self, ticket_ids: Iterable[str]) -> None:
        data = {"ticketIDs[]": list(ticket_ids)}
        await self._call("DELETE", f"{TICKETS}/multi", "tickets", "result", data=data)

    async def post_message(self, fields: dict[str, str]) -> Record:
        """POST message (multipart): a reply on a channel, or with ``type=0`` a note."""
        parts = {name: (None, value) for name, value in fields.items()}
        return await self._call("POST", MESSAGES, "messages", "item", once=True, files=parts)
