"""The Kayako Classic v4 REST emulator against its protocol reference."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import itertools
import operator
import re
import uuid
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from deskbridge.sdk.emulator import Knobs
from deskbridge_connectors.kayako.emulator import UNDECLARED, KayakoEmulator, wire

NOW = 1_800_000_000
SALT = "5f1c0e2a9b"
HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n'
FORM = {"content-type": "application/x-www-form-urlencoded"}
ALL_DEPTS, ALL_STATUSES = "1,2,3,4,5", "1,2,3,4,5"


LIST = f"/Tickets/Ticket/ListAll/{ALL_DEPTS}/{ALL_STATUSES}"
NOT_IMPLEMENTED = "Not Implemented, Call /Tickets/{}/ListAll instead."
SEARCH_ONLY = "Not Implemented, Call POST /Tickets/TicketSearch instead."


def make(**options: Any) -> KayakoEmulator:
    options.setdefault("clock", lambda: NOW)
    return KayakoEmulator(seed=7, tickets=60, **options)


def sign(secret: str, salt: str) -> str:
    digest = hmac.new(secret.encode(), salt.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def client(emu: KayakoEmulator) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=emu.app)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def signed(emu: KayakoEmulator, salt: str = SALT) -> dict[str, str]:
    creds = emu.credentials()
    return {"apikey": creds["api_key"], "salt": salt, "signature": sign(creds["secret_key"], salt)}


async def send(
    emu: KayakoEmulator,
    method: str,
    route: str,
    data: dict[str, str] | None = None,
    auth: dict[str, str] | None = None,
    e_form: bool = True,
) -> httpx.Response:
    """One request with auth where Kayako reads it: query for GET/DELETE, body otherwise."""
    auth = signed(emu) if auth is None else auth
    where = urlencode({"e": route}) if e_form else route
    async with client(emu) as http:
        if method in ("GET", "DELETE"):
            return await http.request(method, f"/api/index.php?{where}&{urlencode(auth)}")
        body = urlencode({**(data or {}), **auth})
        return await http.request(method, f"/api/index.php?{where}", content=body, headers=FORM)


def xml_of(response: httpx.Response) -> ET.Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/xml"
    assert response.text.startswith(HEADER)
    return ET.fromstring(response.text)


async def get_xml(emu: KayakoEmulator, route: str) -> ET.Element:
    return xml_of(await send(emu, "GET", route))


def ids(root: ET.Element, tag: str = "ticket") -> list[int]:
    return [int(e.get("id") or e.findtext("id") or 0) for e in root.iter(tag)]


def texts(root: ET.Element, prefix: str, *names: str) -> list[str | None]:
    return [root.findtext(f"{prefix}/{name}") for name in names]


# -- authentication and URL forms -------------------------------------------------------------
async def test_both_url_forms_and_a_reused_salt_are_accepted() -> None:
    """The e form and the nameless-token form return the same XML, and salts may repeat."""
    emu = make()
    e_form = await send(emu, "GET", "/Tickets/Ticket/3")
    standard = await send(emu, "GET", "/Tickets/Ticket/3", e_form=False)
    trailing = await send(emu, "GET", "/Tickets/Ticket/3/")
    assert e_form.text == standard.text == trailing.text
    assert ids(xml_of(e_form)) == [3]
    posted = await send(
        emu,
        "POST",
        "/Tickets/TicketNote",
        e_form=False,
        data={"ticketid": "3", "contents": "x", "staffid": "1"},
    )
    assert ids(xml_of(posted), "note") == [max(emu.store.notes)]


@pytest.mark.parametrize(
    ("change", "body"),
    [
        ({"salt": None}, "NO SALT PROVIDED!"),
        ({"salt": ""}, "NO SALT PROVIDED!"),
        ({"salt": "0"}, "NO SALT PROVIDED!"),
        ({"apikey": str(uuid.UUID(int=1))}, "FAILED TO AUTHENTICATE"),
        ({"apikey": None}, "FAILED TO AUTHENTICATE"),
        ({"signature": sign("wrong secret", SALT)}, "FAILED TO AUTHENTICATE"),
        ({"signature": ""}, "FAILED TO AUTHENTICATE"),
    ],
)
async def test_auth_failures_are_401_plain_text(change: dict[str, str | None], body: str) -> None:
    """Missing salts and bad keys or signatures get the server's plain-text 401 bodies."""
    emu = make()
    auth = {k: v for k, v in {**signed(emu), **change}.items() if v is not None}
    response = await send(emu, "GET", "/Tickets/TicketStatus", auth=auth)
    assert (response.status_code, response.text) == (401, body)
    assert response.headers["content-type"] == "text/html; charset=UTF-8"


async def test_signature_spaces_and_padded_apikey_are_tolerated() -> None:
    """An unencoded '+' arrives as a space and is turned back; apikey and signature are trimmed."""
    emu = make()
    secret = emu.credentials()["secret_key"]
    salt = next(s for s in (f"salt{i}" for i in range(500)) if "+" in sign(secret, s))
    auth = signed(emu, salt)
    query = (
        f"e=/Tickets/TicketStatus/1&apikey=%20{auth['apikey']}%20&salt={salt}"
        f"&signature={auth['signature']}"
    )
    async with client(emu) as http:
        response = await http.get(f"/api/index.php?{query}")
    assert ids(xml_of(response), "ticketstatus") == [1]


async def test_api_interface_switched_off_answers_403_empty() -> None:
    """With the API interface off every call is a bodiless 403."""
    response = await send(make(api_enabled=False), "GET", "/Tickets/TicketStatus")
    assert (response.status_code, response.text) == (403, "")


async def test_post_reads_auth_from_the_body_only() -> None:
    """A POST with its signature in the query string has no salt as far as Kayako is concerned."""
    emu = make()
    query = urlencode({"e": "/Tickets/TicketNote", **signed(emu)})
    async with client(emu) as http:
        response = await http.post(
            f"/api/index.php?{query}", headers=FORM, content="ticketid=1&contents=x&staffid=1"
        )
    assert (response.status_code, response.text) == (401, "NO SALT PROVIDED!")


async def test_put_body_is_parsed_as_a_query_string_whatever_its_type() -> None:
    """PUT reads its raw body as a query string, even without a form content type."""
    emu = make()
    async with client(emu) as http:
        response = await http.put(
            "/api/index.php?e=/Tickets/Ticket/2",
            content=urlencode({"subject": "Renamed", **signed(emu)}),
            headers={"content-type": "text/plain"},
        )
    assert xml_of(response).findtext("ticket/subject") == "Renamed"


