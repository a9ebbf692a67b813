"""Track-It! WebApi client: routes in, raw records out. No mapping here.

A raw record is ``{sequence: value}`` with integer sequences: the wire's
``{"<seq>": {"DisplayName", "Value"}}`` maps with the display names taken off. Ticket display
names are handed to :class:`~.catalog.DisplayNames` on the way, for writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import orjson

from deskbridge.sdk import (
    Costed,
    FatalError,
    HttpSession,
    PayloadError,
    VendorRejected,
    check_ids,
    excerpt,
    reject_html,
)

from .catalog import DisplayNames

VENDOR = "trackit"
Record = dict[int, Any]
NOTES_QUERY = {"maxContentLength": "-1", "SystemNote": "true"}
NO_ROUTE = "No HTTP resource was found"  # ASP.NET's answer to a path it has no route for


def parse_json(response: httpx.Response) -> Any:
    """The JSON body, or a PayloadError saying what arrived instead."""
    resource = response.request.url.path
    reject_html(response, VENDOR, resource)
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(
            f"malformed JSON ({exc}); body starts {excerpt(response, 80)!r}",
            vendor=VENDOR,
            resource=resource,
            status=response.status_code,
        ) from None


def seq_values(wire: Any, what: str) -> Record:
    """``{"<seq>": {"DisplayName", "Value"}}`` -> ``{seq: value}`` (missing keys mean null)."""
    if not isinstance(wire, dict):
        raise PayloadError(
            f"expected a {what} record, got {type(wire).__name__}", vendor=VENDOR, resource=what
        )
    try:
        return {int(seq): entry.get("Value") for seq, entry in wire.items()}
    except (ValueError, AttributeError):
        raise PayloadError(
            f"a {what} record is not keyed by field sequence", vendor=VENDOR, resource=what
        ) from None


def checked(records: list[Record], resource: str, ticket_id: int) -> list[Record]:
    """Records whose ids (field 1) are present, numeric and unique, inside the retry loop."""
    check_ids(records, _record_id, vendor=VENDOR, resource=f"{resource} of ticket {ticket_id}")  # type: ignore[arg-type]
    return records


def _record_id(record: Record) -> Any:
    return record.get(1)


def display_names(wire: dict[str, Any]) -> dict[int, str]:
    return {
        int(seq): entry["DisplayName"] for seq, entry in wire.items() if entry.get("DisplayName")
    }


def _member(body: Any, *keys: str) -> Any:
    """The first of ``keys`` present: the docs and servers disagree on root names (Ticket/Tickets)."""
    if isinstance(body, dict):
        for key in keys:
            if key in body:
                return body[key]
    raise PayloadError(f"expected one of {', '.join(keys)} in the response", vendor=VENDOR)


class TrackitClient(Costed):
    """Typed calls over one :class:`HttpSession`; reads return raw records."""

    def __init__(self, session: HttpSession, names: DisplayNames, module: int) -> None:
        self.session, self.names, self.module = session, names, module

    async def _get(
        self,
        path: str,
        resource: str,
        record_id: str | None,
        parse: Callable[[Any], Any],
        **kw: Any,
    ) -> Any:
        return await self.session.fetch(
            "GET",
            path,
            cost=self.cost,
            parse=lambda r: parse(parse_json(r)),
            resource=resource,
            record_id=record_id,
            **kw,
        )

    def _ticket(self, body: Any) -> Record:
        wire = _member(body, "Ticket", "Tickets")
        record = seq_values(wire, "ticket")
        self.names.learn(display_names(wire))
        return record

    async def ticket(self, ticket_id: int) -> Record | None:
        """One ticket, or ``None`` when the server has no such ticket (deleted, or never was)."""
        return await self.session.fetch(
            "GET",
            f"/tickets/{ticket_id}",
            cost=self.cost,
            parse=self._ticket_or_none,
            resource="tickets",
            record_id=str(ticket_id),
            allow=(404,),
        )

    def _ticket_or_none(self, response: httpx.Response) -> Record | None:
        if response.status_code != 404:
            return self._ticket(parse_json(response))
        message = (
            str(_member(parse_json(response), "Message"))
            if "json" in response.headers.get("content-type", "")
            else ""
        )
        if not message or message.startswith(NO_ROUTE):
            raise FatalError(
                f"no WebApi route at {response.request.url.path}; check base_url and api_path",
                vendor=VENDOR,
                resource="tickets",
                status=404,
            )
        return None

    async def notes(self, ticket_id: int) -> list[Record]:
        """Every note of a ticket, system notes included, with full text (page size 0 = all)."""
        return await self._get(
            f"/tickets/{ticket_id}/Notes/0/0",
            "notes",
            str(ticket_id),
            lambda body: checked(
                [seq_values(n, "note") for n in _member(body, "TicketNotes")], "notes", ticket_id
            ),
            params=NOTES_QUERY,
        )

    async def attachments(self, ticket_id: int) -> list[Record]:
        return await self._get(
            f"/tickets/{ticket_id}/Attachments/0/0",
            "attachments",
            str(ticket_id),
            lambda body: checked(
                [seq_values(a, "attachment") for a in _member(body, "TicketAttachments")],
                "attachments",
                ticket_id,
            ),
        )

    async def assignments(self, ticket_id: int) -> list[Record]:
        return await self._get(
            f"/tickets/{ticket_id}/Assignments/0/0",
            "assignments",
            str(ticket_id),
            lambda body: [seq_values(a, "assignment") for a in _member(body, "Assignments")],
        )

    async def refresh_names(self) -> int:
        """Learn every ticket field's current display name from ``/module/{seq}/fields``."""
        self.names.forget()
        names = await self._get(f"/module/{self.module}/fields", "fields", None, display_names)
        self.names.learn(names)
        return len(names)

    # -- writes: every one is a POST; the answer carries the ticket and any note written ------
    async def post(self, path: str, resource: str, body: Any, record_id: str | None = None) -> Any:
        return await self.session.fetch(
            "POST",
            path,
            json=body,
            cost=self.cost,
            parse=_write_answer,
            resource=resource,
            record_id=record_id,
            allow=(400,),
        )

    async def write_ticket(
        self, path: str, body: Any, record_id: str | None = None
    ) -> tuple[Record, Record | None]:
        """POST a ticket write; returns the ticket and the note it wrote, if any."""
        answer = await self.post(path, "tickets", body, record_id)
        note = next((answer[k] for k in ("TicketNote", "Note") if answer.get(k)), None)
        note_record = (
            seq_values(note[0] if isinstance(note, list) else note, "note") if note else None
        )
        return self._ticket(answer), note_record


def _write_answer(response: httpx.Response) -> Any:
    try:
        body = parse_json(response)
    except PayloadError as exc:  # not retried: the server may have applied the write
        reason = str(exc).split(": ", 1)[-1]
        raise FatalError(
            f"{reason}; the write may have been applied", vendor=VENDOR, status=exc.status
        ) from None
    if response.status_code == 400:
        message = body.get("Message") if isinstance(body, dict) else None
        raise VendorRejected(
            f"refused: {message or excerpt(response, 200)}", vendor=VENDOR, status=400
        )
    return body
