"""BMC Track-It! WebApi emulator: OAuth2 password-grant tokens, tickets keyed by field sequence.

A client's base URL is ``<server>/TrackIt/WebApi`` (paths are matched case-insensitively, so
``/trackit/WEBAPI/Tickets/1`` works too). There is no list or changed-since endpoint: clients
walk ticket ids and re-read tickets, as against the real server. ``POST /searches`` exists in
the real WebApi, but its answer is not documented, so it is not emulated: it answers 404 like
any path without a route.
"""

from __future__ import annotations

import base64
import mimetypes
import secrets
import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any, cast
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from deskbridge.sdk import Emulator, Knobs

from . import fields as F
from .fields import DisplayNames, WriteError, parse_note
from .seed import Activity, build_store, custom_truth
from .store import PRIORITY, STATUS, Store, Technician, Ticket
from .wire import (
    ADDNOTE_NOTE_KEY,
    ATTACHMENT_NOT_FOUND,
    BAD_GRANT_TYPE,
    BAD_GROUPS_LOGIN,
    BAD_LOGIN,
    BAD_REFRESH,
    CLOSE_NOTE_KEY,
    DENIED,
    GROUP_LAST_MODIFIED,
    LOGOUT_BODY,
    MODULE_NOT_FOUND,
    NO_CACHE,
    NO_METHOD,
    NO_ROUTE,
    NOT_FOUND,
    SINGLE_ROOT,
    int_param,
    json_body,
    json_response,
    page_of,
    seq_map,
)

BASE_PATH = "/trackit/webapi"
INT = "{int}"
TICKET_MODULES, ASSIGNMENT_MODULE = (24, 1), 2
REFRESH_TTL_S = 14 * 86400.0

ROUTES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("token",), "POST", "token"),
    (("token",), "GET", "token"),
    (("groups",), "POST", "groups"),
    (("technicians", "logout"), "GET", "logout"),
    (("module", INT, "fields"), "GET", "fields"),
    (("tickets", "templates"), "GET", "templates"),
    (("tickets", "note", INT), "GET", "note"),
    (("tickets",), "POST", "create"),
    (("tickets", INT), "GET", "get"),
    (("tickets", INT), "POST", "update"),
    (("tickets", INT, "addnote"), "POST", "add_note"),
    (("tickets", INT, "changestatus"), "POST", "change_status"),
    (("tickets", INT, "close"), "POST", "close"),
    (("tickets", INT, "delete"), "POST", "delete"),
    (("tickets", INT, "notes", INT, INT), "GET", "notes"),
    (("tickets", INT, "attachments", INT, INT), "GET", "attachments"),
    (("tickets", INT, "assignments", INT, INT), "GET", "assignments"),
    (("attachment", INT), "GET", "attachment"),
)
PUBLIC = frozenset({"token", "groups"})


class _Missing(Exception):
    """No live ticket has the requested id."""


@dataclass
class Session:
    tech: Technician
    group: int
    expires: float