async def test_json_body_authenticates_but_never_reaches_the_controller() -> None:
    """A JSON body passes the signature check, yet the controller sees no form fields."""
    emu = make()
    async with client(emu) as http:
        response = await http.post(
            "/api/index.php?e=/Tickets/Ticket", json={"subject": "Hi", **signed(emu)}
        )
    assert (response.status_code, response.text) == (400, "Subject is empty")


async def test_route_in_a_post_body_is_routed_like_the_query() -> None:
    """``e`` in a POST form body routes the call, and never reaches the controller's fields."""
    emu = make()
    fields = {"ticketid": "3", "contents": "From the body", "staffid": "1"}
    async with client(emu) as http:
        in_body = await http.post(
            "/api/index.php",
            headers=FORM,
            content=urlencode({"e": "/Tickets/TicketNote", **signed(emu), **fields}),
        )
        in_query = await http.post(
            "/api/index.php?e=/Tickets/TicketNote",
            headers=FORM,
            content=urlencode({**signed(emu), **fields}),
        )
    first, second = sorted(emu.store.notes)[-2:]
    assert in_body.text == in_query.text.replace(f'id="{second}"', f'id="{first}"')
    assert [n.text for n in xml_of(in_body).iter("note")] == ["From the body"]
    call = wire.Call.parse("POST", "", FORM["content-type"], b"e=/Tickets/Ticket&subject=x")
    assert (call.route, call.form) == (["Tickets", "Ticket"], {"subject": "x"})


async def test_route_in_the_body_yields_to_the_query_and_needs_a_form_put() -> None:
    """The query's ``e`` wins over the body's; a PUT body routes only when form-encoded."""
    emu = make()
    body = urlencode({"e": "/Tickets/Ticket/2", "subject": "Via body", **signed(emu)})
    async with client(emu) as http:
        both = await http.post(
            "/api/index.php?e=/Tickets/TicketNote",
            headers=FORM,
            content=urlencode(
                {
                    "e": "/Tickets/Nope",
                    "ticketid": "2",
                    "contents": "x",
                    "staffid": "1",
                    **signed(emu),
                }
            ),
        )
        form_put = await http.put("/api/index.php", headers=FORM, content=body)
        plain_put = await http.put(
            "/api/index.php", content=body, headers={"content-type": "text/plain"}
        )
    assert [n.get("ticketid") for n in xml_of(both)] == ["2"]
    assert xml_of(form_put).findtext("ticket/subject") == "Via body"
    assert (plain_put.status_code, plain_put.text) == (404, UNDECLARED)


@pytest.mark.parametrize(
    ("method", "route", "status", "body"),
    [
        ("GET", "/Tickets/Nope", 404, "Undeclared Function Called in API Controller"),
        ("GET", "/Tickets", 404, "Undeclared Function Called in API Controller"),
        ("PUT", "/Tickets/TicketPost/1/1", 404, "Undeclared Function Called in API Controller"),
        ("GET", "/Tickets/Ticket", 400, NOT_IMPLEMENTED.format("Ticket")),
        ("GET", "/Tickets/TicketPost", 400, NOT_IMPLEMENTED.format("TicketPost")),
        ("GET", "/Tickets/TicketNote", 400, NOT_IMPLEMENTED.format("TicketNote")),
        ("GET", "/Tickets/TicketTimeTrack", 400, NOT_IMPLEMENTED.format("TicketTimeTrack")),
        ("GET", "/Tickets/TicketSearch", 400, SEARCH_ONLY),
        ("DELETE", "/Tickets/TicketSearch/1", 400, SEARCH_ONLY),
        ("GET", "/Tickets/Ticket/999999", 404, "Ticket not Found"),
    ],
)
async def test_dispatch_errors(method: str, route: str, status: int, body: str) -> None:
    """Unknown routes, verbs without a handler and GetList stubs answer as documented."""
    response = await send(make(), method, route)
    assert (response.status_code, response.text) == (status, body)


# -- XML encoding --------------------------------------------------------------------------
async def test_xml_cdata_empty_tags_control_chars_and_attribute_escaping() -> None:
    """CDATA wraps text, ]]> is split, control characters vanish, attributes are escaped."""
    emu = make()
    ticket = await send(emu, "PUT", "/Tickets/Ticket/4", {"subject": "a]]>b\x07c & <d>"})
    assert "<subject><![CDATA[a]]]]><![CDATA[>bc & <d>]]></subject>\n" in ticket.text
    assert xml_of(ticket).findtext("ticket/subject") == "a]]>bc & <d>"
    unassigned = await send(emu, "PUT", "/Tickets/Ticket/4", {"ownerstaffid": "0"})
    assert "\n<ownerstaffname />\n" in unassigned.text
    note = await send(
        emu,
        "POST",
        "/Tickets/TicketNote",
        {"ticketid": "4", "contents": "", "fullname": "O'Brien & <Co>"},
    )
    assert note.text == HEADER + (
        f'<notes>\n<note type="ticket" id="{max(emu.store.notes)}" ticketid="4" notecolor="1" '
        'creatorstaffid="0" forstaffid="0" creatorstaffname="O&#039;Brien &amp; &lt;Co&gt;" '
        f'creationdate="{NOW}" />\n</notes>'
    )


# -- Tickets/Ticket ListAll ------------------------------------------------------------------
async def test_listall_carries_notes_and_time_tracks_but_no_posts() -> None:
    """ListAll tickets hold their ticket notes and time tracks, never <posts>."""
    emu = make()
    both = next(t for t in emu.store.tickets.values() if t.notes and t.timetracks)
    element = next(e for e in await get_xml(emu, LIST) if e.get("id") == str(both.id))
    assert element.find("posts") is None
    notes = [int(n.get("id") or 0) for n in element.findall("note[@type='ticket']")]
    tracks = [int(n.get("id") or 0) for n in element.findall("note[@type='timetrack']")]
    assert (notes, tracks) == (sorted(both.notes), sorted(both.timetracks))
    assert [c.tag for c in element][:6] == [
        "displayid",
        "departmentid",
        "statusid",
        "priorityid",
        "typeid",
        "userid",
    ]


