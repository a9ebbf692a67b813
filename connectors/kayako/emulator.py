"""Kayako Classic v4 REST emulator: ``/api/index.php`` with salt + HMAC signatures and XML.

Routes come in the "e" form (``?e=/Tickets/Ticket/1``) or the standard form
(``?/Tickets/Ticket/1``). Request variables are read the way Kayako's SWIFT_RESTServer reads
them: the query string for GET and DELETE, the form body for POST, the raw body parsed as a
query string for PUT, and a JSON body (any verb) for authentication only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from deskbridge.emulation import Emulator, Knobs

from . import emulator_xml as xml
from .sandbox_data import Store
from .sandbox_gen import Activity, Pools, SeedBuilder

PHP_WHITESPACE = " \t\n\r\0\x0b"
XML_TYPE = "text/xml"
# not documented: emulator choice -- auth failures go out before the XML header is set,
# so they carry PHP's default content type.
AUTH_ERROR_TYPE = "text/html; charset=UTF-8"
# not documented: emulator choice -- the text the server's exception carries, as a 404.
UNDECLARED = "Undeclared Function Called in API Controller"
NAMED_METHODS = ("listall", "getticketcount", "filter")


def _response(status: int, body: str, content_type: str) -> Response:
    return Response(body, status_code=status, headers={"content-type": content_type})


class KayakoEmulator(Emulator):
    """A Kayako Classic helpdesk (REST API 4.01.2xx) with seeded, deterministic data.

    Options: ``api_enabled`` (False answers every call 403, as when the API interface is
    switched off), ``post_order`` ("asc" or "desc", the helpdesk's post-order setting) and
    ``search_limit`` (the TicketSearch result cap).
    """

    vendor = "kayako"

    def __init__(self, *, seed: int = 7, tickets: int = 300, knobs: Knobs | None = None,
                 api_enabled: bool = True, post_order: str = "asc", search_limit: int = 100) -> None:
        super().__init__(seed=seed, knobs=knobs)
        pools = Pools.build(seed)
        self.store: Store = SeedBuilder(seed, pools).build(tickets)
        self.activity = Activity(self.store, pools, self.rng)
        self.api_enabled = api_enabled
        self.controllers = Controllers(self.store, random.Random(seed + 1),
                                       posts_desc=post_order == "desc", search_limit=search_limit)
        keys = random.Random(f"kayako-credentials-{seed}")
        self._api_key = str(uuid.UUID(int=keys.getrandbits(128), version=4))
        pair = "".join(str(uuid.UUID(int=keys.getrandbits(128), version=4)) for _ in range(2))
        self._secret_key = base64.b64encode(pair.encode()).decode()[:254]

    def vendor_app(self) -> ASGIApp:
        return Starlette(routes=[Route("/api/index.php", self._endpoint,
                                       methods=["GET", "POST", "PUT", "DELETE"])])

    def credentials(self) -> dict[str, str]:
        """``api_key`` (a UUID) and ``secret_key`` (Base64 of two UUIDs, as Kayako makes it)."""
        return {"api_key": self._api_key, "secret_key": self._secret_key}

    def ground_truth(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Live data in canonical terms.

        Source ids: tickets ``"<ticketid>"``; notes ``"post:<ticketpostid>"`` (kind reply,
        private when the post is private) and ``"note:<ticketnoteid>"`` (kind note, private;
        only ``type="ticket"`` notes, never user or organization notes); time entries
        ``"<tickettimetrackid>"``; people ``"staff:<staffid>"`` and ``"user:<userid>"``.
        Status and priority are their titles; bodies are the text a client parses from the
        XML (control characters removed, line ends as LF).
        """
        return self.store.ground_truth()

    def mutate(self, n: int = 10) -> list[str]:
        """Make ``n`` changes as customers and agents would (see ``sandbox_gen.Activity``)."""
        return [self.activity.step() for _ in range(n)]

    async def _endpoint(self, request: Request) -> Response:
        call = Call.parse(request.method, request.scope["query_string"].decode("latin-1"),
                          request.headers.get("content-type", ""), await request.body())
        return self.handle(call)

    def handle(self, call: Call) -> Response:
        """Dispatch one call: controller, authentication, then method or verb handler."""
        if len(call.route) < 2:
            return _response(404, UNDECLARED, AUTH_ERROR_TYPE)
        controller = self.controllers.table.get((call.route[0].lower(), call.route[1]))
        if controller is None:
            return _response(404, UNDECLARED, AUTH_ERROR_TYPE)
        denied = self._authenticate(call.variables)
        if denied is not None:
            return denied
        args = call.route[2:]
        name = args[0].lower() if args else ""
        if name in NAMED_METHODS and name in controller:
            handler, params = controller[name], args[1:]
        else:
            verb = "getlist" if call.method == "GET" and not args else call.method.lower()
            handler, params = controller.get(verb), args or [""]
        if handler is None:
            return _response(404, UNDECLARED, AUTH_ERROR_TYPE)
        status, body = handler(call, params)
        return _response(status, body, XML_TYPE)

    def _authenticate(self, variables: dict[str, str]) -> Response | None:
        if not self.api_enabled:
            return _response(403, "", AUTH_ERROR_TYPE)
        salt = variables.get("salt")
        if salt is None or salt in ("", "0"):
            return _response(401, "NO SALT PROVIDED!", AUTH_ERROR_TYPE)
        key = variables.get("apikey", "").strip(PHP_WHITESPACE)
        sent = variables.get("signature", "").replace(" ", "+").strip(PHP_WHITESPACE)
        expected = signature(self._secret_key, salt)
        if not key or key != self._api_key or not sent or not hmac.compare_digest(sent, expected):
            return _response(401, "FAILED TO AUTHENTICATE", AUTH_ERROR_TYPE)
        return None




Result = tuple[int, str]
Handler = Callable[[Call, list[str]], Result]
T = TypeVar("T")
TICKET_NOT_FOUND: Result = (404, "Ticket not Found")
TICKET_FIELDS = (("subject", "Subject is empty"), ("fullname", "Fullname is empty"),
                 ("email", "Email is empty"), ("contents", "Contents is empty"),
                 ("departmentid", "Department ID is empty"),
                 ("ticketstatusid", "Ticket Status ID is empty"),
                 ("ticketpriorityid", "Ticket Priority ID is empty"),
                 ("tickettypeid", "Ticket Type ID is empty"))
TIMETRACK_FIELDS = (("worktimeline", "No work timeline specified", True),
                    ("billtimeline", "No bill timeline specified", True),
                    ("timespent", "No time spent specified", False),
                    ("timebillable", "No time billable specified", False))
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_FILENAME = re.compile(r"^filename([0-9]?)$")


def _staff(store: Store, raw: str | None) -> Row | None:
    key = php_key(raw)
    return store.lookups.staff.get(key) if key is not None else None


def _hint(text: str) -> Handler:
    return lambda call, params: (400, text)


def _lookup(root: str, item: str, table: dict[int, Row], cast_first: bool) -> dict[str, Handler]:
    """GetList / Get of a configuration table (an empty or zero id lists them all)."""
    def get(call: Call, params: list[str]) -> Result:
        raw = str(php_intval(params[0])) if cast_first else params[0]
        if raw in ("", "0"):
            return 200, xml.rows(root, item, table.values())
        row = table.get(php_intval(raw))
        return 200, xml.rows(root, item, [row] if row else [])
    return {"getlist": lambda call, params: get(call, [""]), "get": get}


class Controllers:
    """The Tickets and Base API controllers, keyed by (app, controller) then handler name."""

    def __init__(self, store: Store, rng: random.Random, *, posts_desc: bool,
                 search_limit: int) -> None:
        self.store, self.dice = store, Dice(rng)
        self.posts_desc, self.search_limit = posts_desc, search_limit
        lk = store.lookups
        self.table: dict[tuple[str, str], dict[str, Handler]] = {
            ("tickets", "Ticket"): {
                "getlist": _hint("Not Implemented, Call /Tickets/Ticket/ListAll instead."),
                "listall": self.ticket_list, "getticketcount": self.ticket_count,
                "get": self.ticket_get, "post": self.ticket_post, "put": self.ticket_put,
                "delete": self.ticket_delete},
            ("tickets", "TicketPost"): {
                "getlist": _hint("Not Implemented, Call /Tickets/TicketPost/ListAll instead."),
                "listall": self.post_list, "get": self.post_get, "post": self.post_post,
                "delete": self.post_delete},
            ("tickets", "TicketNote"): {
                "getlist": _hint("Not Implemented, Call /Tickets/TicketNote/ListAll instead."),
                "listall": self.note_list, "get": self.note_get, "post": self.note_post,
                "delete": self.note_delete},
            ("tickets", "TicketTimeTrack"): {
                "getlist": _hint("Not Implemented, Call /Tickets/TicketTimeTrack/ListAll instead."),
                "listall": self.track_list, "get": self.track_get, "post": self.track_post,
                "delete": self.track_delete},
            ("tickets", "TicketSearch"): {
                "post": self.search,
                **dict.fromkeys(("getlist", "get", "put", "delete"),
                                _hint("Not Implemented, Call POST /Tickets/TicketSearch instead."))},
            ("tickets", "TicketStatus"): _lookup("ticketstatuses", "ticketstatus", lk.statuses, False),
            ("tickets", "TicketPriority"): _lookup("ticketpriorities", "ticketpriority",
                                                   lk.priorities, False),
            ("tickets", "TicketType"): _lookup("tickettypes", "tickettype", lk.types, False),
            ("base", "Department"): _lookup("departments", "department", lk.departments, True),
            ("base", "Staff"): _lookup("staffusers", "staff", lk.staff, True),
            ("base", "StaffGroup"): _lookup("staffgroups", "staffgroup", lk.staffgroups, True),
            ("base", "User"): {"getlist": self.user_get, "get": self.user_get,
                               "filter": self.user_filter},
        }

    def _tickets(self, tickets: Iterable[Ticket], with_posts: bool = True) -> Result:
        return 200, xml.tickets(self.store, tickets, with_posts, self.posts_desc)

    # -- Tickets/Ticket --------------------------------------------------------------------
    def _ticket_ids(self, call: Call, params: list[str], sort: str = "", desc: bool = False) -> list[int]:
        """ListAll's filters, as Kayako's ProcessTicketRelatedData resolves them."""
        lk, store = self.store.lookups, self.store
        depts = frozenset(d for d in _csv_ids(_arg(params, 0)) if d in lk.departments)
        raw_status = _arg(params, 1, "-1")
        asked = [] if _optional_ids(raw_status) is None else _csv_ids(raw_status)
        statuses = frozenset(s for s in asked if s in lk.statuses
                             and (lk.statuses[s]["departmentid"] == 0 or lk.statuses[s]["departmentid"] in depts))
        if not statuses:  # the silent default: unresolved statuses only
            statuses = frozenset(s for s, row in lk.statuses.items() if not row["markasresolved"]
                                 and (row["departmentid"] == 0 or s in depts))
        owners, users = _optional_ids(_arg(params, 2, "-1")), _optional_ids(_arg(params, 3, "-1"))
        email = "" if php_empty(call.form.get("email")) else call.form["email"].lower()

        def match(t: Ticket) -> bool:
            return (t.departmentid in depts and t.statusid in statuses
                    and (owners is None or t.ownerstaffid in owners)
                    and (users is None or t.userid in users)
                    and (not email or t.email.lower() == email))

        keyfn = SORT_KEYS.get(sort)
        sort_key = (lambda t: keyfn(store, t)) if keyfn else None
        return store.list_ticket_ids((depts, statuses, owners, users, email), match, sort_key, sort, desc)

    def ticket_list(self, call: Call, params: list[str]) -> Result:
        rows, start = php_intval(_arg(params, 4, "-1")), max(0, php_intval(_arg(params, 5, "0")))
        sort = re.sub(r"[^a-z0-9_]", "", _arg(params, 6).lower())
        desc = _arg(params, 7, "ASC").upper() == "DESC"
        ids = self._ticket_ids(call, params, sort if sort in SORT_FIELDS else "", desc)
        page = ids[start:] if rows <= 0 else ids[start:start + rows]
        return self._tickets((self.store.tickets[i] for i in page), with_posts=False)

    def ticket_count(self, call: Call, params: list[str]) -> Result:
        total = len(self._ticket_ids(call, params))
        return 200, xml.wrap("tickets", [xml.tag("totalcount", total)])

    def ticket_get(self, call: Call, params: list[str]) -> Result:
        ticket = self.store.ticket(params[0])
        return self._tickets([ticket]) if ticket else TICKET_NOT_FOUND

    def ticket_post(self, call: Call, params: list[str]) -> Result:
        f, lk, store = call.form, self.store.lookups, self.store
        for name, message in TICKET_FIELDS:
            if _blank(f.get(name)):
                return 400, message
        if all(_blank(f.get(k)) for k in ("userid", "staffid", "autouserid")):
            return 400, "Staff ID, User ID and Auto User ID values are empty or not provided"
        dept = lk.departments.get(php_key(f["departmentid"]) or 0)
        if dept is None:
            return 400, "Department ID is Invalid"
        if dept["app"] != "tickets":
            return 400, "Department App is not Tickets"
        for name, table, label in (("ticketstatusid", lk.statuses, "Ticket Status"),
                                   ("ticketpriorityid", lk.priorities, "Ticket Priority"),
                                   ("tickettypeid", lk.types, "Ticket Type")):
            if php_key(f[name]) not in table:
                return 400, f"{label} ID is Invalid"
        if "staffid" in f and _staff(store, f["staffid"]) is None:
            return 400, "Staff ID is Invalid"
        now, fullname, email = int(time.time()), f["fullname"], f["email"]
        staff, creator = None, CREATOR_USER
        if f.get("autouserid") == "1":
            userid = store.get_or_create_user(fullname, email, now)
        elif "userid" in f:
            userid = php_intval(f["userid"])
            user = store.users.get(userid)
            if user and email not in user.emails:
                return 400, "User Email is Invalid"
            fullname = user.fullname if user else fullname
        else:
            staff, creator = _staff(store, f["staffid"]), CREATOR_STAFF
            userid = store.get_or_create_user(fullname, email, now)
        phone = f.get("type") == "phone"
        emailto = email if staff and not phone and _EMAIL.match(email) else ""
        if emailto and staff:
            fullname, email = staff["fullname"], staff["email"]
        ticket = new_ticket(store, "", f["subject"], (userid, fullname, email), dept["id"],
                            php_intval(f["ticketstatusid"]), php_intval(f["ticketpriorityid"]),
                            php_intval(f["tickettypeid"]), creator, now,
                            TYPE_PHONE if phone else TYPE_DEFAULT)
        ticket.displayid = display_id(self.dice, ticket.id)
        ticket.tgroupid = self._template_group(f.get("templategroup"))
        store.set_status(ticket, ticket.statusid, now)
        if _staff(store, f.get("ownerstaffid")):
            store.set_owner(ticket, php_intval(f["ownerstaffid"]))
        store.add_ticket(ticket)
        if staff:
            post = staff_post(store, ticket, staff, f["contents"], now)
            post.emailto, post.isemailed = emailto, int(bool(emailto))
        else:
            post = user_post(store, ticket, userid, fullname, email, f["contents"], now)
        store.add_post(ticket, post)
        return self._tickets([ticket])

    def _template_group(self, raw: str | None) -> int:
        groups = self.store.lookups.templategroups
        if raw is not None and php_key(raw) in groups:
            return php_intval(raw)
        titled = [gid for gid, title in groups.items() if raw and title.lower() == raw.lower()]
        return titled[-1] if titled else min(groups)

    def ticket_put(self, call: Call, params: list[str]) -> Result:
        """Update; invalid ids are ignored, and a real change moves lastactivity."""
        ticket, f, lk, store = self.store.ticket(params[0]), call.form, self.store.lookups, self.store
        if ticket is None:
            return TICKET_NOT_FOUND
        before, now = _snapshot(ticket), int(time.time())
        dept = lk.departments.get(php_key(f.get("departmentid")) or 0)
        if dept and dept["app"] == "tickets":
            ticket.departmentid = dept["id"]
        if php_key(f.get("ticketstatusid")) in lk.statuses and php_intval(f["ticketstatusid"]) != ticket.statusid:
            store.set_status(ticket, php_intval(f["ticketstatusid"]), now)
        if php_key(f.get("ticketpriorityid")) in lk.priorities:
            ticket.priorityid = php_intval(f["ticketpriorityid"])
        if php_key(f.get("tickettypeid")) in lk.types:
            ticket.typeid = php_intval(f["tickettypeid"])
        if f.get("ownerstaffid") == "0" or _staff(store, f.get("ownerstaffid")):
            store.set_owner(ticket, php_intval(f["ownerstaffid"]))
        ticket.fullname = f.get("fullname", ticket.fullname)
        ticket.email = f.get("email", ticket.email)
        ticket.subject = f.get("subject", ticket.subject)
        if not php_empty(f.get("userid")) and php_intval(f["userid"]) in store.users:
            ticket.userid = php_intval(f["userid"])
        if "templategroup" in f:
            ticket.tgroupid = self._template_group(f["templategroup"])
        if _snapshot(ticket) != before:
            store.touch(ticket, now)
        return self._tickets([ticket])

    def ticket_delete(self, call: Call, params: list[str]) -> Result:
        ticket = self.store.ticket(params[0])
        if ticket is None:
            return TICKET_NOT_FOUND
        self.store.delete_ticket(ticket)
        return 200, ""

    # -- Tickets/TicketPost ------------------------------------------------------------------
    def _owned(self, params: list[str], table: dict[int, Any], missing: str,
               foreign: str) -> tuple[Ticket | None, Any, Result | None]:
        """Ticket, then record, then ownership, checked in Kayako's order."""
        ticket = self.store.ticket(params[0])
        if ticket is None:
            return None, None, TICKET_NOT_FOUND
        record = _record(table, _arg(params, 1))
        if record is None:
            return ticket, None, (404, missing)
        if not _same(record.ticketid, params[0]):
            return ticket, None, (400, foreign)
        return ticket, record, None

    def _posts(self, ticket: Ticket, only: int = 0) -> Result:
        chosen = [p for p in ticket.posts.values() if not only or p.id == only]
        chosen.sort(key=lambda p: p.id, reverse=self.posts_desc)
        return 200, xml.posts(chosen)

    def post_list(self, call: Call, params: list[str]) -> Result:
        ticket = self.store.ticket(params[0])
        return self._posts(ticket) if ticket else TICKET_NOT_FOUND

    def post_get(self, call: Call, params: list[str]) -> Result:
        ticket, post, error = self._owned(params, self.store.posts, "Ticket Post not Found",
                                          "Post does not belong to the specified ticket")
        return error or self._posts(ticket, post.id)  # type: ignore[arg-type]

    def post_post(self, call: Call, params: list[str]) -> Result:
        f, store = call.form, self.store
        if _blank(f.get("ticketid")):
            return 400, "No Ticket ID Specified"
        if _blank(f.get("contents")):
            return 400, "No Contents Specified"
        if _blank(f.get("userid")) and _blank(f.get("staffid")):
            return 400, "Staff ID and User ID is empty"
        ticket, now = store.ticket(f["ticketid"]), int(time.time())
        if ticket is None:
            return TICKET_NOT_FOUND
        files = tuple(store.attachment(f[k], _b64(f["filecontent" + m.group(1)]), now)
                      for k in f if (m := _FILENAME.match(k)) and "filecontent" + m.group(1) in f)
        if not php_empty(f.get("userid")):
            user = store.users.get(php_intval(f["userid"])) if php_key(f["userid"]) else None
            if user is None:
                return 400, "User ID is Invalid"
            post = user_post(store, ticket, user.id, user.fullname, user.emails[0] if user.emails else "",
                             f["contents"], now)
        else:
            staff = _staff(store, f["staffid"])
            if staff is None:
                return 400, "Staff ID is Invalid"
            post = staff_post(store, ticket, staff, f["contents"], now, int(f.get("isprivate") == "1"))
        post.attachments = files
        store.add_post(ticket, post)
        return self._posts(ticket, post.id)

    def post_delete(self, call: Call, params: list[str]) -> Result:
        _, post, error = self._owned(params, self.store.posts, "Ticket Post not Found",
                                     "Post does not belong to the specified ticket")
        if error:
            return error
        self.store.delete_post(post)
        return 200, ""

    # -- Tickets/TicketNote ------------------------------------------------------------------
    def _notes(self, ticket: Ticket, only: int = 0) -> Result:
        lines = [xml.note_line(n) for n in ticket.notes.values() if not only or n.id == only]
        return 200, xml.wrap("notes", lines)

    def note_list(self, call: Call, params: list[str]) -> Result:
        ticket = self.store.ticket(params[0])
        return self._notes(ticket) if ticket else TICKET_NOT_FOUND

    def note_get(self, call: Call, params: list[str]) -> Result:
        ticket, note, error = self._owned(params, self.store.notes, "Ticket note not Found",
                                          "Ticket note does not belong to the specified ticket")
        return error or self._notes(ticket, note.id)  # type: ignore[arg-type]

    def note_post(self, call: Call, params: list[str]) -> Result:
        f, store = call.form, self.store
        if _blank(f.get("ticketid")):
            return 400, "No Ticket ID Specified"
        ticket = store.ticket(f["ticketid"])
        if ticket is None:
            return TICKET_NOT_FOUND
        staff = _staff(store, f.get("staffid"))
        if _blank(f.get("fullname")) and staff is None:
            return 400, "No fullname or staff id specified"
        if "contents" not in f:
            return 400, "No contents specified"
        forstaff = _staff(store, f.get("forstaffid"))
        note = ticket_note(store, ticket, staff["id"] if staff else 0,
                           staff["fullname"] if staff else f["fullname"], f["contents"],
                           int(time.time()), forstaff["id"] if forstaff else 0,
                           _color(f.get("notecolor")))
        store.add_note(ticket, note)
        return self._notes(ticket, note.id)

    def note_delete(self, call: Call, params: list[str]) -> Result:
        _, note, error = self._owned(params, self.store.notes, "Ticket note not Found",
                                     "Ticket note does not belong to the specified ticket")
        if error:
            return error
        self.store.delete_note(note)
        return 200, ""

    # -- Tickets/TicketTimeTrack -------------------------------------------------------------
    def _tracks(self, ticket: Ticket, only: int = 0) -> Result:
        lines = [xml.timetrack_line(x) for x in ticket.timetracks.values() if not only or x.id == only]
        return 200, xml.wrap("timetracks", lines)

    def track_list(self, call: Call, params: list[str]) -> Result:
        ticket = self.store.ticket(params[0])
        only = _arg(params, 1)
        return self._tracks(ticket, php_intval(only)) if ticket else TICKET_NOT_FOUND

    def track_get(self, call: Call, params: list[str]) -> Result:
        ticket, entry, error = self._owned(
            params, self.store.timetracks, "Ticket time tracking note not Found",
            "Ticket time tracking note does not belong to the specified ticket")
        return error or self._tracks(ticket, entry.id)  # type: ignore[arg-type]

    def track_post(self, call: Call, params: list[str]) -> Result:
        f, store = call.form, self.store
        if _blank(f.get("ticketid")):
            return 400, "No Ticket ID Specified"
        ticket = store.ticket(f["ticketid"])
        if ticket is None:
            return TICKET_NOT_FOUND
        creator = _staff(store, f.get("staffid"))
        if creator is None:
            return 400, "No staff id specified"
        if "contents" not in f:
            return 400, "No contents specified"
        for name, message, must_be_set in TIMETRACK_FIELDS:
            if name not in f or (must_be_set and php_empty(f[name])):
                return 400, message
        worker = creator
        if "workerstaffid" in f:
            worker = _staff(store, f["workerstaffid"])  # type: ignore[assignment]
            if worker is None:
                return 400, "Invalid worker staff id specified"
        entry = time_track(store, ticket, creator, worker, php_intval(f["timespent"]),
                           php_intval(f["timebillable"]), php_intval(f["worktimeline"]),
                           php_intval(f["billtimeline"]), f["contents"], _color(f.get("notecolor")))
        store.add_timetrack(ticket, entry)
        return self._tracks(ticket, entry.id)

    def track_delete(self, call: Call, params: list[str]) -> Result:
        _, entry, error = self._owned(
            params, self.store.timetracks, "Ticket time tracking note not Found",
            "Ticket time tracking note does not belong to the specified ticket")
        if error:
            return error
        self.store.delete_timetrack(entry)
        return 200, ""

    # -- Tickets/TicketSearch, Base/User -----------------------------------------------------
    def search(self, call: Call, params: list[str]) -> Result:
        f = call.form
        flags = [k for k in SEARCH_FLAGS if f.get(k) == "1"]
        if f.get("phrase") == "1":
            flags = ["phrase" if k == "contents" else k for k in flags]
        query = "" if php_empty(f.get("query")) else f["query"]
        ids = self.store.search(query, flags, self.search_limit)
        return self._tickets(self.store.tickets[i] for i in ids)

    def user_get(self, call: Call, params: list[str]) -> Result:
        raw, users = _arg(params, 0), self.store.users
        if php_empty(raw):
            chosen = list(users.values())[:1000]
        else:
            chosen = [users[php_intval(raw)]] if php_intval(raw) in users else []
        return 200, xml.users(self.store, chosen)

    def user_filter(self, call: Call, params: list[str]) -> Result:
        """Users with id >= marker, ascending; at most 1000 (0 gives none, negative all)."""
        marker, limit = _arg(params, 0, "0"), min(php_intval(_arg(params, 1, "1000")), 1000)
        ids = self.store.user_ids_from(0 if php_empty(marker) else php_intval(marker))
        if limit >= 0:
            ids = ids[:limit]
        return 200, xml.users(self.store, (self.store.users[i] for i in ids))


def _snapshot(t: Ticket) -> tuple[Any, ...]:
    return (t.departmentid, t.statusid, t.priorityid, t.typeid, t.ownerstaffid, t.fullname,
            t.email, t.subject, t.userid, t.tgroupid)