class Tokens:
    """Access and refresh tokens of the ``/token`` endpoint."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self.access: dict[str, Session] = {}
        self.refresh: dict[str, Session] = {}

    def issue(self, tech: Technician, group: int) -> dict[str, Any]:
        """A fresh token pair, as the OWIN token endpoint answers it."""
        now = time.time()
        access = base64.b64encode(secrets.token_bytes(120)).decode()
        refresh = secrets.token_hex(16)
        self.access[access] = Session(tech, group, now + self.ttl_s)
        self.refresh[refresh] = Session(tech, group, now + REFRESH_TTL_S)
        group_code = dict(F.GROUPS)[group]
        # not documented: emulator choice (key names of the user's name, group, phone, extension).
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": max(0, int(self.ttl_s) - 1),
            "refresh_token": refresh,
            "userName": f"{group_code}\\{tech.code}",
            "First Name": tech.first,
            "Last Name": tech.last,
            "EMail Address": tech.email,
            "Phone": tech.phone,
            "Extension": tech.ext or "",
            "Alternate Phone": "",
            "Group Name": group_code,
            ".issued": formatdate(now, usegmt=True),
            ".expires": formatdate(now + self.ttl_s, usegmt=True),
        }

    def session(self, header: str | None) -> Session | None:
        """The live session of an ``Authorization: Bearer`` header, if any."""
        scheme, _, token = (header or "").partition(" ")
        found = self.access.get(token.strip()) if scheme.lower() == "bearer" else None
        if found is None or found.expires <= time.time():
            return None
        return found


class TrackitApp:
    """The WebApi routes over one :class:`Store`."""

    def __init__(self, store: Store, names: DisplayNames, tokens: Tokens) -> None:
        self.store, self.names, self.tokens = store, names, tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self.dispatch(request)
        await response(scope, receive, send)

    def _match(self, path: str, method: str) -> tuple[str | None, list[int], bool]:
        low = path.lower()
        if not low.startswith(BASE_PATH + "/"):
            return None, [], False
        rest = path[len(BASE_PATH) + 1 :]
        segs = (rest.removesuffix("/")).split("/")
        known = False
        for pattern, verb, name in ROUTES:
            ints = _fit(pattern, segs)
            if ints is not None:
                known = True
                if verb == method:
                    return name, ints, True
        return None, [], known

    async def dispatch(self, request: Request) -> Response:
        """Route, authenticate, run the handler; business-rule errors answer 400."""
        method = request.method.upper()
        name, ints, known = self._match(request.url.path, method)
        if name is None:
            if known:
                return json_response({"Message": NO_METHOD.format(method)}, 405)
            return json_response({"Message": NO_ROUTE.format(str(request.url))}, 404)
        session = None
        if name not in PUBLIC:
            session = self.tokens.session(request.headers.get("authorization"))
            if session is None:
                return json_response(DENIED, 401, {"WWW-Authenticate": "Bearer"})
        try:
            return await getattr(self, "_" + name)(request, session, *ints)
        except WriteError as exc:
            return json_response({"Message": str(exc)}, 400)
        except _Missing:
            return json_response(NOT_FOUND, 404)

    # -- auth -------------------------------------------------------------------------------
    async def _token(self, request: Request, _: None) -> Response:
        raw = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
        form = {key: values[0] for key, values in raw.items()}
        grant = form.get("grant_type")
        if grant == "password":
            found = self._login(form.get("username", ""), form.get("password", ""))
            if found is None:
                return json_response(BAD_LOGIN, 400)
            return json_response(self.tokens.issue(*found), headers=NO_CACHE)
        if grant == "refresh_token":
            old = self.tokens.refresh.pop(form.get("refresh_token", ""), None)
            if old is None or old.expires <= time.time():
                return json_response(BAD_REFRESH, 400)
            return json_response(self.tokens.issue(old.tech, old.group), headers=NO_CACHE)
        return json_response(BAD_GRANT_TYPE, 400)

    def _login(self, username: str, password: str) -> tuple[Technician, int] | None:
        """``GROUP\\LOGIN`` exactly as stored: both parts are case-sensitive capitals."""
        group_code, _, login = username.partition("\\")
        group = next((seq for seq, code in F.GROUPS if code == group_code), None)
        tech = next((t for t in self.store.techs.values() if t.code == login), None)
        if tech is None or group not in tech.groups:
            return None
        if not secrets.compare_digest(tech.password.encode(), password.encode()):
            return None
        return tech, group

    async def _groups(self, request: Request, _: None) -> Response:
        body = await json_body(request)
        body = body if isinstance(body, dict) else {}
        tech = next((t for t in self.store.techs.values() if t.code == body.get("UserName")), None)
        if tech is None or tech.password != body.get("password"):
            return json_response(BAD_GROUPS_LOGIN, 400)
        groups = [
            {
                "Sequence": seq,
                "LastModified": GROUP_LAST_MODIFIED,
                "LastUser": "dbo",
                "Code": code,
                "InActive": False,
            }
            for seq, code in F.GROUPS
            if seq in tech.groups
        ]
        return json_response({"Groups": groups})

    async def _logout(self, request: Request, _: Session) -> Response:
        token = (request.headers.get("authorization") or "").partition(" ")[2]
        self.tokens.access.pop(token.strip(), None)
        return json_response(LOGOUT_BODY)

    # -- reads ------------------------------------------------------------------------------
    def _ticket_map(self, t: Ticket) -> dict[str, Any]:
        values, names = self.store.ticket_values(t), self.names.by_seq
        return {
            str(seq): {"DisplayName": names[seq], "Value": values[seq]}
            for seq in F.TICKET_SEQS
            if values.get(seq) is not None
        }

    def _note_map(self, note: Any, max_len: int = -1) -> dict[str, Any]:
        return seq_map(self.store.note_values(note, max_len), F.NOTE_FIELDS)

    def _ticket(self, tid: int) -> Ticket:
        t = self.store.tickets.get(tid)
        if t is None:
            raise _Missing(tid)
        return t

    async def _get(self, request: Request, s: Session, tid: int) -> Response:
        return json_response({SINGLE_ROOT: self._ticket_map(self._ticket(tid))})

    async def _note(self, request: Request, s: Session, note_id: int) -> Response:
        note = self.store.notes.get(note_id)
        return (
            json_response({"Note": [self._note_map(note)]})
            if note
            else json_response(NOT_FOUND, 404)
        )

    async def _notes(
        self, request: Request, s: Session, tid: int, size: int, page: int
    ) -> Response:
        t = self._ticket(tid)
        query = {k.lower(): v for k, v in request.query_params.items()}
        max_len = int_param(query.get("maxcontentlength", "-1"))
        system = query.get("systemnote", "false").lower()
        if max_len is None or system not in ("true", "false"):
            raise WriteError("invalid_request")
        notes = [n for n in t.notes if system == "true" or not n.system]
        rows = [self._note_map(n, max_len) for n in page_of(notes, size, page)]
        return json_response({"Count": len(notes), "TicketNotes": rows})

    async def _attachments(
        self, request: Request, s: Session, tid: int, size: int, page: int
    ) -> Response:
        self._ticket(tid)
        atts = self.store.attachments.get(tid, [])
        rows = [
            seq_map({1: a.id, 6: a.size, 7: a.name, 14: a.url}, F.ATTACHMENT_FIELDS)
            for a in page_of(atts, size, page)
        ]
        return json_response({"Count": len(atts), "TicketAttachments": rows})

    async def _assignments(
        self, request: Request, s: Session, tid: int, size: int, page: int
    ) -> Response:
        self._ticket(tid)
        items = self.store.assignments.get(tid, [])
        rows = [
            seq_map(self.store.assignment_values(a), F.ASSIGNMENT_FIELDS)
            for a in page_of(items, size, page)
        ]
        return json_response({"Count": len(items), "Assignments": rows})

    async def _attachment(self, request: Request, s: Session, att_id: int) -> Response:
        att = self.store.attachment_by_id.get(att_id)
        if att is None:
            return json_response(ATTACHMENT_NOT_FOUND, 404)
        pattern = f"{att.name} #{att.id}\n".encode()
        data = (pattern * (att.size // len(pattern) + 1))[: att.size]
        media = mimetypes.guess_type(att.name)[0] or "application/octet-stream"
        return Response(
            data,
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{att.name}"'},
        )

    async def _templates(self, request: Request, s: Session) -> Response:
        rows = [
            seq_map(
                {1: t.id, 3: t.name, 4: t.description, 6: t.data, 10: t.self_service},
                F.TEMPLATE_FIELDS,
            )
            for t in self.store.templates
            if t.active and s.group in t.groups
        ]
        return json_response({"TicketTemplates": rows})

    async def _fields(self, request: Request, s: Session, module: int) -> Response:
        if module in TICKET_MODULES:
            names = self.names.by_seq
            return json_response({str(seq): {"DisplayName": names[seq]} for seq in F.TICKET_SEQS})
        if module == ASSIGNMENT_MODULE:
            return json_response(
                {str(seq): {"DisplayName": n} for seq, n in F.ASSIGNMENT_FIELDS.items()}
            )
        return json_response(MODULE_NOT_FOUND, 404)

    # -- writes -----------------------------------------------------------------------------
    def _properties(self, body: Any) -> list[tuple[int, str, Any]]:
        props = body.get("Properties") if isinstance(body, dict) else None
        if not isinstance(props, dict):
            raise WriteError("properties_required")
        out = []
        for name, value in props.items():
            seq = self.names.seq_of(name)
            if seq is None:
                raise WriteError("unknown_field", name)
            out.append((seq, name.strip(), value))
        return out

    async def _create(self, request: Request, s: Session) -> Response:
        changes = self.store.resolve(self._properties(await json_body(request)))
        t = self.store.create(changes, s.tech, s.group)
        return json_response({SINGLE_ROOT: self._ticket_map(t)})

    async def _update(self, request: Request, s: Session, tid: int) -> Response:
        t = self._ticket(tid)
        body = await json_body(request)
        props = self._properties(body)
        optional = body.get("OptionalParams") or {}
        dto = optional.get("Note") if isinstance(optional, dict) else None
        note = parse_note(dto, require_text=False)
        changes = self.store.resolve(props)
        if props:
            self.store.apply(t, changes, s.tech)
        if note is not None:
            self.store.add_note(t, note, s.tech, s.group)
        return json_response({SINGLE_ROOT: self._ticket_map(t)})

    async def _add_note(self, request: Request, s: Session, tid: int) -> Response:
        t = self._ticket(tid)
        spec = parse_note(await json_body(request), require_text=True)
        if spec is None:
            raise WriteError("note_required")
        note = self.store.add_note(t, spec, s.tech, s.group)
        return json_response(
            {SINGLE_ROOT: self._ticket_map(t), ADDNOTE_NOTE_KEY: self._note_map(note)}
        )

    async def _change_status(self, request: Request, s: Session, tid: int) -> Response:
        t = self._ticket(tid)
        body = await json_body(request)
        body = body if isinstance(body, dict) else {}
        status = self.store.status_named(body.get("StatusName"))
        return self._status_write(
            t, s, status, parse_note(body.get("Note"), require_text=False), ADDNOTE_NOTE_KEY
        )

    async def _close(self, request: Request, s: Session, tid: int) -> Response:
        t = self._ticket(tid)
        body = await json_body(request)
        note = parse_note(body.get("Note") if isinstance(body, dict) else None, require_text=False)
        return self._status_write(t, s, F.CLOSED_STATUS, note, CLOSE_NOTE_KEY)

    def _status_write(
        self, t: Ticket, s: Session, status: int, spec: Any, note_key: str
    ) -> Response:
        self.store.set_status(t, status, s.tech, self.store.now())
        out: dict[str, Any] = {SINGLE_ROOT: None}
        if spec is not None:
            out[note_key] = self._note_map(self.store.add_note(t, spec, s.tech, s.group))
        out[SINGLE_ROOT] = self._ticket_map(t)
        return json_response(out)

    async def _delete(self, request: Request, s: Session, tid: int) -> Response:
        t = self._ticket(tid)
        self.store.delete(t)
        return json_response({"success": True})


def _fit(pattern: tuple[str, ...], segs: list[str]) -> list[int] | None:
    """The integer segments if ``segs`` fits ``pattern`` (literals compared in any case)."""
    if len(pattern) != len(segs):
        return None
    ints: list[int] = []
    for want, got in zip(pattern, segs, strict=False):
        if want == INT:
            num = int_param(got)
            if num is None:
                return None
            ints.append(num)
        elif want != got.lower():
            return None
    return ints


class TrackitEmulator(Emulator):
    """BMC Track-It! WebApi (2019+) with seeded tickets, notes, technicians and requestors.

    Options: ``token_ttl_s`` (access-token lifetime, 1800 s like the product's default) and
    ``display_names`` (sequence -> display name overrides, as an installation renames fields).
    """

    vendor = "trackit"

    def __init__(
        self,
        *,
        seed: int = 7,
        tickets: int = 300,
        knobs: Knobs | None = None,
        token_ttl_s: float = 1800,
        display_names: dict[int, str] | None = None,
    ) -> None:
        super().__init__(seed=seed, knobs=knobs)
        self.store = build_store(seed, tickets)
        self.names = DisplayNames(display_names)
        self.tokens = Tokens(token_ttl_s)
        self._activity = Activity(self.store, self.rng)

    def vendor_app(self) -> TrackitApp:
        """The WebApi under ``/TrackIt/WebApi``."""
        return TrackitApp(self.store, self.names, self.tokens)

    def rename_field(self, seq: int, new_name: str) -> None:
        """Rename a ticket field; writes must then use the new display name."""
        self.names.rename(seq, new_name)

    def credentials(self) -> dict[str, str]:
        """``username`` as ``GROUP\\LOGIN`` and ``password``; no client id or secret exists."""
        tech = self.store.techs[1]
        group = dict(F.GROUPS)[tech.groups[0]]
        return {"username": f"{group}\\{tech.code}", "password": tech.password}

    def ground_truth(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Live data in canonical terms.

        Source ids: tickets ``"<Ticket ID>"``; notes ``"<note Sequence>"`` (kind ``reply`` when
        the note carries an ``Email (To/From)`` address, i.e. an e-mail to or from the
        requestor, else ``note``; visibility ``private`` when ``Private`` is true); time
        entries ``"<note Sequence>"`` for notes with a ``Duration`` (billable = the duration
        when the note's ``Track Time`` is true, else 0); people ``"technician:<seq>"`` (staff,
        no e-mail: the ticket API does not expose it) and ``"requestor:<seq>"`` (requester),
        for everyone a live ticket or note references. ``ticket_fields``: every custom field
        with a value, keyed ``"<Ticket ID>:<sequence>"``, labelled by its current display name
        (dates as ISO 8601 text in UTC).
        """
        out: dict[str, dict[str, dict[str, Any]]] = {
            "tickets": {},
            "notes": {},
            "time_entries": {},
            "people": {},
        }
        techs: set[int | None] = set()
        reqs: set[int | None] = set()
        for t in self.store.tickets.values():
            out["tickets"][str(t.id)] = {
                "subject": t.summary,
                "status": STATUS[t.status][1],
                "priority": PRIORITY[t.priority][1],
            }
            techs.update((t.tech, t.opened_by, t.closed_by, t.responded_by))
            reqs.add(t.requestor)
            for n in t.notes:
                self._truth_note(out, n)
                techs.add(n.tech)
                reqs.add(n.requestor)
        for tid in cast("set[int]", techs - {None}):
            tech = self.store.techs[tid]
            out["people"][f"technician:{tid}"] = {"kind": "staff", "name": tech.full, "email": None}
        for rid in cast("set[int]", reqs - {None}):
            req = self.store.requestors[rid]
            out["people"][f"requestor:{rid}"] = {
                "kind": "requester",
                "name": req.full,
                "email": req.email,
            }
        out["ticket_fields"] = custom_truth(self.store, self.names.by_seq)
        return out

    @staticmethod
    def _truth_note(out: dict[str, dict[str, dict[str, Any]]], n: Any) -> None:
        out["notes"][str(n.id)] = {
            "ticket_id": str(n.ticket_id),
            "kind": "reply" if n.email else "note",
            "visibility": "private" if n.private else "public",
            "body": n.body,
        }
        if n.duration:
            out["time_entries"][str(n.id)] = {
                "ticket_id": str(n.ticket_id),
                "seconds_worked": n.duration,
                "seconds_billable": n.duration if n.track_time else 0,
            }

    def set_custom_field(self, ticket_id: int, seq: int, value: Any) -> None:
        """Set (or with ``None`` clear) a ticket's custom field as a technician would in the UI."""
        t = self.store.tickets[ticket_id]
        name = self.names.by_seq[seq]
        self.store.apply(t, self.store.resolve([(seq, name, value)]), self.store.techs[2])

    def mutate(self, n: int = 10) -> list[str]:
        """New tickets, notes, e-mails, status changes, closes, reassignments, edits, deletes."""
        return self._activity.run(n)