async def test_listall_pages_by_count_and_start_in_lastactivity_order() -> None:
    """count/start slice the lastactivity DESC order; ASC reverses it; the field is case-blind."""
    emu = make()
    everything = ids(await get_xml(emu, f"{LIST}/-1/-1/-1/0/lastactivity/DESC"))
    pages = [
        ids(await get_xml(emu, f"{LIST}/-1/-1/25/{start}/LastActivity/desc"))
        for start in (0, 25, 50)
    ]
    assert functools.reduce(operator.iadd, pages, []) == everything and len(everything) == 60
    activity = [emu.store.tickets[i].lastactivity for i in everything]
    assert activity == sorted(activity, reverse=True)
    assert ids(await get_xml(emu, f"{LIST}/-1/-1/-1/0/lastactivity/ASC")) == everything[::-1]
    by_id = ids(await get_xml(emu, f"{LIST}/-1/-1/10/5/subject/DESC"))
    assert by_id == sorted(everything, reverse=True)[5:15]


async def test_listall_other_whitelisted_sort_fields() -> None:
    """Whitelisted fields such as prioritytitle sort; unknown ones fall back to ticketid."""
    emu = make()
    titles = emu.store.lookups.priorities
    by_priority = ids(await get_xml(emu, f"{LIST}/-1/-1/-1/0/prioritytitle/ASC"))
    keys = [titles[emu.store.tickets[i].priorityid]["title"].lower() for i in by_priority]
    assert keys == sorted(keys)
    assert ids(await get_xml(emu, f"{LIST}/-1/-1/-1/0/bogus")) == sorted(emu.store.tickets)


async def test_listall_defaults_to_unresolved_and_counts_agree() -> None:
    """Status -1 or only invalid status ids silently mean the unresolved statuses."""
    emu = make()
    unresolved = sorted(t.id for t in emu.store.tickets.values() if t.statusid in (1, 2, 4))
    for statuses in ("-1", "99", "99,98", "abc"):
        root = await get_xml(emu, f"/Tickets/Ticket/ListAll/{ALL_DEPTS}/{statuses}/-1/-1")
        assert ids(root) == unresolved
    count = await get_xml(emu, f"/Tickets/Ticket/GetTicketCount/{ALL_DEPTS}/-1/-1/-1")
    assert count.findtext("totalcount") == str(len(unresolved))
    full = await get_xml(emu, f"/Tickets/Ticket/GetTicketCount/{ALL_DEPTS}/{ALL_STATUSES}/-1/-1")
    assert full.findtext("totalcount") == "60"
    assert 0.15 < len(unresolved) / 60 < 0.5


async def test_listall_start_minus_one_means_no_offset() -> None:
    """A ``start`` of -1 (as clients send it) is no offset, with or without a count."""
    emu = make()
    route = f"{LIST}/-1/-1/{{}}/{{}}/lastactivity/DESC"
    everything = ids(await get_xml(emu, route.format(-1, 0)))
    assert ids(await get_xml(emu, route.format(-1, -1))) == everything
    assert ids(await get_xml(emu, route.format(10, -1))) == everything[:10]


async def test_ticket_count_of_one_ticket_is_the_servers_xml() -> None:
    """TicketCount: department counts as elements, the rest as attributes, in SWIFT's order."""
    emu = KayakoEmulator(seed=7, tickets=1, clock=lambda: NOW)
    t = next(iter(emu.store.tickets.values()))
    unresolved = int(not emu.store.is_resolved(t))
    owned = f'id="{t.ownerstaffid}" lastactivity="{t.lastactivity}" totalitems="1" '
    owned += f'totalunresolveditems="{unresolved}"'
    status = f'id="{t.statusid}" lastactivity="{t.lastactivity}" totalitems="1"'
    unassigned = f'<department id="{t.departmentid}" {owned.split(" ", 1)[1]} />\n'
    response = await send(emu, "GET", "/Tickets/TicketCount")
    assert response.headers["content-type"] == "text/xml"
    assert response.text == HEADER + (
        f'<ticketcount>\n<departments>\n<department id="{t.departmentid}">\n'
        "<totalitems><![CDATA[1]]></totalitems>\n"
        f"<lastactivity><![CDATA[{t.lastactivity}]]></lastactivity>\n"
        + (
            "<totalunresolveditems><![CDATA[1]]></totalunresolveditems>\n"
            if unresolved
            else "<totalunresolveditems />\n"
        )
        + f"<ticketstatus {status} />\n"
        f'<tickettype id="{t.typeid}" {owned.split(" ", 1)[1]} />\n'
        f"<ownerstaff {owned} />\n</department>\n</departments>\n"
        "<!-- Ticket Count grouped by Status -->\n"
        f"<statuses>\n<ticketstatus {status} />\n</statuses>\n"
        "<!-- Ticket Count grouped by Owner Staff -->\n"
        f"<owners>\n<ownerstaff {owned} />\n</owners>\n"
        "<!-- Unassigned Ticket Count grouped by Department -->\n"
        f"<unassigned>\n{unassigned if t.ownerstaffid == 0 else ''}</unassigned>\n"
        "</ticketcount>"
    )


def _buckets(store: Any, key: Any, tickets: Any) -> list[dict[str, str]]:
    groups: dict[int, list[Any]] = {}
    for t in tickets:
        groups.setdefault(key(t), []).append(t)
    return [
        {
            "id": str(k),
            "lastactivity": str(max(t.lastactivity for t in ts)),
            "totalitems": str(len(ts)),
            "totalunresolveditems": str(sum(not store.is_resolved(t) for t in ts)),
        }
        for k, ts in sorted(groups.items())
    ]


