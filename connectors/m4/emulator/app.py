"""Mapcom M4 Workforce web API emulator (``/m4api/api/Workforce/<Controller>/<Method>[/<ID>]``).

Every call carries HTTP Basic credentials. Reads are GETs, writes POSTs with a JSON body
(DeleteTicketNote is a GET); routes are case-insensitive, as in ASP.NET. Bodies have no
envelope: the object, a JSON array, or ``{"Message": ...}``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from deskbridge.sdk import Emulator, Knobs

from . import wire
from .seed import Agents, build
from .store import M4Data, Note, in_window, now_ticks, stored
from .wire import (
    RULES,
    Failure,
    Reply,
    RuleViolation,
    bool_field,
    int_field,
    note_type_field,
    required_int,
    same_text,
    text_field,
    ts_field,
)

BASE = "/m4api/api/workforce/"
CONTROLLERS = ("TicketNote", "Ticket", "TimeEntry", "TicketClearCode")
USERNAME = "m4integration"
Handler = Callable[[Request, int | None], Awaitable[str]]


class M4Emulator(Emulator):
    """M4 Workforce web API over a seeded field-service database.

    ``licenses`` names the licensed controllers (default: all of ``CONTROLLERS``); calls to
    the others answer "Not Licensed".
    """

    vendor = "m4"

    def __init__(
        self,
        *,
        seed: int = 7,
        tickets: int = 300,
        knobs: Knobs | None = None,
        licenses: Iterable[str] | None = None,
    ) -> None:
        super().__init__(seed=seed, knobs=knobs)
        self.data, writer = build(seed, tickets, self.rng)
        self.agents = Agents(writer)
        self.licenses = {c.lower() for c in (CONTROLLERS if licenses is None else licenses)}
        self.password = "M4-" + hashlib.sha256(f"m4:{seed}".encode()).hexdigest()[:16]
        self.api = _Api(self.data)

    def vendor_app(self) -> ASGIApp:
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            response = await self.handle(Request(scope, receive))
            await response(scope, receive, send)

        return app

    def credentials(self) -> dict[str, str]:
        return {"username": USERNAME, "password": self.password}

    def ground_truth(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Live data in canonical terms.

        * tickets: ``"<ID>"``; subject None (an M4 Ticket has no subject); status and
          priority are ``str(TicketState)`` and ``str(Priority)``, the bare integers M4 shows.
        * notes: ``"<TicketNote ID>"``; kind "note" for both types, visibility "public" for
          NOTE and "private" for LOG; body is ``Note``.
        * time_entries: ``"<TimeEntry ID>"``; seconds_worked ``Minutes * 60``; seconds_billable
          None (a TimeEntry carries no billable time; ``Capital`` is an accounting flag).
        * people, derived from the ``GetTickets`` snapshot (M4 has no people endpoint):
          ``"customer:<CustomerID>"`` (requester; name and email None) for each ticket's
          customer, and ``"user:<name>"`` (staff; name the user name, email None) for each
          non-empty CreatedBy, ModifiedBy and ChangedBy.
        """
        return self.data.ground_truth()

    def mutate(self, n: int = 10) -> list[str]:
        return self.agents.run(n)

    # -- request handling ---------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        """Authenticate, route, license-check and run one request."""
        try:
            self._authenticate(request.headers.get("authorization", ""))
            handler, ident = self._route(request)
            return _json(200, await handler(request, ident))
        except Failure as exc:
            return _failure(str(exc))
        except RuleViolation as exc:
            return _json(400, wire.message(str(exc)))
        except Reply as exc:
            return _json(exc.status, exc.body)

    def _authenticate(self, header: str) -> None:
        scheme, _, token = header.partition(" ")
        try:
            pair = base64.b64decode(token.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise Failure(wire.NOT_AUTHORIZED) from None
        user, sep, password = pair.partition(":")
        # not documented: emulator choice (user names compare case-insensitively, as Windows
        # and SQL Server logins do; passwords exactly)
        known = user.lower() == USERNAME and password == self.password
        if scheme.lower() != "basic" or not sep or not known:
            raise Failure(wire.NOT_AUTHORIZED)

    def _route(self, request: Request) -> tuple[Handler, int | None]:
        path = request.url.path.lower().rstrip("/")
        parts = path[len(BASE) :].split("/") if path.startswith(BASE) else []
        key = (parts[0], parts[1], len(parts) == 3) if len(parts) in (2, 3) else None
        verbs = self.api.routes.get(key) if key is not None else None
        if verbs is None:
            raise Reply(404, wire.no_route(str(request.url)))
        if parts[0] not in self.licenses:
            raise Failure(wire.NOT_LICENSED)
        if request.method not in verbs:
            raise Reply(405, wire.bad_verb(request.method))
        return verbs[request.method], _ident(parts[2]) if len(parts) == 3 else None


def _ident(segment: str) -> int:
    try:
        return int(segment)
    except ValueError:
        raise Failure(wire.INVALID_REQUEST) from None


async def _body(request: Request) -> dict[str, Any]:
    return wire.decode_body(await request.body(), request.headers.get("content-type"))


def _ticket_and_text(body: dict[str, Any]) -> tuple[int, str]:
    """The required TicketID and Note of a body, in the order they are checked."""
    ticket_id, text = required_int(body, "TicketID", "ticket_required"), text_field(body, "Note")
    if not text:
        raise RuleViolation(RULES["note_required"])
    return ticket_id, text


def _ts_order(note: Note) -> tuple[int, int]:
    return note.ts, note.id


def _json(status: int, body: str) -> Response:
    return Response(body.encode(), status, media_type="application/json; charset=utf-8")


def _failure(text: str) -> Response:
    response = _json(wire.STATUS_OF[text], wire.message(text))
    if text == wire.NOT_AUTHORIZED:
        response.headers["WWW-Authenticate"] = "Basic"
    return response


class _Api:
    """The controllers' methods: each takes the request and the path ID, returns a body."""

    def __init__(self, data: M4Data) -> None:
        self.data = data
        spec = {c.lower(): self._spec(c) for c in CONTROLLERS}
        self.routes: dict[tuple[str, str, bool], dict[str, Handler]] = {
            **{(c, "specification", False): {"GET": h} for c, h in spec.items()},
            ("ticketnote", "addticketnote", False): {"POST": self.add_note},
            ("ticketnote", "getticketnote", True): {"GET": self.get_note},
            ("ticketnote", "getticketnote", False): {"POST": self.find_note},
            ("ticketnote", "getticketnotesbyticket", True): {"GET": self.notes_by_ticket},
            ("ticketnote", "getticketnotes", False): {"POST": self.search_notes},
            ("ticketnote", "updateticketnote", False): {"POST": self.update_note},
            ("ticketnote", "deleteticketnote", True): {"GET": self.delete_note},
            ("ticket", "getticket", True): {"GET": self.get_ticket},
            ("ticket", "gettickets", False): {"GET": self.all_tickets},
            ("ticket", "getticketsbycustomer", True): {"GET": self.tickets_by_customer},
            ("timeentry", "gettimeentriesbyticket", True): {"GET": self.entries_by_ticket},
            ("ticketclearcode", "getticketclearcode", True): {"GET": self.clear_code},
            ("ticketclearcode", "getticketclearcodes", False): {"GET": self.clear_codes},
            ("ticketclearcode", "getticketclearcodesbyappointment", True): {
                "GET": self.appointment_codes
            },
        }

    @staticmethod
    def _spec(controller: str) -> Handler:
        async def spec(_: Request, __: int | None) -> str:
            return wire.SPECIFICATIONS[controller]

        return spec

    # -- TicketNote -------------------------------------------------------------------
    async def add_note(self, request: Request, _: int | None) -> str:
        body = await _body(request)
        ticket_id, text = _ticket_and_text(body)
        note_type = note_type_field(body) or "NOTE"
        self._existing_ticket(ticket_id)
        ts = ts_field(body, "ts")
        given = now_ticks() if ts is None else ts
        subject, user = text_field(body, "Subject"), text_field(body, "UserName")
        cleared = bool(bool_field(body, "IsClearedNote"))
        note = Note(0, ticket_id, note_type, text, subject, user, stored(given), cleared)
        return wire.note_json(self.data.add_note(note), ts_ticks=given)

    async def get_note(self, _: Request, note_id: int | None) -> str:
        return wire.note_json(self._note(note_id))

    async def find_note(self, request: Request, _: int | None) -> str:
        """GetTicketNote by natural key: TicketID and Note, optionally UserName and ts."""
        body = await _body(request)
        ticket_id, text = _ticket_and_text(body)
        self._existing_ticket(ticket_id)
        user, ts = text_field(body, "UserName"), ts_field(body, "ts")
        for note_id in self.data.notes_by_ticket[ticket_id]:
            note = self.data.notes[note_id]
            if (
                note.text == text
                and (not user or same_text(note.user_name, user))
                and (ts is None or note.ts == stored(ts))
            ):
                return wire.note_json(note)
        raise Failure(wire.NOT_FOUND)

    async def notes_by_ticket(self, _: Request, ticket_id: int | None) -> str:
        if ticket_id not in self.data.tickets:
            raise Failure(wire.NOT_FOUND)
        notes, ids = self.data.notes, self.data.notes_by_ticket[ticket_id]
        return wire.array([wire.note_json(notes[i]) for i in ids])

    async def search_notes(self, request: Request, _: int | None) -> str:
        """GetTicketNotes: every note matching the criteria, by ts then ID."""
        body = await _body(request)
        ticket_id, user = int_field(body, "TicketID"), text_field(body, "UserName")
        note_type = text_field(body, "NoteType")
        start, end = ts_field(body, "StartDate"), ts_field(body, "EndDate")
        if ticket_id is not None:
            if ticket_id not in self.data.tickets:
                raise RuleViolation(RULES["ticket_unknown_search"])
            notes = [self.data.notes[i] for i in self.data.notes_by_ticket[ticket_id]]
            notes = sorted((n for n in notes if in_window(n.ts, start, end)), key=_ts_order)
        else:
            notes = self.data.notes_between(start, end)
        if user:
            notes = [n for n in notes if same_text(n.user_name, user)]
        if note_type:
            notes = [n for n in notes if same_text(n.note_type, note_type)]
        return wire.array([wire.note_json(n) for n in notes])

    async def update_note(self, request: Request, _: int | None) -> str:
        """UpdateTicketNote: fields left out (or null) keep their stored values."""
        body = await _body(request)
        note_id = required_int(body, "ID", "id_required")
        ticket_id = required_int(body, "TicketID", "ticket_required")
        text, note_type, ts = text_field(body, "Note"), note_type_field(body), ts_field(body, "ts")
        if text == "":
            raise RuleViolation(RULES["note_required"])
        note = self._note(note_id)
        self._existing_ticket(ticket_id)
        changes = {
            "ticket_id": ticket_id,
            "text": text,
            "note_type": note_type,
            "subject": text_field(body, "Subject"),
            "user_name": text_field(body, "UserName"),
            "ts": None if ts is None else stored(ts),
            "cleared": bool_field(body, "IsClearedNote"),
        }
        self.data.update_note(note, **{k: v for k, v in changes.items() if v is not None})
        return wire.note_json(note, ts_ticks=note.ts if ts is None else ts)

    async def delete_note(self, _: Request, note_id: int | None) -> str:
        note = self._note(note_id)
        self.data.delete_note(note.id)
        return wire.deleted_message(note.id)

    def _note(self, note_id: int | None) -> Note:
        note = self.data.notes.get(note_id or 0)
        if note is None:
            raise Failure(wire.NOT_FOUND)
        return note

    def _existing_ticket(self, ticket_id: int) -> None:
        if ticket_id not in self.data.tickets:
            raise RuleViolation(RULES["ticket_unknown"])

    # -- Ticket, TimeEntry, TicketClearCode ---------------------------------------------
    async def get_ticket(self, _: Request, ticket_id: int | None) -> str:
        ticket = self.data.tickets.get(ticket_id or 0)
        if ticket is None:
            raise Failure(wire.NOT_FOUND)
        return wire.ticket_json(ticket)

    async def all_tickets(self, _: Request, __: int | None) -> str:
        return wire.array([wire.ticket_json(t) for t in self.data.tickets.values()])

    async def tickets_by_customer(self, _: Request, customer_id: int | None) -> str:
        if customer_id not in self.data.customers:
            raise Failure(wire.NOT_FOUND)
        tickets = self.data.tickets
        ids = self.data.by_customer.get(customer_id or 0, [])
        return wire.array([wire.ticket_json(tickets[i]) for i in ids])

    async def entries_by_ticket(self, _: Request, ticket_id: int | None) -> str:
        if ticket_id not in self.data.tickets:
            raise Failure(wire.NOT_FOUND)
        entries = self.data.entries
        ids = self.data.entries_by_ticket[ticket_id]
        return wire.array([wire.entry_json(entries[i]) for i in ids])

    async def clear_code(self, _: Request, code_id: int | None) -> str:
        code = self.data.clear_codes.get(code_id or 0)
        if code is None:
            raise Failure(wire.NOT_FOUND)
        return wire.clear_code_json(code)

    async def clear_codes(self, _: Request, __: int | None) -> str:
        return wire.array([wire.clear_code_json(c) for c in self.data.clear_codes.values()])

    async def appointment_codes(self, _: Request, appt_id: int | None) -> str:
        codes = self.data.appointments.get(appt_id or 0)
        if codes is None:
            raise Failure(wire.NOT_FOUND)
        return wire.array([wire.clear_code_json(self.data.clear_codes[c]) for c in codes])
