"""Omnidesk API v2 emulator: the Ticket controller and ``POST /api/v2/message``.

Clients use the server root as base URL and call ``/api/v2/ticket…`` and ``/api/v2/message``
with the ``apiKey`` query parameter; bodies are PHP-style form fields (urlencoded or
multipart). What the vendor leaves undocumented is decided here once, marked
``not documented: emulator choice``.
"""

from __future__ import annotations

import gc
import random
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from deskbridge.sdk import Emulator, Knobs

from .seed import Mutator, build
from .store import (
    API_USER_ID,
    CHANNEL_WORDS,
    CHANNELS,
    FINISHED,
    GROUPS,
    NOTE_CHANNEL,
    PRIORITIES,
    STATUSES,
    Post,
    Ticket,
    now,
)
from .wire import (
    DIGITS,
    EMAIL,
    ApiError,
    Fields,
    choice,
    error_response,
    id_list,
    item_body,
    item_response,
    json_response,
    list_body,
    number,
    post_dict,
    read_fields,
    required_choice,
    result_response,
    text,
)

PERMISSIONS = frozenset(
    {
        "TICKET_READ",
        "TICKET_CREATE",
        "TICKET_UPDATE",
        "TICKET_DELETE",
        "SET_STATUS",
        "TICKET_BATCH",
        "MESSAGE_CREATE",
    }
)
API_ACTOR = "API"  # not documented: emulator choice (initiated_by of events from API writes)
# not documented: emulator choice (views applyView accepts, by name)
VIEWS: dict[str, Callable[[Ticket], bool]] = {
    "unassigned": lambda t: t.user_id == 0,
    "unsolved": lambda t: t.status not in FINISHED,
    "urgent": lambda t: t.priority == "urgent",
}
# not documented: emulator choice (the message of each successful action)
RESULTS = {
    "update": "Ticket updated.",
    "delete": "Ticket deleted.",
    "multi": "Tickets deleted.",
    "status": "Status updated.",
    "priority": "Priority updated.",
    "solve": "Unfinished tickets solved.",
    "unlink": "Customer unlinked from ticket.",
    "batch": "Batch actions performed.",
}
# not documented: emulator choice (batch actionType values, a minimal set)
BATCH_ACTIONS = ("status", "priority", "assignedGroupID")
VIEW_NAME = re.compile(r"^[0-9a-zA-Z\-\_]+$")
# not documented: emulator choice (how the getTicketHistory query flag spells a boolean)
TRUE, FALSE = ("1", "true", "yes"), ("", "0", "false", "no")

Handler = Callable[[Request, Fields], Response]
Endpoint = Callable[[Request], Awaitable[Response]]