async def test_ticket_count_groups_the_live_tickets() -> None:
    """Every section of TicketCount agrees with the tickets, and follows their changes."""
    emu = make()
    await send(emu, "PUT", "/Tickets/Ticket/4", {"ownerstaffid": "0", "ticketstatusid": "1"})
    await send(emu, "DELETE", "/Tickets/Ticket/5")
    store, root = emu.store, await get_xml(emu, "/Tickets/TicketCount")
    live = list(store.tickets.values())
    depts = _buckets(store, lambda t: t.departmentid, live)

    def no_unresolved(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        return [{k: v for k, v in r.items() if k != "totalunresolveditems"} for r in rows]

    got = [
        {
            "id": d.get("id"),
            "lastactivity": d.findtext("lastactivity"),
            "totalitems": d.findtext("totalitems"),
            "totalunresolveditems": d.findtext("totalunresolveditems") or "0",
        }
        for d in root.iterfind("departments/department")
    ]
    assert got == depts
    for d in root.iterfind("departments/department"):
        mine = [t for t in live if str(t.departmentid) == d.get("id")]
        assert [e.attrib for e in d.iterfind("ticketstatus")] == no_unresolved(
            _buckets(store, lambda t: t.statusid, mine)
        )
        assert [e.attrib for e in d.iterfind("tickettype")] == _buckets(
            store, lambda t: t.typeid, mine
        )
        assert [e.attrib for e in d.iterfind("ownerstaff")] == _buckets(
            store, lambda t: t.ownerstaffid, mine
        )
    assert [e.attrib for e in root.iterfind("statuses/ticketstatus")] == no_unresolved(
        _buckets(store, lambda t: t.statusid, live)
    )
    assert [e.attrib for e in root.iterfind("owners/ownerstaff")] == _buckets(
        store, lambda t: t.ownerstaffid, live
    )
    unassigned = _buckets(store, lambda t: t.departmentid, [t for t in live if not t.ownerstaffid])
    assert [e.attrib for e in root.iterfind("unassigned/department")] == unassigned
    assert unassigned and sum(int(r["totalitems"]) for r in depts) == 59


async def test_listall_drops_unknown_departments_and_filters_owner_user_email() -> None:
    """Unknown departments vanish, -1 lists nothing, and owner/user/email filters apply."""
    emu = make()
    tickets = emu.store.tickets.values()
    dept1 = ids(await get_xml(emu, f"/Tickets/Ticket/ListAll/1,999/{ALL_STATUSES}/-1/-1"))
    assert dept1 == sorted(t.id for t in tickets if t.departmentid == 1)
    empty = await send(emu, "GET", f"/Tickets/Ticket/ListAll/-1/{ALL_STATUSES}/-1/-1")
    assert empty.text == HEADER + "<tickets>\n</tickets>"
    owner = next(t.ownerstaffid for t in tickets if t.ownerstaffid)
    owned = ids(await get_xml(emu, f"{LIST}/{owner}/-1"))
    assert owned == sorted(t.id for t in tickets if t.ownerstaffid == owner)
    user = emu.store.tickets[1].userid
    mine = sorted(t.id for t in tickets if t.userid == user)
    assert ids(await get_xml(emu, f"{LIST}/-1/{user},0")) == mine
    by_email = await send(emu, "POST", f"{LIST}/-1/-1", {"email": emu.store.tickets[1].email})
    assert ids(xml_of(by_email)) == mine


# -- Tickets/Ticket single, POST, PUT, DELETE ---------------------------------------------------
async def test_ticket_get_has_posts_and_accepts_the_mask_id() -> None:
    """A single ticket carries <posts> in id order and is found by its display id too."""
    emu = make()
    ticket = emu.store.tickets[5]
    by_id = await send(emu, "GET", "/Tickets/Ticket/5")
    by_mask = await send(emu, "GET", f"/Tickets/Ticket/{ticket.displayid}")
    assert by_id.text == by_mask.text
    assert ids(xml_of(by_id), "post") == sorted(ticket.posts)
    newest_first = ids(await get_xml(make(post_order="desc"), "/Tickets/Ticket/5"), "post")
    assert newest_first == sorted(ticket.posts, reverse=True)


def _user_note_lines(emu: KayakoEmulator, userid: int, org: int) -> str:
    lines = [(n, "user", "userid") for n in emu.store.user_notes.get(userid, [])]
    lines += [
        (n, "userorganization", "userorganizationid") for n in emu.store.org_notes.get(org, [])
    ]
    return "".join(
        f'<note type="{kind}" id="{n.id}" {key}="{n.linkid}" notecolor="{n.notecolor}" '
        f'creatorstaffid="{n.staffid}" forstaffid="0" creatorstaffname="{n.staffname}" '
        f'creationdate="{n.dateline}"><![CDATA[{n.contents}]]></note>\n'
        for n, kind, key in lines
    )


async def test_ticket_post_returns_the_whole_new_ticket() -> None:
    """POST creates a ticket and its first post from the user and answers 200 with both."""
    emu = make()
    user = emu.store.users[3]
    response = await send(
        emu,
        "POST",
        "/Tickets/Ticket",
        {
            "subject": "Printer down",
            "fullname": "ignored",
            "email": user.emails[0],
            "contents": "It jams.",
            "departmentid": "2",
            "ticketstatusid": "1",
            "ticketpriorityid": "3",
            "tickettypeid": "1",
            "userid": "3",
        },
    )
    org_id = user.userorganizationid
    org = emu.store.lookups.organizations.get(org_id, "")
    org_tags = (
        f"<userorganization><![CDATA[{org}]]></userorganization>\n"
        f"<userorganizationid><![CDATA[{org_id}]]></userorganizationid>"
        if org
        else "<userorganization />\n<userorganizationid />"
    )
    post_id = max(emu.store.posts)

    def c(value: object) -> str:
        return f"<![CDATA[{value}]]>"

    assert response.text == HEADER + (
        f'<tickets>\n<ticket id="61" flagtype="0">\n'
        f"<displayid>{c(emu.store.tickets[61].displayid)}</displayid>\n"
        f"<departmentid>{c(2)}</departmentid>\n<statusid>{c(1)}</statusid>\n"
        f"<priorityid>{c(3)}</priorityid>\n<typeid>{c(1)}</typeid>\n<userid>{c(3)}</userid>\n"
        f"{org_tags}\n<ownerstaffid>{c(0)}</ownerstaffid>\n<ownerstaffname />\n"
        f"<fullname>{c(user.fullname)}</fullname>\n<email>{c(user.emails[0])}</email>\n"
        f"<lastreplier>{c(user.fullname)}</lastreplier>\n<subject>{c('Printer down')}</subject>\n"
        f"<creationtime>{c(NOW)}</creationtime>\n<lastactivity>{c(NOW)}</lastactivity>\n"
        f"<laststaffreply>{c(0)}</laststaffreply>\n<lastuserreply>{c(NOW)}</lastuserreply>\n"
        f"<slaplanid>{c(0)}</slaplanid>\n<nextreplydue>{c(0)}</nextreplydue>\n"
        f"<resolutiondue>{c(0)}</resolutiondue>\n<replies>{c(0)}</replies>\n<ipaddress />\n"
        f"<creator>{c(2)}</creator>\n<creationmode>{c(4)}</creationmode>\n"
        f"<creationtype>{c(1)}</creationtype>\n<isescalated>{c(0)}</isescalated>\n"
        f"<escalationruleid>{c(0)}</escalationruleid>\n<templategroupid>{c(1)}</templategroupid>\n"
        f"<tags />\n<templategroupname>{c('Default')}</templategroupname>\n"
        f"{_user_note_lines(emu, 3, org_id)}<posts>\n<post>\n<id>{c(post_id)}</id>\n"
        f"<ticketpostid>{c(post_id)}</ticketpostid>\n<ticketid>{c(61)}</ticketid>\n"
        f"<dateline>{c(NOW)}</dateline>\n<userid>{c(3)}</userid>\n"
        f"<fullname>{c(user.fullname)}</fullname>\n<email>{c(user.emails[0])}</email>\n"
        f"<emailto />\n<ipaddress />\n<hasattachments>{c(0)}</hasattachments>\n"
        f"<creator>{c(2)}</creator>\n<isthirdparty>{c(0)}</isthirdparty>\n"
        f"<ishtml>{c(0)}</ishtml>\n<isemailed>{c(0)}</isemailed>\n<staffid>{c(0)}</staffid>\n"
        f"<issurveycomment>{c(0)}</issurveycomment>\n<contents>{c('It jams.')}</contents>\n"
        f"<isprivate>{c(0)}</isprivate>\n</post>\n</posts>\n</ticket>\n</tickets>"
    )
    assert emu.ground_truth()["tickets"]["61"] == {
        "subject": "Printer down",
        "status": "Open",
        "priority": "High",
    }


async def test_ticket_post_as_staff_and_with_an_auto_user() -> None:
    """A staff-created ticket is from the staff member to the recipient; autouserid makes a user."""
    emu = make()
    staff = emu.store.lookups.staff[2]
    base = {
        "subject": "Call back",
        "fullname": "New Person",
        "email": "new.person@example.org",
        "contents": "Please call.",
        "departmentid": "1",
        "ticketstatusid": "1",
        "ticketpriorityid": "2",
        "tickettypeid": "2",
    }
    root = xml_of(
        await send(emu, "POST", "/Tickets/Ticket", {**base, "staffid": "2", "ownerstaffid": "4"})
    )
    assert texts(root, "ticket", "fullname", "email", "creator", "ownerstaffid") == [
        staff["fullname"],
        staff["email"],
        "1",
        "4",
    ]
    assert texts(root, "ticket/posts/post", "staffid", "emailto", "creator") == [
        "2",
        "new.person@example.org",
        "1",
    ]
    new_user = emu.store.user_by_email("new.person@example.org")
    assert new_user is not None and root.findtext("ticket/userid") == str(new_user.id)
    auto = xml_of(await send(emu, "POST", "/Tickets/Ticket", {**base, "autouserid": "1"}))
    assert auto.findtext("ticket/userid") == str(new_user.id)
    assert emu.ground_truth()["people"][f"user:{new_user.id}"] == {
        "kind": "requester",
        "name": "New Person",
        "email": "new.person@example.org",
    }


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"subject": " "}, "Subject is empty"),
        ({"fullname": ""}, "Fullname is empty"),
        ({"email": None}, "Email is empty"),
        ({"contents": "0"}, "Contents is empty"),
        ({"departmentid": ""}, "Department ID is empty"),
        ({"ticketstatusid": None}, "Ticket Status ID is empty"),
        ({"ticketpriorityid": ""}, "Ticket Priority ID is empty"),
        ({"tickettypeid": ""}, "Ticket Type ID is empty"),
        ({"userid": None}, "Staff ID, User ID and Auto User ID values are empty or not provided"),
        ({"departmentid": "77"}, "Department ID is Invalid"),
        ({"departmentid": "4"}, "Department App is not Tickets"),
        ({"ticketstatusid": "9"}, "Ticket Status ID is Invalid"),
        ({"ticketpriorityid": "9"}, "Ticket Priority ID is Invalid"),
        ({"tickettypeid": "9"}, "Ticket Type ID is Invalid"),
        ({"staffid": "99"}, "Staff ID is Invalid"),
        ({"email": "someone.else@example.org"}, "User Email is Invalid"),
    ],
)
async def test_ticket_post_validation_errors(change: dict[str, str | None], error: str) -> None:
    """Each missing or invalid field gets the server's 400 text, checked in its order."""
    emu = make()
    form = {
        "subject": "S",
        "fullname": "F",
        "email": emu.store.users[1].emails[0],
        "contents": "C",
        "departmentid": "1",
        "ticketstatusid": "1",
        "ticketpriorityid": "1",
        "tickettypeid": "1",
        "userid": "1",
    }
    form = {k: v for k, v in {**form, **change}.items() if v is not None}
    response = await send(emu, "POST", "/Tickets/Ticket", form)
    assert (response.status_code, response.text) == (400, error)
    assert response.headers["content-type"] == "text/xml"
    assert 61 not in emu.store.tickets


