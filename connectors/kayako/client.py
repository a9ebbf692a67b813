"""Kayako Classic REST client: routes in, raw records (plain dicts) out. No mapping here."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, cast

import httpx
from lxml import etree
from lxml.etree import _Element as Element

from deskbridge.sdk import Costed, HttpSession, PayloadError, check_ids, excerpt, reject_html
from deskbridge.sdk.http import is_html

API_PATH = "/api/index.php"
Record = dict[str, Any]


_parsers = threading.local()  # an lxml parser must not be shared between threads


def _parser() -> etree.XMLParser:
    """A hardened libxml2 parser: no entity expansion, no DTD, no network, no huge trees.

    Kayako answers plain XML; a DOCTYPE (the carrier of entity bombs and external entities) is
    refused after parsing by :func:`parse_xml`, and libxml2 stops entity amplification itself.
    """
    parser: etree.XMLParser | None = getattr(_parsers, "parser", None)
    if parser is None:
        parser = _parsers.parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            huge_tree=False,
            load_dtd=False,
            dtd_validation=False,
            remove_comments=True,
            remove_pis=True,
        )
    return parser


def parse_xml(response: httpx.Response) -> Element:
    """The XML root of a response, or a PayloadError saying what arrived instead."""
    if is_html(response):  # the route is named only then: reading it parses the query
        reject_html(response, "kayako", _route_of(response))
    try:
        root = etree.fromstring(response.content, _parser())
    except etree.XMLSyntaxError as exc:
        raise _malformed(response, str(exc)) from None
    if root.getroottree().docinfo.internalDTD is not None:
        raise _malformed(response, "a DOCTYPE, refused: it may declare entities")
    return root


def _malformed(response: httpx.Response, why: str) -> PayloadError:
    return PayloadError(
        f"malformed XML ({why}); body starts {excerpt(response, 80)!r}",
        vendor="kayako",
        resource=_route_of(response),
        status=response.status_code,
    )


def _route_of(response: httpx.Response) -> str:
    return response.request.url.params.get("e", str(response.request.url.path))


def _attrs(el: Element) -> Record:
    return dict(cast(Mapping[str, str], el.attrib))  # lxml's stubs allow bytes keys; XML gives str


def record(el: Element) -> Record:
    """Attributes and simple children as strings; repeated or structured children as lists."""
    out: Record = _attrs(el)
    for child in el:
        tag = child.tag  # lxml builds a new str on each access: read it once
        if len(child) or child.attrib:
            out.setdefault(tag, []).append(record(child) | _text(child))
            continue
        text = child.text or ""
        if tag not in out:
            out[tag] = text
        elif isinstance(previous := out[tag], list):
            previous.append(text)
        else:
            out[tag] = [previous, text]
    return out


def _text(el: Element) -> Record:
    return {"contents": el.text or ""} if el.text and el.text.strip() else {}


def ticket_record(el: Element) -> Record:
    """A ``<ticket>``: fields, ``note`` (staff notes and time tracks) and ``posts`` when present."""
    out: Record = _attrs(el)
    for child in el:
        tag = child.tag
        if tag == "posts":
            out["posts"] = [post_record(p) for p in child]
        elif tag in ("note", "watcher", "workflow"):
            out.setdefault(tag, []).append(_attrs(child) | {"contents": child.text or ""})
        else:
            out[tag] = child.text or ""
    return out


def post_record(el: Element) -> Record:
    out = record(el)
    attachments = out.pop("attachments", None)
    if attachments:
        out["attachments"] = [
            {k: v for k, v in a.items() if k != "contents"}
            for item in attachments
            for a in item.get("attachment", [])
        ]
    return out


def checked(records: list[Record], route: str) -> list[Record]:
    """Records whose ids are all present, numeric and unique (see :mod:`deskbridge.sdk.validate`)."""
    check_ids(records, "id", vendor="kayako", resource=route)
    return records


def checked_tickets(tickets: list[Record], route: str) -> list[Record]:
    """Tickets with valid ids and ``lastactivity``; their staff notes and time tracks too."""
    check_ids(tickets, "id", vendor="kayako", resource=route, numbers=("lastactivity",))
    for ticket in tickets:
        for kind in ("ticket", "timetrack"):  # two id spaces in one <note> list
            same = [n for n in ticket.get("note", []) if n.get("type") == kind]
            checked(
                same,
                f"{route} ticket {ticket['id']} {'notes' if kind == 'ticket' else 'time tracks'}",
            )
    return tickets


class KayakoClient(Costed):
    """Typed calls over one :class:`HttpSession`; every method returns raw records."""

    def __init__(self, session: HttpSession) -> None:
        self.session = session

    async def _get(self, route: str, resource: str, record_id: str | None = None) -> Element:
        return await self.session.fetch(
            "GET",
            API_PATH,
            params={"e": route},
            cost=self.cost,
            parse=parse_xml,
            resource=resource,
            record_id=record_id,
        )

    async def _send(
        self, method: str, route: str, resource: str, data: dict[str, Any]
    ) -> httpx.Response:
        return await self.session.fetch(
            method,
            API_PATH,
            params={"e": route},
            data=data,
            cost=self.cost,
            parse=lambda r: r,
            resource=resource,
        )

    async def lookup(self, route: str) -> list[Record]:
        """``/Base/Department``, ``/Tickets/TicketStatus`` and the like."""
        root = await self._get(route, route.rsplit("/", 1)[-1].lower())
        return checked([record(child) for child in root], route)

    async def users(self, marker: int, max_items: int = 1000) -> list[Record]:
        route = f"/Base/User/Filter/{marker}/{max_items}"
        return checked([record(child) for child in await self._get(route, "users")], route)

    async def list_tickets(
        self, departments: str, statuses: str, count: int, start: int, sort: str, order: str
    ) -> list[Record]:
        route = (
            f"/Tickets/Ticket/ListAll/{departments}/{statuses}/-1/-1/{count}/{start}/{sort}/{order}"
        )
        root = await self._get(route, "tickets")
        return checked_tickets([ticket_record(child) for child in root], route)

    async def ticket(self, ticket_id: str) -> Record | None:
        """One ticket with its posts, or ``None`` when the helpdesk no longer has it."""
        root = await self.session.fetch(
            "GET",
            API_PATH,
            params={"e": f"/Tickets/Ticket/{ticket_id}"},
            cost=self.cost,
            parse=lambda r: None if r.status_code == 404 else parse_xml(r),
            resource="tickets",
            record_id=ticket_id,
            allow=(404,),
        )
        if root is None or not len(root):
            return None
        return checked_tickets([ticket_record(root[0])], f"/Tickets/Ticket/{ticket_id}")[0]

    async def ticket_count(self) -> Record | None:
        """``/Tickets/TicketCount`` (the helpdesk's count cache) as ``{section: [records]}``:
        ``departments``, ``statuses``, ``owners``, ``unassigned``; ``None`` where it is missing."""
        root = await self.session.fetch(
            "GET",
            API_PATH,
            params={"e": "/Tickets/TicketCount"},
            cost=self.cost,
            parse=lambda r: None if r.status_code == 404 else parse_xml(r),
            resource="ticketcount",
            allow=(404,),
        )
        return (
            None
            if root is None
            else {section.tag: [record(item) for item in section] for section in root}
        )

    async def posts(self, ticket_id: str) -> list[Record]:
        route = f"/Tickets/TicketPost/ListAll/{ticket_id}"
        posts = checked(
            [post_record(child) for child in await self._get(route, "posts", ticket_id)], route
        )
        for post in posts:
            checked(post.get("attachments", []), f"{route} post {post['id']} attachments")
        return posts

    async def create(self, controller: str, data: dict[str, Any]) -> Record:
        """POST a new post, note, time track or ticket; returns the created record."""
        response = await self._send("POST", f"/Tickets/{controller}", controller.lower(), data)
        root = parse_xml(response)
        item = root[0]
        return ticket_record(item) if item.tag == "ticket" else record(item) | _text(item)

    async def update_ticket(self, ticket_id: str, data: dict[str, Any]) -> Record:
        response = await self._send("PUT", f"/Tickets/Ticket/{ticket_id}", "tickets", data)
        return ticket_record(parse_xml(response)[0])

    async def delete(self, controller: str, *ids: str) -> None:
        route = "/".join((f"/Tickets/{controller}", *ids))
        await self.session.fetch(
            "DELETE",
            API_PATH,
            params={"e": route},
            cost=self.cost,
            parse=lambda r: None,
            resource=controller.lower(),
        )

    async def custom_fields(self, ticket_id: str) -> list[Record] | None:
        """``/Tickets/TicketCustomField/<id>``: every field of the ticket's groups (``value``
        empty when unset), or ``None`` when the helpdesk no longer has the ticket."""
        route = f"/Tickets/TicketCustomField/{ticket_id}"
        root = await self.session.fetch(
            "GET",
            API_PATH,
            params={"e": route},
            cost=self.cost,
            parse=lambda r: None if r.status_code == 404 else parse_xml(r),
            resource="customfields",
            record_id=ticket_id,
            allow=(404,),
        )
        if root is None:
            return None
        fields = [record(f) | {"value": f.text or ""} for group in root for f in group]
        return checked(fields, route)

    async def custom_field_definitions(self) -> list[Record]:
        """``/Base/CustomField``: every custom field of the helpdesk, tickets' and others'."""
        root = await self._get("/Base/CustomField", "customfields")
        fields = [record(child) for child in root]
        check_ids(fields, "customfieldid", vendor="kayako", resource="/Base/CustomField")
        return fields

    async def custom_field_options(self, field_id: str) -> list[Record]:
        route = f"/Base/CustomField/ListOptions/{field_id}"
        return [record(child) for child in await self._get(route, "customfieldoptions", field_id)]