class OmnideskEmulator(Emulator):
    """Omnidesk API v2 with seeded tickets.

    ``keys`` maps API keys to their permission names; by default one key holds every
    permission and a second only ``TICKET_READ`` (see :meth:`credentials`).
    """

    vendor = "omnidesk"

    def __init__(
        self,
        *,
        seed: int = 7,
        tickets: int = 300,
        knobs: Knobs | None = None,
        keys: dict[str, set[str]] | None = None,
    ) -> None:
        super().__init__(seed=seed, knobs=knobs)
        collecting = gc.isenabled()
        gc.disable()  # the build makes ~10^6 objects and none of them cycles
        try:
            self.data, pools = build(seed, tickets)
        finally:
            if collecting:
                gc.enable()
        self._mutator = Mutator(self.data, pools, self.rng)
        key_rng = random.Random(f"omnidesk-keys-{seed}")
        self._full, self._readonly = (f"{key_rng.getrandbits(128):032x}" for _ in range(2))
        default = {self._full: set(PERMISSIONS), self._readonly: {"TICKET_READ"}}
        self.keys = {k: frozenset(v) for k, v in (keys if keys is not None else default).items()}
        self._custom_keys = keys is not None

    def credentials(self) -> dict[str, str]:
        """``api_key`` (every permission) and ``readonly_api_key`` (``TICKET_READ``) by
        default; with custom ``keys``, ``api_key`` is the first of them."""
        if self._custom_keys:
            return {"api_key": next(iter(self.keys), "")}
        return {"api_key": self._full, "readonly_api_key": self._readonly}

    def ground_truth(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Live data in canonical terms, archived tickets included.

        Source ids: tickets by ticket id (``"850001"``); timeline messages as
        ``"message:<id>"`` (kind reply, public) and notes as ``"note:<id>"`` (kind note,
        private); people as ``"customer:<customer_id>"`` (requester, for every customer
        linked to a live ticket, named as the ticket's customer side shows them) and
        ``"staff:<user_id>"`` (for every author of a live message or note, with the name and
        ``from`` address of their posts). Status and priority are the API values (``"open"``,
        ``"medium"``). There are no time entries.
        """
        return self.data.ground_truth()

    def mutate(self, n: int = 10) -> list[str]:
        """New tickets, customer and staff messages, notes, status/priority/assignee and
        title changes and the odd deletion, each moving ``last_update`` like an API write."""
        return self._mutator.run(n)

    def vendor_app(self) -> ASGIApp:
        def route(path: str, method: str, permission: str | None, fn: Handler) -> Route:
            return Route(path, self._endpoint(permission, fn), methods=[method])

        v2 = "/api/v2/ticket"
        routes = [
            route(v2, "GET", "TICKET_READ", self._index),
            route(v2, "POST", "TICKET_CREATE", self._create),
            route(f"{v2}/multi", "DELETE", "TICKET_DELETE", self._delete_multi),
            route(f"{v2}/setStatus", "POST", "SET_STATUS", self._set_status),
            route(f"{v2}/solveUnfinishedTickets", "PUT", "SET_STATUS", self._solve_unfinished),
            route(f"{v2}/setPriority", "POST", "TICKET_UPDATE", self._set_priority),
            # not documented: emulator choice (the permission of unlinkCustomerFromTicket)
            route(f"{v2}/unlinkCustomerFromTicket", "POST", "TICKET_UPDATE", self._unlink),
            route(f"{v2}/batch", "POST", "TICKET_BATCH", self._batch),
            route(f"{v2}/{{ticketID}}", "GET", "TICKET_READ", self._get),
            route(f"{v2}/{{ticketID}}", "PUT", "TICKET_UPDATE", self._update),
            route(f"{v2}/{{ticketID}}", "DELETE", "TICKET_DELETE", self._delete),
            route("/api/v2/message", "POST", "MESSAGE_CREATE", self._message),
        ]
        return Starlette(routes=routes, exception_handlers={HTTPException: _http_error})

    # -- plumbing ------------------------------------------------------------------------
    def _endpoint(self, permission: str | None, fn: Handler) -> Endpoint:
        async def handler(request: Request) -> Response:
            try:
                self._authorize(request.query_params.get("apiKey"), permission)
                return fn(request, await read_fields(request))
            except ApiError as exc:
                return error_response(exc.status, exc.message)

        return handler

    def _authorize(self, key: str | None, permission: str | None) -> None:
        if not key:
            raise ApiError("no_key")
        granted = self.keys.get(key)
        if granted is None:
            raise ApiError("bad_key")
        if permission and permission not in granted:
            raise ApiError("forbidden", permission)

    def _ticket(self, raw: object) -> Ticket:
        if not (isinstance(raw, str) and DIGITS.match(raw)):
            raise ApiError("no_ticket")
        ticket = self.data.tickets.get(int(raw))
        if ticket is None:
            raise ApiError("no_ticket")
        return ticket

    def _tickets(self, raw: list[str]) -> list[Ticket]:
        return [self._ticket(i) for i in dict.fromkeys(raw)]

    # -- Ticket controller ---------------------------------------------------------------
    def _index(self, _: Request, f: Fields) -> Response:
        view = text(f, "applyView")
        if view and (len(view) < 2 or not VIEW_NAME.match(view)):
            raise ApiError("invalid", "applyView")
        if view and view not in VIEWS:
            raise ApiError("no_view")
        query = text(f, "query").lower()
        start, limit = number(f, "itemStart", 0), number(f, "itemLimit", 15)
        if not 1 <= limit <= 9999:
            raise ApiError("invalid", "itemLimit")
        # not documented: emulator choice (searchArchived=yes adds archived tickets to the rest)
        archived = choice(f, "searchArchived", ("no", "yes"), "no") == "yes"
        status = choice(f, "status", STATUSES, "")

        def keep(t: Ticket) -> bool:
            return (
                (archived or not t.archived)
                and (not status or t.status == status)
                and (not view or VIEWS[view](t))
                and (not query or _matches(t, query))
            )

        found = self.data.listing((view, query, archived, status), keep)
        return json_response(list_body(found[start : start + limit], len(found), self.data))

    def _create(self, _: Request, f: Fields) -> Response:
        brand_id, channel_id = number(f, "brandID", 1), number(f, "channelID", 1)
        if brand_id not in self.data.brands:
            raise ApiError("no_brand")
        if channel_id not in CHANNELS:
            raise ApiError("no_channel")
        group_id = number(f, "assignedGroupID", 0)
        if group_id and group_id not in GROUPS:
            raise ApiError("no_group")
        form_id = number(f, "formID", None)
        direction = choice(f, "direction", ("inbound", "outbound"), "inbound")
        title, sender, name, to = (
            text(f, "title"),
            text(f, "from"),
            text(f, "fromName", " "),
            text(f, "to"),
        )
        at = now()
        ticket = Ticket(
            self.data.new_ticket_id(),
            title,
            "new",
            "medium",
            direction,
            sender,
            name,
            to,
            "",
            at,
            group_id,
            0,
            0,
            channel_id,
            brand_id,
            form_id=form_id,
        )
        self.data.create_ticket(ticket, at)
        return json_response(item_body(ticket, self.data, history=False))

    def _get(self, request: Request, f: Fields) -> Response:
        history = text(f, "getTicketHistory").lower()
        if history not in TRUE + FALSE:
            raise ApiError("invalid", "getTicketHistory")
        ticket = self._ticket(request.path_params["ticketID"])
        return json_response(item_body(ticket, self.data, history=history in TRUE))

    def _update(self, request: Request, f: Fields) -> Response:
        ticket = self._ticket(request.path_params["ticketID"])
        external = text(f, "externalPrimaryID")
        customer = self.data.by_external.get(external) if external else None
        if external and customer is None:
            raise ApiError("no_customer")
        status = choice(f, "status", ("solved", "closed"), "")
        title = text(f, "title") if "title" in f else None
        at = now()
        if customer is not None:
            self.data.link_customer(ticket, customer, API_ACTOR, at)
        if title is not None:
            self.data.set_title(ticket, title, API_ACTOR, at)
        if status:
            self.data.set_status(ticket, status, API_ACTOR, at)
        return result_response(RESULTS["update"])

    def _delete(self, request: Request, _: Fields) -> Response:
        self.data.delete(self._ticket(request.path_params["ticketID"]))
        return result_response(RESULTS["delete"])

    def _delete_multi(self, _: Request, f: Fields) -> Response:
        for ticket in self._tickets(id_list(f, "ticketIDs")):
            self.data.delete(ticket)
        return result_response(RESULTS["multi"])

    def _set_status(self, _: Request, f: Fields) -> Response:
        status = required_choice(f, "status", STATUSES)
        at = now()
        for ticket in self._tickets(id_list(f, "ticketIDs")):
            self.data.set_status(ticket, status, API_ACTOR, at)
        return result_response(RESULTS["status"])

    def _set_priority(self, _: Request, f: Fields) -> Response:
        priority = required_choice(f, "priority", PRIORITIES)
        at = now()
        for ticket in self._tickets(id_list(f, "ticketIDs")):
            self.data.set_priority(ticket, priority, API_ACTOR, at)
        return result_response(RESULTS["priority"])

    def _solve_unfinished(self, _: Request, __: Fields) -> Response:
        # not documented: emulator choice (unfinished = unsolved tickets without any message)
        at = now()
        for ticket in self.data.unfinished():
            self.data.set_status(ticket, "solved", API_ACTOR, at)
        return result_response(RESULTS["solve"])

    def _unlink(self, _: Request, f: Fields) -> Response:
        if not text(f, "ticketID"):
            raise ApiError("missing", "ticketID")
        ticket = self._ticket(text(f, "ticketID"))
        self.data.link_customer(ticket, None, API_ACTOR, now())
        return result_response(RESULTS["unlink"])

    def _batch(self, _: Request, f: Fields) -> Response:
        raw = text(f, "TicketIDs")
        if not raw:
            raise ApiError("missing", "TicketIDs")
        ids = [part.strip() for part in raw.split(",") if part.strip()]
        if not re.match(r"^[0-9, ]+$", raw) or not ids or not all(DIGITS.match(i) for i in ids):
            raise ApiError("invalid", "TicketIDs")
        actions = _batch_actions(f.get("actions"))
        at, apply = now(), {"status": self.data.set_status, "priority": self.data.set_priority}
        for ticket in self._tickets(ids):
            for kind, value in actions:
                if kind == "assignedGroupID":
                    self.data.set_group(ticket, int(value), API_ACTOR, at)
                else:
                    apply[kind](ticket, value, API_ACTOR, at)
        return result_response(RESULTS["batch"])

    # -- Message controller --------------------------------------------------------------
    def _message(self, _: Request, f: Fields) -> Response:
        if not text(f, "ticketID"):
            raise ApiError("missing", "ticketID")
        ticket = self._ticket(text(f, "ticketID"))
        channel = _channel(text(f, "type"))
        to = text(f, "toAddress")
        _addresses(f, channel, to)
        respond = number(f, "respondMessageID", 0)
        if respond and not any(p.id == respond and not p.is_note for p in ticket.posts()):
            raise ApiError("no_message")
        content = text(f, "message")
        if not content:
            raise ApiError("missing", "message")
        if len(content) < 5:
            raise ApiError("invalid", "message")
        text(f, "plaintext")
        if "forwardedFileIDs" in f:
            id_list(f, "forwardedFileIDs")
        post = self.data.add_post(ticket, self._post(ticket, channel, to, content))
        return item_response(post_dict(post))

    def _post(self, ticket: Ticket, channel: int, to: str, content: str) -> Post:
        """A note (channel 0) or an outbound message written as the API user."""
        user, at = self.data.staff[API_USER_ID], now()
        if channel == NOTE_CHANNEL:
            return Post(
                0,
                ticket.id,
                True,
                content,
                user.id,
                user.name,
                0,
                "",
                user.email,
                user.name,
                "",
                "",
                at,
            )
        customer = self.data.customers.get(ticket.customer_id)
        to_name = customer.name if customer and customer.email == to else ""
        return Post(
            0,
            ticket.id,
            False,
            content,
            user.id,
            user.name,
            channel,
            "outbound",
            user.email,
            user.name,
            to,
            to_name,
            at,
        )


def _batch_actions(raw: object) -> list[tuple[str, str]]:
    if not raw:
        raise ApiError("missing", "actions")
    listed = raw if isinstance(raw, list) else []
    entries = raw.items() if isinstance(raw, dict) else enumerate(listed)
    actions = []
    for index, action in entries:
        if not isinstance(action, dict):
            raise ApiError("invalid", f"actions[{index}]")
        kind, value = action.get("actionType"), action.get("value")
        if kind not in BATCH_ACTIONS:
            raise ApiError("invalid", f"actions[{index}][actionType]")
        if not isinstance(value, str):
            raise ApiError("missing", f"actions[{index}][value]")
        if kind == "assignedGroupID" and not (
            DIGITS.match(value) and (int(value) == 0 or int(value) in GROUPS)
        ):
            raise ApiError("no_group")
        if value not in {"status": STATUSES, "priority": PRIORITIES}.get(kind, (value,)):
            raise ApiError("invalid", f"actions[{index}][value]")
        actions.append((kind, value))
    if not actions:
        raise ApiError("invalid", "actions")
    return actions


def _channel(kind: str) -> int:
    if not kind:
        raise ApiError("missing", "type")
    if kind in CHANNEL_WORDS:
        return CHANNEL_WORDS[kind]
    if not DIGITS.match(kind):
        raise ApiError("invalid", "type")
    if int(kind) != NOTE_CHANNEL and int(kind) not in CHANNELS:
        raise ApiError("no_channel")
    return int(kind)


def _addresses(f: Fields, channel: int, to: str) -> None:
    """E-mail messages need a recipient; every address given must be an e-mail address."""
    if channel == 1 and not to:
        raise ApiError("missing", "toAddress")
    checks = [("ccInput", text(f, "ccInput")), ("bccInput", text(f, "bccInput"))]
    if channel == 1:
        checks.insert(0, ("toAddress", to))
    for name, value in checks:
        if value and not all(EMAIL.match(a.strip()) for a in value.split(",")):
            raise ApiError("invalid", name)


def _matches(t: Ticket, query: str) -> bool:
    # not documented: emulator choice (query matches id, title and the from/to addresses and names)
    return query == str(t.id) or any(
        query in s.lower() for s in (t.title, t.sender, t.sender_name, t.to, t.to_name)
    )


async def _http_error(_: Request, exc: Exception) -> Response:
    kind = "method" if isinstance(exc, HTTPException) and exc.status_code == 405 else "no_endpoint"
    error = ApiError(kind)
    return error_response(error.status, error.message)