async def test_ticket_put_moves_lastactivity_only_when_something_changes() -> None:
    """PUT applies valid fields, ignores invalid ids, and moves lastactivity on a real change."""
    emu = make()
    before = emu.store.tickets[7].lastactivity
    ignored = xml_of(
        await send(
            emu,
            "PUT",
            "/Tickets/Ticket/7",
            {"ticketstatusid": "99", "ownerstaffid": "999", "departmentid": "4"},
        )
    )
    assert ignored.findtext("ticket/lastactivity") == str(before)
    changed = xml_of(
        await send(
            emu,
            "PUT",
            "/Tickets/Ticket/7",
            {"ticketstatusid": "3", "ticketpriorityid": "4", "ownerstaffid": "5"},
        )
    )
    assert texts(changed, "ticket", "statusid", "priorityid", "ownerstaffid", "lastactivity") == [
        "3",
        "4",
        "5",
        str(NOW),
    ]
    assert changed.find("ticket/posts") is not None
    assert emu.ground_truth()["tickets"]["7"]["status"] == "Closed"
    assert (await send(emu, "PUT", "/Tickets/Ticket/999999", {"subject": "x"})).status_code == 404


async def test_ticket_delete_leaves_no_trace() -> None:
    """DELETE answers 200 with an empty body; the ticket and its children are gone."""
    emu = make()
    posts = {f"post:{p}" for p in emu.store.tickets[9].posts}
    response = await send(emu, "DELETE", "/Tickets/Ticket/9")
    assert (response.status_code, response.text) == (200, "")
    assert (await send(emu, "GET", "/Tickets/Ticket/9")).text == "Ticket not Found"
    truth = emu.ground_truth()
    assert "9" not in truth["tickets"] and not posts & set(truth["notes"])


