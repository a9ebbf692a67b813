"""Kayako Classic v4 REST emulator: ``/api/index.php`` with salt + HMAC signatures and XML.

A route is sent as ``?e=/Tickets/Ticket/1``, as ``e`` in a POST (or form-encoded PUT) body,
or as the first, nameless query token (``?/Tickets/Ticket/1``). A method-name segment
(``ListAll``, ``GetTicketCount``, ``Filter``) runs that method; otherwise the verb decides:
GetList, Get, Post, Put or Delete.
"""

from __future__ import annotations

import base64
import random
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from deskbridge.sdk import Emulator, Knobs

from . import wire
from .seed import (
    CUSTOM_FIELDS,
    CUSTOM_GROUP,
    CUSTOM_OPTIONS,
    Activity,
    Dice,
    Pools,
    SeedBuilder,
    custom_text,
    custom_truth,
    new_ticket,
    staff_post,
    ticket_note,
    time_track,
    user_post,
)
from .store import (
    CREATOR_STAFF,
    CREATOR_USER,
    SORT_KEYS,
    TYPE_DEFAULT,
    TYPE_PHONE,
    Row,
    Store,
    Ticket,
)
from .wire import arg, blank, php_empty, php_intval, php_key

XML_TYPE = "text/xml"
# not documented: emulator choice -- auth failures and dispatch exceptions go out before the
# XML header is set, so they carry PHP's default content type.
PLAIN_TYPE = "text/html; charset=UTF-8"
# not documented: emulator choice -- the server's exception text for an unknown controller or
# method, sent as a 404.
UNDECLARED = "Undeclared Function Called in API Controller"
# not documented: emulator choice -- the helpdesk's TicketSearch result limit (t_resultlimit).
SEARCH_LIMIT = 100
NAMED_METHODS = ("listall", "getticketcount", "filter", "listoptions")
TICKET_NOT_FOUND: tuple[int, str] = (404, "Ticket not Found")
TICKET_FIELDS = (
    ("subject", "Subject is empty"),
    ("fullname", "Fullname is empty"),
    ("email", "Email is empty"),
    ("contents", "Contents is empty"),
    ("departmentid", "Department ID is empty"),
    ("ticketstatusid", "Ticket Status ID is empty"),
    ("ticketpriorityid", "Ticket Priority ID is empty"),
    ("tickettypeid", "Ticket Type ID is empty"),
)
TIMETRACK_FIELDS = (
    ("worktimeline", "No work timeline specified", True),
    ("billtimeline", "No bill timeline specified", True),
    ("timespent", "No time spent specified", False),
    ("timebillable", "No time billable specified", False),
)
SEARCH_FLAGS = (
    "ticketid",
    "contents",
    "author",
    "email",
    "creatoremail",
    "fullname",
    "notes",
    "usergroup",
    "userorganization",
    "user",
    "tags",
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_FILENAME = re.compile(r"^filename([0-9]?)$")
Result = tuple[int, str]
Handler = Callable[[wire.Call, list[str]], Result]


class KayakoEmulator(Emulator):
    """A Kayako Classic helpdesk (REST API 4.01.2xx) with seeded, deterministic data.

    Options: ``api_enabled`` (False answers every call 403, as when the API interface is
    switched off), ``post_order`` ("asc" or "desc", the helpdesk's post-order setting),
    ``search_limit`` (the helpdesk's TicketSearch result limit) and ``clock`` (the time
    source of API writes and mutations).
    """

    vendor = "kayako"

    def __init__(
        self,
        *,
        seed: int = 7,
        tickets: int = 300,
        knobs: Knobs | None = None,
        api_enabled: bool = True,
        post_order: str = "asc",
        search_limit: int = SEARCH_LIMIT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(seed=seed, knobs=knobs)
        pools = Pools.build(seed)
        self.store: Store = SeedBuilder(seed, pools).build(tickets)
        self.activity = Activity(self.store, pools, self.rng, clock)
        self.api_enabled = api_enabled
        self.controllers = Controllers(
            self.store,
            random.Random(seed + 1),
            clock,
            posts_desc=post_order == "desc",
            search_limit=search_limit,
        )
        keys = random.Random(f"kayako-credentials-{seed}")
        self._api_key = str(uuid.UUID(int=keys.getrandbits(128), version=4))
        pair = "".join(str(uuid.UUID(int=keys.getrandbits(128), version=4)) for _ in range(2))
        self._secret_key = base64.b64encode(pair.encode()).decode()[:254]

    def vendor_app(self) -> ASGIApp:
        return Starlette(
            routes=[
                Route("/api/index.php", self._endpoint, methods=["GET", "POST", "PUT", "DELETE"])
            ]
        )

    def credentials(self) -> dict[str, str]:
        """``api_key`` (a UUID) and ``secret_key`` (Base64 of two UUIDs, as Kayako makes it)."""
        return {"api_key": self._api_key, "secret_key": self._secret_key}

    def ground_truth(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Live data in canonical terms.

        Source ids: tickets ``"<ticketid>"``; notes ``"post:<ticketpostid>"`` (kind reply,
        private when the post is private) and ``"note:<ticketnoteid>"`` (kind note, private;
        only ``type="ticket"`` notes, never user or organization notes); time entries
        ``"<timetrack id>"``; people ``"staff:<staffid>"`` and ``"user:<userid>"`` (their
        first email). Status and priority are their titles; texts are what a client parses
        from the XML (control characters removed, line ends as LF). ``ticket_fields``: the
        custom fields set on live tickets, keyed ``"<ticketid>:<customfieldid>"``, typed (a
        select's option value, a multi-select's list of values, a date as ISO 8601 text).
        """
        truth = self.store.ground_truth()
        truth["ticket_fields"] = custom_truth(self.store)
        return truth

    def set_custom_field(self, ticket_id: int, field_id: int, value: Any) -> None:
        """An agent edits a custom field in the staff panel (``None`` clears it).

        Values are stored as Kayako keeps them: text, an option id (select) or a list of option
        ids (multi-select).
        """
        # not documented: emulator choice -- the staff panel saves the ticket with its custom
        # fields, which moves lastactivity; a POST to TicketCustomField does not.
        ticket = self.store.tickets[ticket_id]
        values = self.store.custom.setdefault(ticket_id, {})
        if value is None:
            values.pop(field_id, None)
        else:
            values[field_id] = value
        self.store.touch(ticket, max(int(self.controllers.clock()), ticket.lastactivity + 1))

    def mutate(self, n: int = 10) -> list[str]:
        """Make ``n`` changes as customers and agents would (see ``seed.Activity``)."""
        return [self.activity.step() for _ in range(n)]

    async def _endpoint(self, request: Request) -> Response:
        call = wire.Call.parse(
            request.method,
            request.scope["query_string"].decode("latin-1"),
            request.headers.get("content-type", ""),
            await request.body(),
        )
        status, body, content_type = self.handle(call)
        return Response(body, status_code=status, headers={"content-type": content_type})

    def handle(self, call: wire.Call) -> tuple[int, str, str]:
        """Controller, then authentication (as its constructor does), then the handler."""
        app, name = ([*call.route, "", ""])[:2]
        controller = self.controllers.table.get((app.lower(), name))
        if controller is None:
            return 404, UNDECLARED, PLAIN_TYPE
        if not self.api_enabled:
            return 403, "", PLAIN_TYPE
        failure = wire.auth_failure(call.variables, self._api_key, self._secret_key)
        if failure:
            return 401, failure, PLAIN_TYPE
        args = call.route[2:]
        handler: Handler | None
        if args and args[0].lower() in NAMED_METHODS and args[0].lower() in controller:
            handler, params = controller[args[0].lower()], args[1:]
        else:
            verb = "getlist" if call.method == "GET" and not args else call.method.lower()
            handler, params = controller.get(verb), args or [""]
        if handler is None:
            return 404, UNDECLARED, PLAIN_TYPE
        status, body = handler(call, params)
        return status, body, XML_TYPE


@dataclass(frozen=True)
class Child:
    """Posts, notes or time tracks: the parts Kayako checks the same way for Get and Delete."""

    records: Callable[[Store], dict[int, Any]]
    of: Callable[[Ticket], dict[int, Any]]
    render: Callable[[list[Any]], str]
    remove: Callable[[Store, Any], None]
    missing: str
    foreign: str


class Controllers:
    """The Tickets and Base API controllers, keyed by (app, controller) then handler name."""

    def __init__(
        self,
        store: Store,
        rng: random.Random,
        clock: Callable[[], float],
        *,
        posts_desc: bool,
        search_limit: int,
    ) -> None:
        self.store, self.dice, self.clock = store, Dice(rng), clock
        self.posts_desc, self.search_limit = posts_desc, search_limit
        lk = store.lookups
        posts = Child(
            lambda s: s.posts,
            lambda t: t.posts,
            lambda rows: wire.posts(sorted(rows, key=lambda p: p.id, reverse=posts_desc)),
            Store.delete_post,
            "Ticket Post not Found",
            "Post does not belong to the specified ticket",
        )
        notes = Child(
            lambda s: s.notes,
            lambda t: t.notes,
            lambda rows: wire.wrap("notes", [wire.note_line(n) for n in rows]),
            Store.delete_note,
            "Ticket note not Found",
            "Ticket note does not belong to the specified ticket",
        )
        tracks = Child(
            lambda s: s.timetracks,
            lambda t: t.timetracks,
            lambda rows: wire.wrap("timetracks", [wire.timetrack_line(x) for x in rows]),
            Store.delete_timetrack,
            "Ticket time tracking note not Found",
            "Ticket time tracking note does not belong to the specified ticket",
        )
        self.table: dict[tuple[str, str], dict[str, Handler]] = {
            ("tickets", "Ticket"): {
                **self._child_api("Ticket", None),
                "listall": self.ticket_list,
                "getticketcount": self.ticket_count,
                "get": self.ticket_get,
                "post": self.ticket_post,
                "put": self.ticket_put,
                "delete": self.ticket_delete,
            },
            ("tickets", "TicketPost"): {
                **self._child_api("TicketPost", posts),
                "post": self.post_post,
            },
            ("tickets", "TicketNote"): {
                **self._child_api("TicketNote", notes),
                "post": self.note_post,
            },
            ("tickets", "TicketTimeTrack"): {
                **self._child_api("TicketTimeTrack", tracks),
                "post": self.track_post,
            },
            ("tickets", "TicketSearch"): {
                "post": self.search,
                **dict.fromkeys(
                    ("getlist", "get", "put", "delete"),
                    _fixed(400, "Not Implemented, Call POST /Tickets/TicketSearch instead."),
                ),
            },
            ("tickets", "TicketCount"): {
                "getlist": lambda call, params: (200, wire.ticket_counts(store))
            },
            ("tickets", "TicketStatus"): _lookup(
                "ticketstatuses", "ticketstatus", lk.statuses, False
            ),
            ("tickets", "TicketPriority"): _lookup(
                "ticketpriorities", "ticketpriority", lk.priorities, False
            ),
            ("tickets", "TicketType"): _lookup("tickettypes", "tickettype", lk.types, False),
            ("base", "Department"): _lookup("departments", "department", lk.departments, True),
            ("base", "Staff"): _lookup("staffusers", "staff", lk.staff, True),
            ("base", "StaffGroup"): _lookup("staffgroups", "staffgroup", lk.staffgroups, True),
            ("tickets", "TicketCustomField"): {
                "getlist": _fixed(
                    400, "Not Implemented, Call GET /Tickets/TicketCustomField/$ticketid$ instead."
                ),
                "get": self.custom_get,
                "post": self.custom_post,
            },
            ("base", "CustomField"): {
                "getlist": lambda call, params: (
                    200,
                    wire.custom_field_list(CUSTOM_GROUP, CUSTOM_FIELDS),
                ),
                "listoptions": self.custom_options,
            },
            ("base", "User"): {
                "getlist": self.user_get,
                "get": self.user_get,
                "filter": self.user_filter,
            },
        }

    def _child_api(self, name: str, child: Child | None) -> dict[str, Handler]:
        """GetList's hint, plus ListAll, Get and Delete of a ticket's child records."""
        hint = f"Not Implemented, Call /Tickets/{name}/ListAll instead."
        handlers = {"getlist": _fixed(400, hint)}
        if child is None:
            return handlers

        def listall(call: wire.Call, params: list[str]) -> Result:
            ticket = self.store.ticket(params[0])
            if ticket is None:
                return TICKET_NOT_FOUND
            only = php_intval(arg(params, 1))  # TimeTrack's optional id filter
            rows = [r for r in child.of(ticket).values() if not only or r.id == only]
            return 200, child.render(rows)

        def get(call: wire.Call, params: list[str]) -> Result:
            found, error = self._owned(child, params)
            return error or (200, child.render([found]))

        def delete(call: wire.Call, params: list[str]) -> Result:
            found, error = self._owned(child, params)
            if error:
                return error
            child.remove(self.store, found)
            return 200, ""

        return {**handlers, "listall": listall, "get": get, "delete": delete}

    def _owned(self, child: Child, params: list[str]) -> tuple[Any, Result | None]:
        """The record, or the error: ticket, then record, then ownership, in Kayako's order."""
        if self.store.ticket(params[0]) is None:
            return None, TICKET_NOT_FOUND
        found = wire.record(child.records(self.store), arg(params, 1))
        if found is None:
            return None, (404, child.missing)
        if not wire.same_id(found.ticketid, params[0]):
            return None, (400, child.foreign)
        return found, None

    def _tickets(self, tickets: Iterable[Ticket], with_posts: bool = True) -> Result:
        return 200, wire.tickets(self.store, tickets, with_posts, self.posts_desc)

    # -- Tickets/Ticket --------------------------------------------------------------------
    def _ticket_ids(
        self, call: wire.Call, params: list[str], sort: str = "", desc: bool = False
    ) -> list[int]:
        """ListAll's filters, resolved as Kayako's ProcessTicketRelatedData does."""
        lk = self.store.lookups
        depts = frozenset(d for d in wire.csv_ids(arg(params, 0)) if d in lk.departments)
        raw = arg(params, 1, "-1")
        asked = [] if wire.optional_ids(raw) is None else wire.csv_ids(raw)
        statuses = frozenset(
            s for s in asked if s in lk.statuses and lk.statuses[s]["departmentid"] in (0, *depts)
        )
        if not statuses:
            # The silent default: unresolved statuses. Kayako tests the status id (not its
            # department) against the department list here, and so do we.
            statuses = frozenset(
                s
                for s, row in lk.statuses.items()
                if not row["markasresolved"] and (row["departmentid"] == 0 or s in depts)
            )
        owners = wire.optional_ids(arg(params, 2, "-1"))
        users = wire.optional_ids(arg(params, 3, "-1"))
        email = "" if php_empty(call.form.get("email")) else call.form["email"].lower()

        def match(t: Ticket) -> bool:
            return (
                t.departmentid in depts
                and t.statusid in statuses
                and (owners is None or t.ownerstaffid in owners)
                and (users is None or t.userid in users)
                and (not email or t.email.lower() == email)
            )

        key = (depts, statuses, owners, users, email)
        return self.store.list_ticket_ids(key, match, sort, desc)

    def ticket_list(self, call: wire.Call, params: list[str]) -> Result:
        rows, start = php_intval(arg(params, 4, "-1")), max(0, php_intval(arg(params, 5, "0")))
        sort = re.sub(r"[^a-z0-9_]", "", arg(params, 6).lower())
        desc = arg(params, 7, "ASC").upper() == "DESC"
        ids = self._ticket_ids(call, params, sort if sort in SORT_KEYS else "", desc)
        page = ids[start:] if rows <= 0 else ids[start : start + rows]
        return self._tickets((self.store.tickets[i] for i in page), with_posts=False)

    def ticket_count(self, call: wire.Call, params: list[str]) -> Result:
        total = len(self._ticket_ids(call, params))
        return 200, wire.wrap("tickets", [wire.tag("totalcount", total)])

    def ticket_get(self, call: wire.Call, params: list[str]) -> Result:
        ticket = self.store.ticket(params[0])
        return self._tickets([ticket]) if ticket else TICKET_NOT_FOUND

    def _ticket_post_error(self, f: dict[str, str]) -> str | None:
        lk = self.store.lookups
        for name, message in TICKET_FIELDS:
            if blank(f.get(name)):
                return message
        if all(blank(f.get(k)) for k in ("userid", "staffid", "autouserid")):
            return "Staff ID, User ID and Auto User ID values are empty or not provided"
        dept = lk.departments.get(php_key(f["departmentid"]) or 0)
        if dept is None:
            return "Department ID is Invalid"
        if dept["app"] != "tickets":
            return "Department App is not Tickets"
        for name, table, label in (
            ("ticketstatusid", lk.statuses, "Ticket Status"),
            ("ticketpriorityid", lk.priorities, "Ticket Priority"),
            ("tickettypeid", lk.types, "Ticket Type"),
        ):
            if php_key(f[name]) not in table:
                return f"{label} ID is Invalid"
        if "staffid" in f and self._staff(f["staffid"]) is None:
            return "Staff ID is Invalid"
        return None

    def ticket_post(self, call: wire.Call, params: list[str]) -> Result:
        f, store = call.form, self.store
        error = self._ticket_post_error(f)
        if error:
            return 400, error
        now, fullname, email = int(self.clock()), f["fullname"], f["email"]
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
            staff, creator = self._staff(f["staffid"]), CREATOR_STAFF
            userid = store.get_or_create_user(fullname, email, now)
        phone = f.get("type") == "phone"
        emailto = email if staff and not phone and _EMAIL.match(email) else ""
        if staff and emailto:
            fullname, email = staff["fullname"], staff["email"]
        ticket = new_ticket(
            store,
            self.dice,
            f["subject"],
            (userid, fullname, email),
            php_intval(f["departmentid"]),
            php_intval(f["ticketstatusid"]),
            php_intval(f["ticketpriorityid"]),
            php_intval(f["tickettypeid"]),
            creator,
            now,
            TYPE_PHONE if phone else TYPE_DEFAULT,
        )
        ticket.tgroupid = self._template_group(f.get("templategroup"))
        store.set_status(ticket, ticket.statusid, now)
        if self._staff(f.get("ownerstaffid")):
            store.set_owner(ticket, php_intval(f["ownerstaffid"]))
        store.add_ticket(ticket)
        if staff:
            post = staff_post(store, ticket, staff, f["contents"], now)
            post.emailto, post.isemailed = emailto, int(bool(emailto))
        else:
            post = user_post(store, ticket, userid, fullname, email, f["contents"], now)
        store.add_post(ticket, post)
        return self._tickets([ticket])

    def ticket_put(self, call: wire.Call, params: list[str]) -> Result:
        """Update; invalid ids are ignored, and a real change moves lastactivity."""
        f, lk, store = call.form, self.store.lookups, self.store
        ticket = store.ticket(params[0])
        if ticket is None:
            return TICKET_NOT_FOUND
        before, now = _snapshot(ticket), int(self.clock())
        dept = lk.departments.get(php_key(f.get("departmentid")) or 0)
        if dept and dept["app"] == "tickets":
            ticket.departmentid = dept["id"]
        status = php_key(f.get("ticketstatusid"))
        if status in lk.statuses and status != ticket.statusid:
            store.set_status(ticket, status, now)
        if php_key(f.get("ticketpriorityid")) in lk.priorities:
            ticket.priorityid = php_intval(f["ticketpriorityid"])
        if php_key(f.get("tickettypeid")) in lk.types:
            ticket.typeid = php_intval(f["tickettypeid"])
        if f.get("ownerstaffid") == "0" or self._staff(f.get("ownerstaffid")):
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

    def ticket_delete(self, call: wire.Call, params: list[str]) -> Result:
        ticket = self.store.ticket(params[0])
        if ticket is None:
            return TICKET_NOT_FOUND
        self.store.delete_ticket(ticket)
        return 200, ""

    def custom_get(self, call: wire.Call, params: list[str]) -> Result:
        ticket = self.store.ticket(params[0])
        if ticket is None:
            return TICKET_NOT_FOUND
        shown = {k: custom_text(v) for k, v in self.store.custom.get(ticket.id, {}).items()}
        return 200, wire.ticket_custom_fields(CUSTOM_GROUP, CUSTOM_FIELDS, shown)

    def custom_post(self, call: wire.Call, params: list[str]) -> Result:
        """Set the fields the form names (by field name; options by id); lastactivity stays."""
        ticket = self.store.ticket(params[0])
        if ticket is None:
            return TICKET_NOT_FOUND
        values, bad = dict(self.store.custom.get(ticket.id, {})), []
        for f in CUSTOM_FIELDS:
            given = _custom_given(call.form, f)
            if given is _ABSENT:
                continue
            if given is None:
                bad.append(f["title"])
            else:
                values[f["id"]] = given
        if bad:
            return 400, "Custom Field Data is Invalid: " + ", ".join(bad)
        self.store.custom[ticket.id] = {k: v for k, v in values.items() if v not in ("", [])}
        return self.custom_get(call, params)

    def custom_options(self, call: wire.Call, params: list[str]) -> Result:
        if php_empty(arg(params, 0)):
            return 400, "No Custom Field ID Provided"
        field_id = php_intval(params[0])
        rows = [(o, f, v) for o, (f, v) in CUSTOM_OPTIONS.items() if f == field_id]
        return 200, wire.custom_field_options(rows)

    def _staff(self, raw: str | None) -> Row | None:
        key = php_key(raw)
        return self.store.lookups.staff.get(key) if key is not None else None

    def _template_group(self, raw: str | None) -> int:
        groups = self.store.lookups.templategroups
        if php_key(raw) in groups:
            return php_intval(raw)
        titled = [gid for gid, title in groups.items() if raw and title.lower() == raw.lower()]
        return titled[-1] if titled else min(groups)

    # -- creating posts, notes and time tracks ---------------------------------------------
    def post_post(self, call: wire.Call, params: list[str]) -> Result:
        f, store = call.form, self.store
        for name, message in (
            ("ticketid", "No Ticket ID Specified"),
            ("contents", "No Contents Specified"),
        ):
            if blank(f.get(name)):
                return 400, message
        if blank(f.get("userid")) and blank(f.get("staffid")):
            return 400, "Staff ID and User ID is empty"
        ticket, now = store.ticket(f["ticketid"]), int(self.clock())
        if ticket is None:
            return TICKET_NOT_FOUND
        files = tuple(
            store.attachment(f[k], wire.b64_file(f["filecontent" + m.group(1)]), now)
            for k in f
            if (m := _FILENAME.match(k)) and "filecontent" + m.group(1) in f
        )
        if not php_empty(f.get("userid")):
            user = wire.record(store.users, f["userid"])
            if user is None:
                return 400, "User ID is Invalid"
            email = user.emails[0] if user.emails else ""
            post = user_post(store, ticket, user.id, user.fullname, email, f["contents"], now)
        else:
            staff = self._staff(f["staffid"])
            if staff is None:
                return 400, "Staff ID is Invalid"
            private = int(f.get("isprivate") == "1")
            post = staff_post(store, ticket, staff, f["contents"], now, private)
        post.attachments = files
        store.add_post(ticket, post)
        return 200, wire.posts([post])

    def note_post(self, call: wire.Call, params: list[str]) -> Result:
        f, store = call.form, self.store
        if blank(f.get("ticketid")):
            return 400, "No Ticket ID Specified"
        ticket = store.ticket(f["ticketid"])
        if ticket is None:
            return TICKET_NOT_FOUND
        staff, forstaff = self._staff(f.get("staffid")), self._staff(f.get("forstaffid"))
        if blank(f.get("fullname")) and staff is None:
            return 400, "No fullname or staff id specified"
        if "contents" not in f:
            return 400, "No contents specified"
        note = ticket_note(
            store,
            ticket,
            staff["id"] if staff else 0,
            staff["fullname"] if staff else f["fullname"],
            f["contents"],
            int(self.clock()),
            forstaff["id"] if forstaff else 0,
            wire.note_color(f.get("notecolor")),
        )
        store.add_note(ticket, note)
        return 200, wire.wrap("notes", [wire.note_line(note)])

    def track_post(self, call: wire.Call, params: list[str]) -> Result:
        f, store = call.form, self.store
        if blank(f.get("ticketid")):
            return 400, "No Ticket ID Specified"
        ticket = store.ticket(f["ticketid"])
        if ticket is None:
            return TICKET_NOT_FOUND
        creator = self._staff(f.get("staffid"))
        if creator is None:
            return 400, "No staff id specified"
        if "contents" not in f:
            return 400, "No contents specified"
        for name, message, nonzero in TIMETRACK_FIELDS:
            if name not in f or (nonzero and php_empty(f[name])):
                return 400, message
        worker = self._staff(f["workerstaffid"]) if "workerstaffid" in f else creator
        if worker is None:
            return 400, "Invalid worker staff id specified"
        entry = time_track(
            store,
            ticket,
            creator,
            worker,
            php_intval(f["timespent"]),
            php_intval(f["timebillable"]),
            php_intval(f["worktimeline"]),
            php_intval(f["billtimeline"]),
            f["contents"],
            wire.note_color(f.get("notecolor")),
        )
        store.add_timetrack(ticket, entry)
        return 200, wire.wrap("timetracks", [wire.timetrack_line(entry)])

    # -- Tickets/TicketSearch, Base/User -----------------------------------------------------
    def search(self, call: wire.Call, params: list[str]) -> Result:
        f = call.form
        flags = [k for k in SEARCH_FLAGS if f.get(k) == "1"]
        if f.get("phrase") == "1":
            flags = ["phrase" if k == "contents" else k for k in flags]
        query = "" if php_empty(f.get("query")) else f["query"]
        ids = self.store.search(query, flags, self.search_limit)
        return self._tickets(self.store.tickets[i] for i in ids)

    def user_get(self, call: wire.Call, params: list[str]) -> Result:
        raw, users = arg(params, 0), self.store.users
        if php_empty(raw):
            chosen = list(users.values())[:1000]
        else:
            chosen = [users[php_intval(raw)]] if php_intval(raw) in users else []
        return 200, wire.users(chosen)

    def user_filter(self, call: wire.Call, params: list[str]) -> Result:
        """Users with id >= marker, ascending; at most 1000 (0 gives none, negative all)."""
        marker, limit = arg(params, 0, "0"), min(php_intval(arg(params, 1, "1000")), 1000)
        ids = self.store.user_ids_from(0 if php_empty(marker) else php_intval(marker))
        if limit >= 0:
            ids = ids[:limit]
        return 200, wire.users(self.store.users[i] for i in ids)


_ABSENT = object()


def _custom_given(form: dict[str, str], f: Row) -> Any:
    """A posted field's value to store; ``_ABSENT`` when not posted, None when invalid."""
    name, kind = f["fieldname"], f["fieldtype"]
    if kind == 7:  # multi-select: name[0]=<option id>, name[1]=...
        keys = [k for k in form if k.startswith(name + "[")]
        if not keys:
            return _ABSENT
        ids = sorted({php_intval(form[k]) for k in keys} - {0})
        ok = all(CUSTOM_OPTIONS.get(i, (0,))[0] == f["id"] for i in ids)
        return ids if ok else None
    if name not in form:
        return _ABSENT
    raw = form[name].strip()
    if kind == 6:
        option = php_intval(raw)
        return option if CUSTOM_OPTIONS.get(option, (0,))[0] == f["id"] else None
    if kind == 10 and raw and not re.fullmatch(r"\d\d/\d\d/\d{4}", raw):
        return None
    return raw


def _fixed(status: int, text: str) -> Handler:
    return lambda call, params: (status, text)


def _lookup(root: str, item: str, table: dict[int, Row], cast_first: bool) -> dict[str, Handler]:
    """GetList and Get of a configuration table (an empty or zero id lists them all)."""

    def get(call: wire.Call, params: list[str]) -> Result:
        raw = str(php_intval(params[0])) if cast_first else params[0]
        if php_empty(raw):
            return 200, wire.rows(root, item, table.values())
        row = table.get(php_intval(raw))
        return 200, wire.rows(root, item, [row] if row else [])

    return {"getlist": lambda call, params: get(call, [""]), "get": get}


def _snapshot(t: Ticket) -> tuple[Any, ...]:
    return (
        t.departmentid,
        t.statusid,
        t.priorityid,
        t.typeid,
        t.ownerstaffid,
        t.fullname,
        t.email,
        t.subject,
        t.userid,
        t.tgroupid,
    )