# -- posts, notes, time tracks ----------------------------------------------------------------
async def test_ticket_posts_list_get_create_and_delete() -> None:
    """TicketPost lists, reads, adds (moving lastactivity) and deletes (not moving it)."""
    ticks = itertools.count(NOW)
    emu = make(clock=lambda: next(ticks))
    store = emu.store
    ticket = store.tickets[11]
    assert ids(await get_xml(emu, "/Tickets/TicketPost/ListAll/11"), "post") == sorted(ticket.posts)
    first = min(ticket.posts)
    assert ids(await get_xml(emu, f"/Tickets/TicketPost/11/{first}"), "post") == [first]
    created = xml_of(
        await send(
            emu,
            "POST",
            "/Tickets/TicketPost",
            {
                "ticketid": "11",
                "contents": "Internal detail",
                "staffid": "3",
                "isprivate": "1",
                "filename": "log.txt",
                "filecontent": base64.b64encode(b"boom").decode(),
            },
        )
    )
    post_id = max(store.posts)
    assert texts(created, "post", "ticketpostid", "staffid", "isprivate", "hasattachments") == [
        str(post_id),
        "3",
        "1",
        "1",
    ]
    attachment = texts(
        created, "post/attachments/attachment", "filename", "filetype", "filesize", "contents"
    )
    assert attachment == ["log.txt", "text/plain", "4", "Ym9vbQ=="]
    assert ticket.lastactivity == NOW
    assert ticket.lastreplier == store.lookups.staff[3]["fullname"]
    assert emu.ground_truth()["notes"][f"post:{post_id}"] == {
        "ticket_id": "11",
        "kind": "reply",
        "visibility": "private",
        "body": "Internal detail",
    }
    replies = ticket.replies
    deleted = await send(emu, "DELETE", f"/Tickets/TicketPost/11/{first}")
    assert (deleted.status_code, deleted.text, ticket.lastactivity) == (200, "", NOW)
    assert f"post:{first}" not in emu.ground_truth()["notes"]
    assert ticket.replies == replies  # the API does not rebuild the ticket's properties


@pytest.mark.parametrize(
    ("method", "route", "form", "status", "error"),
    [
        ("GET", "/Tickets/TicketPost/12/999999", None, 404, "Ticket Post not Found"),
        (
            "GET",
            "/Tickets/TicketPost/12/1",
            None,
            400,
            "Post does not belong to the specified ticket",
        ),
        ("DELETE", "/Tickets/TicketPost/999999/1", None, 404, "Ticket not Found"),
        ("POST", "", {"contents": "x", "userid": "1"}, 400, "No Ticket ID Specified"),
        ("POST", "", {"ticketid": "12", "userid": "1"}, 400, "No Contents Specified"),
        ("POST", "", {"ticketid": "12", "contents": "x"}, 400, "Staff ID and User ID is empty"),
        (
            "POST",
            "",
            {"ticketid": "999999", "contents": "x", "userid": "1"},
            404,
            "Ticket not Found",
        ),
        (
            "POST",
            "",
            {"ticketid": "12", "contents": "x", "userid": "999999"},
            400,
            "User ID is Invalid",
        ),
        (
            "POST",
            "",
            {"ticketid": "12", "contents": "x", "staffid": "99"},
            400,
            "Staff ID is Invalid",
        ),
    ],
)
async def test_ticket_post_errors(
    method: str, route: str, form: dict[str, str] | None, status: int, error: str
) -> None:
    """TicketPost's not-found, ownership and validation errors are verbatim."""
    response = await send(make(), method, route or "/Tickets/TicketPost", form)
    assert (response.status_code, response.text) == (status, error)


async def test_ticket_notes_list_get_create_and_delete() -> None:
    """TicketNote adds a private note without moving lastactivity, then reads and deletes it."""
    emu = make()
    ticket = emu.store.tickets[13]
    before = ticket.lastactivity
    staff = emu.store.lookups.staff[6]
    created = await send(
        emu,
        "POST",
        "/Tickets/TicketNote",
        {
            "ticketid": "13",
            "contents": "Check the logs",
            "staffid": "6",
            "forstaffid": "2",
            "notecolor": "3",
        },
    )
    note_id = max(emu.store.notes)
    assert created.text == HEADER + (
        f'<notes>\n<note type="ticket" id="{note_id}" ticketid="13" notecolor="3" '
        f'creatorstaffid="6" forstaffid="2" creatorstaffname="{staff["fullname"]}" '
        f'creationdate="{NOW}"><![CDATA[Check the logs]]></note>\n</notes>'
    )
    assert (await send(emu, "GET", f"/Tickets/TicketNote/13/{note_id}")).text == created.text
    assert ids(await get_xml(emu, "/Tickets/TicketNote/ListAll/13"), "note") == sorted(ticket.notes)
    assert ticket.lastactivity == before
    assert emu.ground_truth()["notes"][f"note:{note_id}"] == {
        "ticket_id": "13",
        "kind": "note",
        "visibility": "private",
        "body": "Check the logs",
    }
    assert (await send(emu, "DELETE", f"/Tickets/TicketNote/13/{note_id}")).text == ""
    gone = await send(emu, "GET", f"/Tickets/TicketNote/13/{note_id}")
    assert (gone.status_code, gone.text) == (404, "Ticket note not Found")
    other = next(n for n in emu.store.notes.values() if n.ticketid != 13)
    wrong = await send(emu, "DELETE", f"/Tickets/TicketNote/13/{other.id}")
    assert (wrong.status_code, wrong.text) == (
        400,
        "Ticket note does not belong to the specified ticket",
    )
    for form, error in (
        ({"contents": "x", "staffid": "1"}, "No Ticket ID Specified"),
        ({"ticketid": "13", "contents": "x", "staffid": "99"}, "No fullname or staff id specified"),
        ({"ticketid": "13", "staffid": "1"}, "No contents specified"),
    ):
        response = await send(emu, "POST", "/Tickets/TicketNote", form)
        assert (response.status_code, response.text) == (400, error)


async def test_time_tracks_create_read_and_delete_without_moving_lastactivity() -> None:
    """TicketTimeTrack maps request names to response names and leaves lastactivity alone."""
    emu = make()
    ticket = emu.store.tickets[14]
    before = ticket.lastactivity
    creator, worker = emu.store.lookups.staff[1], emu.store.lookups.staff[2]
    created = await send(
        emu,
        "POST",
        "/Tickets/TicketTimeTrack",
        {
            "ticketid": "14",
            "contents": "Replaced toner",
            "staffid": "1",
            "workerstaffid": "2",
            "worktimeline": "1306393740",
            "billtimeline": "1306393800",
            "timespent": "600",
            "timebillable": "1200",
        },
    )
    entry_id = max(emu.store.timetracks)
    assert created.text == HEADER + (
        f'<timetracks>\n<timetrack id="{entry_id}" ticketid="14" timeworked="600" '
        'timebillable="1200" billdate="1306393800" workdate="1306393740" workerstaffid="2" '
        f'workerstaffname="{worker["fullname"]}" creatorstaffid="1" '
        f'creatorstaffname="{creator["fullname"]}" notecolor="1">'
        "<![CDATA[Replaced toner]]></timetrack>\n</timetracks>"
    )
    assert ticket.lastactivity == before
    read = await send(emu, "GET", f"/Tickets/TicketTimeTrack/14/{entry_id}")
    assert read.text == created.text
    listed = await get_xml(emu, "/Tickets/TicketTimeTrack/ListAll/14")
    assert ids(listed, "timetrack") == sorted(ticket.timetracks)
    assert emu.ground_truth()["time_entries"][str(entry_id)] == {
        "ticket_id": "14",
        "seconds_worked": 600,
        "seconds_billable": 1200,
    }
    assert (await send(emu, "DELETE", f"/Tickets/TicketTimeTrack/14/{entry_id}")).text == ""
    assert str(entry_id) not in emu.ground_truth()["time_entries"]
    assert ticket.lastactivity == before


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"ticketid": None}, 400, "No Ticket ID Specified"),
        ({"ticketid": "999999"}, 404, "Ticket not Found"),
        ({"staffid": None}, 400, "No staff id specified"),
        ({"staffid": "99"}, 400, "No staff id specified"),
        ({"contents": None}, 400, "No contents specified"),
        ({"worktimeline": "0"}, 400, "No work timeline specified"),
        ({"billtimeline": None}, 400, "No bill timeline specified"),
        ({"timespent": None}, 400, "No time spent specified"),
        ({"timebillable": None}, 400, "No time billable specified"),
        ({"workerstaffid": ""}, 400, "Invalid worker staff id specified"),
        ({"workerstaffid": "99"}, 400, "Invalid worker staff id specified"),
    ],
)
async def test_time_track_validation_errors(
    change: dict[str, str | None], status: int, error: str
) -> None:
    """Every documented time-track error, in the server's order of checks."""
    form = {
        "ticketid": "15",
        "contents": "",
        "staffid": "1",
        "worktimeline": "1",
        "billtimeline": "1",
        "timespent": "0",
        "timebillable": "0",
    }
    form = {k: v for k, v in {**form, **change}.items() if v is not None}
    response = await send(make(), "POST", "/Tickets/TicketTimeTrack", form)
    assert (response.status_code, response.text) == (status, error)


async def test_time_track_ownership_errors() -> None:
    """Get and Delete check the ticket, then the entry, then that the entry belongs to it."""
    emu = make()
    entry = next(iter(emu.store.timetracks.values()))
    other = next(t for t in emu.store.tickets if t != entry.ticketid)
    cases = (
        (f"{other}/999999", 404, "Ticket time tracking note not Found"),
        (
            f"{other}/{entry.id}",
            400,
            "Ticket time tracking note does not belong to the specified ticket",
        ),
        (f"999999/{entry.id}", 404, "Ticket not Found"),
    )
    for ids_part, status, error in cases:
        for method in ("GET", "DELETE"):
            response = await send(emu, method, f"/Tickets/TicketTimeTrack/{ids_part}")
            assert (response.status_code, response.text) == (status, error)


# -- search, lookups, users -------------------------------------------------------------------
async def test_ticket_search_returns_tickets_with_posts() -> None:
    """TicketSearch finds by flagged fields and renders full tickets with posts."""
    emu = make()
    ticket = emu.store.tickets[16]
    root = xml_of(
        await send(
            emu, "POST", "/Tickets/TicketSearch", {"query": ticket.displayid, "ticketid": "1"}
        )
    )
    assert ids(root) == [16] and root.find("ticket/posts") is not None
    by_name = xml_of(
        await send(
            emu, "POST", "/Tickets/TicketSearch", {"query": ticket.fullname, "fullname": "1"}
        )
    )
    same_name = sorted(t.id for t in emu.store.tickets.values() if t.fullname == ticket.fullname)
    assert ids(by_name) == same_name
    assert ids(xml_of(await send(emu, "POST", "/Tickets/TicketSearch", {"query": "x"}))) == []


async def test_lookup_tables() -> None:
    """Priorities render whole; statuses carry markasresolved; a zero id lists everything."""
    emu = make()
    priority = await send(emu, "GET", "/Tickets/TicketPriority/3")
    assert priority.text == HEADER + (
        "<ticketpriorities>\n<ticketpriority>\n<id><![CDATA[3]]></id>\n"
        "<title><![CDATA[High]]></title>\n<displayorder><![CDATA[3]]></displayorder>\n"
        "<frcolorcode><![CDATA[#ffffff]]></frcolorcode>\n"
        "<bgcolorcode><![CDATA[#e4781e]]></bgcolorcode>\n<type><![CDATA[public]]></type>\n"
        "<uservisibilitycustom><![CDATA[0]]></uservisibilitycustom>\n</ticketpriority>\n"
        "</ticketpriorities>"
    )
    statuses = await get_xml(emu, "/Tickets/TicketStatus")
    assert {s.findtext("title"): s.findtext("markasresolved") for s in statuses} == {
        "Open": "0",
        "On Hold": "0",
        "Closed": "1",
        "In Progress": "0",
        "Resolved": "1",
    }
    priorities = await get_xml(emu, "/Tickets/TicketPriority")
    assert [p.findtext("title") for p in priorities] == ["Low", "Normal", "High", "Urgent"]
    departments = await get_xml(emu, "/Base/Department/0")
    assert texts(departments[3], ".", "title", "app") == ["Sales Chat", "livechat"]
    assert len(await get_xml(emu, "/Tickets/TicketType")) == 5
    staff = await get_xml(emu, "/Base/Staff")
    assert len(staff) == 15
    assert staff.findtext("staff/fullname") == emu.store.lookups.staff[1]["fullname"]
    groups = await get_xml(emu, "/Base/StaffGroup")
    assert [g.findtext("isadmin") for g in groups] == ["1", "0", "0"]
    unknown = await send(emu, "GET", "/Tickets/TicketStatus/42")
    assert unknown.text == HEADER + "<ticketstatuses>\n</ticketstatuses>"


async def test_users_filter_pages_by_marker_and_caps_at_1000() -> None:
    """Filter returns ids >= marker ascending, at most 1000; Get by id returns one user."""
    emu = KayakoEmulator(seed=3, tickets=3600, clock=lambda: NOW)
    assert len(emu.store.users) == 1200
    assert ids(await get_xml(emu, "/Base/User/Filter/1/5000"), "user") == list(range(1, 1001))
    assert ids(await get_xml(emu, "/Base/User/Filter/1001/1000"), "user") == list(range(1001, 1201))
    assert ids(await get_xml(emu, "/Base/User/Filter/40/3"), "user") == [40, 41, 42]
    one = await get_xml(emu, "/Base/User/42")
    assert [u.findtext("fullname") for u in one] == [emu.store.users[42].fullname]
    assert [e.text for e in one.iter("email")] == emu.store.users[42].emails
    assert (await send(emu, "GET", "/Base/User/999999")).text == HEADER + "<users>\n</users>"


# -- ground truth, mutations, determinism, knobs ----------------------------------------------
async def test_ground_truth_ids_and_kinds() -> None:
    """Truth uses post:/note: and staff:/user: ids and leaves user notes out of notes."""
    emu = make()
    truth = emu.ground_truth()
    store = emu.store
    assert len(truth["tickets"]) == 60 and len(truth["people"]) == 15 + len(store.users)
    expected_notes = {f"post:{p}" for p in store.posts} | {f"note:{n}" for n in store.notes}
    assert set(truth["notes"]) == expected_notes
    post = next(iter(store.posts.values()))
    assert truth["notes"][f"post:{post.id}"]["body"] == post.contents
    assert truth["people"]["staff:1"]["kind"] == "staff"
    assert truth["people"]["user:1"] == {
        "kind": "requester",
        "name": store.users[1].fullname,
        "email": store.users[1].emails[0],
    }
    statuses = {v["status"] for v in truth["tickets"].values()}
    assert statuses <= {"Open", "On Hold", "Closed", "In Progress", "Resolved"}


def test_same_seed_same_data_and_different_seed_differs() -> None:
    """Seed data, credentials and truth are a pure function of the seed."""
    a, b = make(), make()
    assert a.ground_truth() == b.ground_truth() and a.credentials() == b.credentials()
    other = KayakoEmulator(seed=8, tickets=60)
    assert other.ground_truth() != a.ground_truth() and other.credentials() != a.credentials()
    assert a.mutate(30) == b.mutate(30)
    assert a.ground_truth() == b.ground_truth()


def test_credentials_have_kayakos_shape() -> None:
    """The API key is a UUID and the secret is Base64 of two UUIDs."""
    creds = make().credentials()
    uuid.UUID(creds["api_key"])
    pair = base64.b64decode(creds["secret_key"]).decode()
    uuid.UUID(pair[:36])
    uuid.UUID(pair[36:])


MOVING = ("customer reply", "staff reply", "status ->", "priority ->", "owner ->")


def test_mutations_move_lastactivity_only_for_tickets_and_posts() -> None:
    """Only new tickets, updates and posts move lastactivity; agent post deletes recount replies."""
    emu = make()
    before = {tid: t.lastactivity for tid, t in emu.store.tickets.items()}
    lines = emu.mutate(400)
    moved: dict[int, bool] = {}
    for line in lines:
        match = re.match(r"(?:new )?ticket (\d+)", line)
        assert match, line
        tid = int(match.group(1))
        moving = line.startswith("new ticket") or any(k in line for k in MOVING)
        moved[tid] = moved.get(tid, False) or moving
    kinds = {
        re.sub(r"[\d:]+|\(.*\)|->.*|by staff.*|from user.*", "", line).strip() for line in lines
    }
    assert len(kinds) >= 10, kinds
    for tid, did_move in moved.items():
        if tid in emu.store.tickets:
            assert emu.store.tickets[tid].lastactivity == (NOW if did_move else before[tid]), tid
    deleted = [line.split()[1] for line in lines if re.fullmatch(r"ticket \d+ deleted", line)]
    assert deleted and not set(deleted) & set(emu.ground_truth()["tickets"])
    pruned_lines = (re.match(r"ticket (\d+): post:\d+ deleted", line) for line in lines)
    pruned = {int(m.group(1)) for m in pruned_lines if m and int(m.group(1)) in emu.store.tickets}
    assert pruned and all(
        emu.store.tickets[t].replies == len(emu.store.tickets[t].posts) - 1 for t in pruned
    )


async def test_mutations_show_up_first_in_the_lastactivity_walk() -> None:
    """After mutations the newest-first ListAll page starts with the touched tickets."""
    emu = make()
    emu.mutate(20)
    page = await get_xml(emu, f"{LIST}/-1/-1/5/0/lastactivity/DESC")
    assert [t.findtext("lastactivity") for t in page] == [str(NOW)] * 5


async def test_knobs_inject_faults_before_the_vendor_app() -> None:
    """Base-class faults and fail_every_n wrap the Kayako app."""
    emu = make(knobs=Knobs(fail_every_n=3))
    statuses = [(await send(emu, "GET", "/Tickets/TicketStatus")).status_code for _ in range(3)]
    assert statuses == [200, 200, 500]
    emu = make()
    emu.inject("500")
    assert (await send(emu, "GET", "/Tickets/TicketStatus")).status_code == 500
    assert (await send(emu, "GET", "/Tickets/TicketStatus")).status_code == 200
    assert emu.requests["/api/index.php"] == 2
