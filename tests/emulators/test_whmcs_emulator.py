"""The WHMCS emulator (and its Keliweb wrapper) against the vendor protocol reference."""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from deskbridge.sdk.emulator import Knobs
from deskbridge_connectors.whmcs.emulator import WhmcsEmulator
from deskbridge_connectors.whmcs.emulator.store import Ticket
from deskbridge_connectors.whmcs.emulator.wire import fmt

API = "/includes/api.php"
KELIWEB = "/api/v2/keliweb/"
STATUSES = ("Open", "Answered", "Customer-Reply", "On Hold", "In Progress", "Closed")
AWAITING = {"Open", "Customer-Reply", "In Progress"}
DENIED = {"result": "error", "message": "Authentication Failed"}
SUCCESS = {"result": "success"}
FUTURE_TICKET = "Ticket creation date cannot be in the future"
FUTURE_REPLY = "Reply creation date cannot be in the future"
NO_CREDENTIALS = "Invalid or missing credentials"


def err(message: str) -> dict[str, str]:
    return {"result": "error", "message": message}


@dataclass
class Api:
    """An in-process HTTP client bound to one emulator and its credentials."""

    http: httpx.AsyncClient
    emu: WhmcsEmulator

    @property
    def auth(self) -> dict[str, str]:
        creds = self.emu.credentials()
        return {
            "identifier": creds["identifier"],
            "secret": creds["secret"],
            "responsetype": "json",
        }

    async def __call__(self, action: str, **params: Any) -> Any:
        """One WHMCS action with the API credential; must answer 200 JSON."""
        r = await self.http.post(API, data={**self.auth, "action": action, **params})
        assert (r.status_code, r.headers["content-type"]) == (200, "application/json")
        return r.json()

    def password_grant(self) -> dict[str, str]:
        creds = self.emu.credentials()
        return {
            "grant_type": "password",
            "client_id": creds["keliweb_client_id"],
            "client_secret": creds["keliweb_client_secret"],
            "username": creds["keliweb_username"],
            "password": creds["keliweb_password"],
        }

    async def token(self) -> dict[str, Any]:
        r = await self.http.post("/oauth/token", data=self.password_grant())
        assert r.status_code == 200
        return r.json()

    @property
    def tickets(self) -> list[Ticket]:
        return list(self.emu.store.tickets.values())


def bearer(token: dict[str, Any]) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token['access_token']}",
        "X-Requested-With": "XMLHttpRequest",
    }


@pytest.fixture
def emu() -> WhmcsEmulator:
    return WhmcsEmulator()


@pytest.fixture
async def api(emu: WhmcsEmulator) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield Api(http, emu)


async def from_ip(emu: WhmcsEmulator, form: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=emu.app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        return await http.post(API, data=form)


# -- authentication and access control -----------------------------------------------------
async def test_identifier_and_secret_authenticate(api: Api) -> None:
    """The identifier/secret pair gets a full GetSupportStatuses answer."""
    counts = Counter(t.status for t in api.tickets)
    colors = ("#779500", "#000000", "#ff6600", "#224488", "#cc0000", "#888888")
    statuses = [
        {"title": s, "count": counts[s], "color": c} for s, c in zip(STATUSES, colors, strict=False)
    ]
    assert await api("GetSupportStatuses") == {
        "result": "success",
        "totalresults": 6,
        "statuses": {"status": statuses},
    }


async def test_credential_pair_as_username_and_password(api: Api) -> None:
    """The API credential pair is also accepted as username/password."""
    creds = api.emu.credentials()
    form = {"username": creds["identifier"], "password": creds["secret"], "responsetype": "json"}
    r = await api.http.post(API, data={**form, "action": "GetTicketNotes", "ticketid": "1"})
    assert r.json()["result"] == "success"


async def test_legacy_admin_login_needs_md5_password(api: Api) -> None:
    """An admin username works with the MD5 hex of the password, not the plain password."""
    creds = api.emu.credentials()
    md5 = hashlib.md5(creds["admin_password"].encode()).hexdigest()
    form = {
        "username": creds["admin_username"],
        "action": "GetTicketNotes",
        "ticketid": "1",
        "responsetype": "json",
    }
    ok = await api.http.post(API, data={**form, "password": md5})
    assert ok.json()["result"] == "success"
    plain = await api.http.post(API, data={**form, "password": creds["admin_password"]})
    assert (plain.status_code, plain.json()) == (403, DENIED)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"identifier": "nope", "secret": "nope"}, "Invalid or missing credentials"),
        ({"identifier": "nope"}, "Invalid or missing credentials"),
        ({"username": "nope", "password": "nope"}, "Authentication Failed"),
        ({}, "Authentication Failed"),
    ],
)
async def test_bad_credentials_fail(api: Api, form: dict[str, str], message: str) -> None:
    """An unknown identifier is missing credentials; an unknown login fails authentication."""
    r = await api.http.post(API, data={**form, "action": "GetTickets", "responsetype": "json"})
    assert (r.status_code, r.json()) == (403, err(message))


async def test_empty_identifier_means_a_username_and_password_login(api: Api) -> None:
    """``identifier=&secret=`` beside username/password is a legacy login, as (bool) "" is false."""
    creds = api.emu.credentials()
    md5 = hashlib.md5(creds["admin_password"].encode()).hexdigest()
    form = {"identifier": "", "secret": "", "username": creds["admin_username"], "password": md5}
    r = await api.http.post(
        API,
        data={
            **form,
            "action": "AddTicketNote",
            "ticketid": "1",
            "message": "Logged in without an identifier",
        },
    )
    assert (r.status_code, r.headers["content-type"], r.text) == (
        200,
        "text/plain; charset=utf-8",
        "result=success",
    )
    note = api.emu.store.notes[max(api.emu.store.notes)]
    assert (note.message, note.admin) == (
        "Logged in without an identifier",
        api.emu.store.admin_by_username(creds["admin_username"]).full,
    )
    refused = await api.http.post(API, data={**form, "password": "0" * 32, "action": "GetTickets"})
    assert (refused.status_code, refused.text) == (
        403,
        "result=error;message=Authentication Failed",
    )


async def test_wrong_secret_with_right_identifier_fails(api: Api) -> None:
    """A valid identifier with another secret is refused."""
    form = {**api.auth, "secret": api.emu.credentials()["identifier"], "action": "GetTickets"}
    r = await api.http.post(API, data=form)
    assert (r.status_code, r.json()) == (403, DENIED)


async def test_disabled_admin_cannot_log_in(api: Api) -> None:
    """A disabled admin's legacy login is refused."""
    admin = next(a for a in api.emu.store.admins.values() if a.disabled)
    md5 = hashlib.md5(admin.password.encode()).hexdigest()
    form = {"username": admin.username, "password": md5, "action": "GetTickets"}
    assert (await api.http.post(API, data=form)).status_code == 403


async def test_ip_allow_list_and_access_key() -> None:
    """A source IP off the allow-list gets 403 Invalid IP unless a valid accesskey is sent."""
    emu = WhmcsEmulator(allowed_ips={"10.0.0.1"})
    creds = emu.credentials()
    form = {"identifier": creds["identifier"], "secret": creds["secret"], "responsetype": "json"}
    form["action"] = "GetSupportDepartments"
    refused = await from_ip(emu, form)
    wrong_key = await from_ip(emu, {**form, "accesskey": "guess"})
    with_key = await from_ip(emu, {**form, "accesskey": creds["accesskey"]})
    denied = err("Invalid IP 203.0.113.7")
    assert (refused.status_code, refused.json()) == (403, denied)
    assert (wrong_key.status_code, wrong_key.json()) == (403, denied)
    assert with_key.json()["result"] == "success"
    listed = WhmcsEmulator(allowed_ips={"203.0.113.7"})
    assert (await from_ip(listed, form)).json()["result"] == "success"


async def test_action_in_query_string_and_multipart_body(api: Api) -> None:
    """The action may ride in the query string (any case), and the body may be multipart."""
    files = {k: (None, v) for k, v in {**api.auth, "ticketid": "1"}.items()}
    r = await api.http.post(API, params={"action": "GetTicketNotes"}, files=files)
    assert r.json()["result"] == "success"
    assert await api("getticketnotes", ticketid="1") == r.json()


async def test_unknown_action_answers_command_not_found(api: Api) -> None:
    """An unknown action answers Command Not Found."""
    assert await api("GetToDoList") == err("Command Not Found")


async def test_get_with_every_parameter_in_the_query_is_a_call(api: Api) -> None:
    """WHMCS routes api.php for GET as for POST: a GET answers what the same POST does."""
    query = {**api.auth, "action": "GetTickets", "limitnum": "5", "ignore_dept_assignments": "1"}
    get = await api.http.get(API, params=query)
    post = await api.http.post(API, data=query)
    assert (get.status_code, get.headers["content-type"]) == (200, "application/json")
    assert get.json() == post.json() and get.json()["numreturned"] == 5
    note = await api.http.get(
        API,
        params={**api.auth, "action": "AddTicketNote", "ticketid": "2", "message": "Sent by GET"},
    )
    assert note.json() == SUCCESS
    assert api.emu.store.notes[max(api.emu.store.notes)].message == "Sent by GET"
    put = await api.http.put(API, data=query)
    assert put.status_code == 405


# -- response types --------------------------------------------------------------------------
XML_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n'
XML_TYPE, NVP_TYPE = "application/xml; charset=utf-8", "text/plain; charset=utf-8"


async def typed(api: Api, action: str, responsetype: str | None, **params: Any) -> httpx.Response:
    auth = {k: v for k, v in api.auth.items() if k != "responsetype"}
    if responsetype is not None:
        auth["responsetype"] = responsetype
    return await api.http.post(API, data={**auth, "action": action, **params})


@pytest.mark.parametrize("responsetype", [None, "", "xml", "XML"])
async def test_structured_actions_answer_whmcs_xml(api: Api, responsetype: str | None) -> None:
    """No responsetype (or xml) on a structured action: <whmcsapi>, lists as repeated tags."""
    r = await typed(api, "GetSupportStatuses", responsetype)
    counts = Counter(t.status for t in api.tickets)
    colors = ("#779500", "#000000", "#ff6600", "#224488", "#cc0000", "#888888")
    items = "".join(
        f"<status>\n<title>{s}</title>\n<count>{counts[s]}</count>\n<color>{c}</color>\n</status>\n"
        for s, c in zip(STATUSES, colors, strict=False)
    )
    assert (r.status_code, r.headers["content-type"]) == (200, XML_TYPE)
    assert r.text == XML_HEAD + (
        '<whmcsapi version="8.0.0">\n<action>getsupportstatuses</action>\n'
        f"<result>success</result>\n<totalresults>6</totalresults>\n<statuses>\n{items}"
        "</statuses>\n</whmcsapi>"
    )


async def test_xml_carries_what_json_does_with_cdata_on_markup(api: Api) -> None:
    """GetTicket as XML holds the JSON answer's values; text with & < > " goes in CDATA."""
    await api("AddTicketNote", ticketid="3", message='Use "a & b" <now>')
    xml_answer = await typed(api, "GetTicket", None, ticketid="3")
    assert '<message><![CDATA[Use "a & b" <now>]]></message>' in xml_answer.text
    assert "\r\n" in xml_answer.text  # messages keep their CRLFs on the wire
    root = ElementTree.fromstring(xml_answer.text)
    as_json = await api("GetTicket", ticketid="3")

    def php(v: Any) -> str:  # PHP prints true as 1, false and null as ""; XML reads CRLF as LF
        return "1" if v is True else "" if v is False or v is None else str(v).replace("\r\n", "\n")

    def flat(node: dict[str, Any]) -> dict[str, str]:
        return {k: php(v) for k, v in node.items() if not isinstance(v, dict | list)}

    assert root.findtext("action") == "getticket"
    assert {e.tag: e.text or "" for e in root if len(e) == 0 and e.tag != "action"} == flat(as_json)
    for path, key in (("replies/reply", "reply"), ("notes/note", "note")):
        got = [{e.tag: e.text or "" for e in item if len(e) == 0} for item in root.iterfind(path)]
        assert got == [flat(x) for x in as_json[path.split("/")[0]][key]]


async def test_basic_actions_answer_nvp_by_default(api: Api) -> None:
    """Actions outside the structured list answer ``key=value;`` text without a responsetype."""
    update = await typed(api, "UpdateTicket", None, ticketid="4", priority="High")
    counts = await typed(api, "GetTicketCounts", "nvp")
    assert (update.status_code, update.headers["content-type"]) == (200, NVP_TYPE)
    assert update.text == "result=success;ticketid=4"
    assert counts.text.startswith("result=success;filteredDepartments=Array;allActive=")


@pytest.mark.parametrize(
    ("responsetype", "message"),
    [
        (
            "yaml",
            'Unsupported API response type format "yaml". '
            "Supported formats include: json, xml, nvp",
        ),
        ("nvp", "This API action only supports the XML or JSON response type formats"),
    ],
)
async def test_refused_response_types(api: Api, responsetype: str, message: str) -> None:
    """An unknown type, or NVP on a structured action, is refused as NVP text."""
    r = await typed(api, "GetTickets", responsetype)
    assert (r.status_code, r.headers["content-type"]) == (200, NVP_TYPE)
    assert r.text == f"result=error;message={message}"


async def test_get_admin_users_answers_json_whatever_is_asked(api: Api) -> None:
    """GetAdminUsers answers JSON even when asked for XML or nothing."""
    for responsetype in (None, "xml", "nvp"):
        r = await typed(api, "GetAdminUsers", responsetype)
        assert r.headers["content-type"] == "application/json"
        assert r.json()["result"] == "success"


async def test_refused_credentials_use_the_raw_response_type(api: Api) -> None:
    """A refusal before the type is settled is XML (error: no version) only if xml was asked."""
    form = {"identifier": "nope", "secret": "x", "action": "GetTickets"}
    as_nvp = await api.http.post(API, data=form)
    as_xml = await api.http.post(API, data={**form, "responsetype": "xml"})
    assert (as_nvp.status_code, as_nvp.text) == (403, "result=error;message=" + NO_CREDENTIALS)
    assert (as_xml.status_code, as_xml.text) == (
        403,
        XML_HEAD
        + (
            '<whmcsapi version="">\n<action>gettickets</action>\n<result>error</result>\n'
            f"<message>{NO_CREDENTIALS}</message>\n</whmcsapi>"
        ),
    )


# -- GetTickets ------------------------------------------------------------------------------
async def test_get_tickets_pages_by_lastreply_desc(api: Api) -> None:
    """Paging with limitstart/limitnum walks every ticket once, newest lastreply first."""
    seen: list[dict[str, Any]] = []
    start = 0
    while True:
        page = await api("GetTickets", limitstart=start, limitnum=70, ignore_dept_assignments="1")
        assert (page["totalresults"], page["startnumber"]) == ("300", start)
        if page["numreturned"] == 0:
            break
        assert page["numreturned"] == len(page["tickets"]["ticket"])
        seen += page["tickets"]["ticket"]
        start += page["numreturned"]
    assert {t["id"] for t in seen} == set(api.emu.ground_truth()["tickets"])
    keys = [(t["lastreply"], int(t["id"])) for t in seen]
    assert keys == sorted(keys, reverse=True)
    end = {"result": "success", "totalresults": "300", "startnumber": 300, "numreturned": 0}
    assert page == end


async def test_get_tickets_defaults_to_25_in_admin_departments(api: Api) -> None:
    """Without ignore_dept_assignments only the API admin's departments count; 25 per page."""
    page = await api("GetTickets")
    mine = [t for t in api.tickets if t.deptid in api.emu.store.admins[1].depts]
    assert (page["totalresults"], page["numreturned"]) == (str(len(mine)), 25)
    assert {t["deptid"] for t in page["tickets"]["ticket"]} <= {"1", "2", "3"}


FILTERS: list[tuple[dict[str, str], Callable[[Ticket], bool]]] = [
    ({"status": "Awaiting Reply"}, lambda t: t.status in AWAITING),
    ({"status": "All Active Tickets"}, lambda t: t.status != "Closed"),
    ({"status": "My Flagged Tickets"}, lambda t: t.flag == 1 and t.status != "Closed"),
    ({"status": "On Hold"}, lambda t: t.status == "On Hold"),
    ({"deptid": "4"}, lambda t: t.deptid == 4),
    ({"clientid": "3"}, lambda t: t.userid == 3),
    ({"subject": "website"}, lambda t: "website" in t.subject.lower()),
]


@pytest.mark.parametrize(("params", "keep"), FILTERS)
async def test_get_tickets_filters(
    api: Api, params: dict[str, str], keep: Callable[[Ticket], bool]
) -> None:
    """Each documented GetTickets filter selects exactly the matching tickets."""
    page = await api("GetTickets", limitnum=1000, ignore_dept_assignments="1", **params)
    expected = {str(t.id) for t in api.tickets if keep(t)}
    assert expected
    assert {t["id"] for t in page["tickets"]["ticket"]} == expected


async def test_get_tickets_email_filter_finds_guest_tickets(api: Api) -> None:
    """The email filter matches tickets of a non-client address only."""
    guest = next(t for t in api.tickets if t.userid == 0)
    email = guest.email.upper()
    page = await api("GetTickets", limitnum=1000, ignore_dept_assignments="1", email=email)
    expected = {str(t.id) for t in api.tickets if t.userid == 0 and t.email == guest.email}
    assert {t["id"] for t in page["tickets"]["ticket"]} == expected


# -- one ticket: open, reply, note, read --------------------------------------------------------
async def test_open_reply_note_then_get_ticket(api: Api) -> None:
    """An opened ticket with an admin reply and a note reads back whole through GetTicket."""
    store = api.emu.store
    opened = await api(
        "OpenTicket",
        deptid="2",
        subject="Invoice question",
        message="Hello\r\nthere",
        clientid="3",
        priority="High",
        created="2026-03-01 10:00:00",
    )
    tid = opened["id"]
    ticket = store.tickets[int(tid)]
    assert opened == {"result": "success", "id": "301", "tid": ticket.tid, "c": ticket.c}
    admin, api_admin, owner = store.admins[2], store.admins[1], store.clients[3]
    reply_id, note_id = store.next_reply, store.next_note
    created = "2026-03-01T11:00:00+00:00"
    reply = await api(
        "AddTicketReply",
        ticketid=tid,
        message="Answer",
        adminusername=admin.username,
        created=created,
    )
    created = "2026-03-01 10:30:00"
    note = await api("AddTicketNote", ticketid=tid, message="internal", created=created)
    assert reply == note == SUCCESS
    who = {"requestor_name": owner.full, "requestor_email": owner.email, "requestor_type": "Owner"}
    staff = {"requestor_name": admin.full, "requestor_email": admin.email}
    staff["requestor_type"] = "Operator"
    files = {"attachment": "", "attachments": [], "attachments_removed": False}
    assert await api("GetTicket", ticketid=tid) == {
        "result": "success",
        "ticketid": tid,
        "tid": ticket.tid,
        "c": ticket.c,
        "deptid": "2",
        "deptname": "Billing",
        "userid": "3",
        "contactid": "0",
        "name": owner.full,
        "email": owner.email,
        "cc": "",
        "date": "2026-03-01 10:00:00",
        "subject": "Invoice question",
        "status": "Answered",
        "priority": "High",
        "admin": "",
        "lastreply": "2026-03-01 11:00:00",
        "flag": "0",
        "service": "",
        **who,
        "attachments": [],
        "attachments_removed": False,
        "replies": {
            "reply": [
                {
                    "replyid": "0",
                    "userid": "3",
                    "contactid": "0",
                    "name": owner.full,
                    "email": owner.email,
                    **who,
                    "date": "2026-03-01 10:00:00",
                    "message": "Hello\r\nthere",
                    **files,
                    "admin": "",
                },
                {
                    "replyid": str(reply_id),
                    "userid": "3",
                    "contactid": "0",
                    "name": "",
                    "email": "",
                    **staff,
                    "date": "2026-03-01 11:00:00",
                    "message": "Answer",
                    **files,
                    "admin": admin.full,
                    "rating": "0",
                },
            ]
        },
        "notes": {
            "note": [
                {
                    "noteid": str(note_id),
                    "date": "2026-03-01 10:30:00",
                    "message": "internal",
                    "admin": api_admin.full,
                    "attachments": [],
                    "attachments_removed": False,
                },
            ]
        },
    }
    truth = api.emu.ground_truth()
    assert truth["tickets"][tid] == {
        "subject": "Invoice question",
        "status": "Answered",
        "priority": "High",
    }
    public = {"ticket_id": tid, "kind": "reply", "visibility": "public"}
    assert truth["notes"][f"message:{tid}"] == {**public, "body": "Hello\r\nthere"}
    assert truth["notes"][f"reply:{reply_id}"] == {**public, "body": "Answer"}
    private = {"ticket_id": tid, "kind": "note", "visibility": "private", "body": "internal"}
    assert truth["notes"][f"note:{note_id}"] == private


async def test_get_ticket_by_number_descending_and_unknown(api: Api) -> None:
    """GetTicket finds a ticket by its tid, sorts replies DESC on request, rejects unknown ids."""
    t = next(t for t in api.tickets if len(t.replies) >= 2)
    asc = await api("GetTicket", ticketid=str(t.id))
    desc = await api("GetTicket", ticketnum=t.tid, repliessort="DESC")
    assert desc["replies"]["reply"] == asc["replies"]["reply"][::-1]
    assert asc["replies"]["reply"][0]["replyid"] == "0"
    assert await api("GetTicket", ticketid="999999") == err("Ticket ID Not Found")


async def test_get_ticket_notes_shape(api: Api) -> None:
    """GetTicketNotes names the note id ``id``, counts as an integer and drops an empty list."""
    t = next(t for t in api.tickets if t.notes)
    notes = [api.emu.store.notes[n] for n in sorted(t.notes)]
    assert await api("GetTicketNotes", ticketid=str(t.id)) == {
        "result": "success",
        "totalresults": len(notes),
        "notes": {
            "note": [
                {
                    "id": str(n.id),
                    "admin": n.admin,
                    "date": fmt(n.date),
                    "message": n.message,
                    "attachment": "",
                    "attachments_removed": False,
                }
                for n in notes
            ]
        },
    }
    bare = next(t for t in api.tickets if not t.notes)
    empty = {"result": "success", "totalresults": 0}
    assert await api("GetTicketNotes", ticketid=str(bare.id)) == empty
    assert await api("GetTicketNotes", ticketid="0") == err("Ticket ID Not Found")


async def test_ticket_counts_and_departments(api: Api) -> None:
    """GetTicketCounts and GetSupportDepartments agree with the data."""
    mine = [t for t in api.tickets if t.deptid in (1, 2, 3)]
    by_status = Counter(t.status for t in mine)
    key = {s: s.lower().replace("-", "").replace(" ", "") for s in STATUSES}
    assert await api("GetTicketCounts", includeCountsByStatus="1") == {
        "result": "success",
        "filteredDepartments": [1, 2, 3],
        "allActive": sum(t.status != "Closed" for t in mine),
        "awaitingReply": sum(t.status in AWAITING for t in mine),
        "flaggedTickets": sum(t.flag == 1 and t.status != "Closed" for t in mine),
        "status": {key[s]: {"title": s, "count": by_status[s]} for s in STATUSES},
    }
    every = await api("GetTicketCounts", ignoreDepartmentAssignments="1")
    assert every["filteredDepartments"] == [1, 2, 3, 4, 5] and "status" not in every
    depts = await api("GetSupportDepartments", ignore_dept_assignments="1")
    assert depts["totalresults"] == 5
    assert depts["departments"]["department"][3] == {
        "id": "4",
        "name": "Domains",
        "awaitingreply": str(sum(t.deptid == 4 and t.status in AWAITING for t in api.tickets)),
        "opentickets": str(sum(t.deptid == 4 and t.status != "Closed" for t in api.tickets)),
    }
    own = await api("GetSupportDepartments")
    assert [d["name"] for d in own["departments"]["department"]] == [
        "Technical Support",
        "Billing",
        "Sales",
    ]


async def test_admin_users(api: Api) -> None:
    """GetAdminUsers hides disabled admins unless asked and filters by e-mail and role."""
    assert (await api("GetAdminUsers"))["count"] == 7
    assert (await api("GetAdminUsers", include_disabled="1"))["count"] == 8
    assert (await api("GetAdminUsers", roleid="1"))["count"] == 2
    a1 = api.emu.store.admins[1]
    found = await api("GetAdminUsers", email=a1.email[:6].upper())
    assert found["admin_users"][0] == {
        "id": 1,
        "roleId": 1,
        "username": a1.username,
        "firstName": a1.firstname,
        "lastName": a1.lastname,
        "email": a1.email,
        "isDisabled": 0,
        "supportDepartmentIds": ["1", "2", "3"],
    }


OPEN_ERRORS = [
    ({"clientid": "99999"}, "Client ID Not Found"),
    ({"clientid": "3", "userid": "4"}, "The system cannot find the provided user ID."),
    ({"clientid": "3", "contactid": "9"}, "Contact ID Not Found"),
    ({"name": "Guest"}, "Name and email address are required if not a client"),
    ({"name": "Guest", "email": "not-an-email"}, "Email Address Invalid"),
    ({"clientid": "3", "deptid": "42"}, "Department ID not found"),
    ({"clientid": "3", "subject": " "}, "Subject is required"),
    ({"clientid": "3", "message": ""}, "Message is required"),
    ({"clientid": "3", "serviceid": "5"}, "Service ID Not Found"),
    ({"clientid": "3", "domainid": "5"}, "Domain ID Not Found"),
    ({"clientid": "3", "created": "yesterday"}, "Invalid Date Format"),
    ({"clientid": "3", "created": "2099-01-01 00:00:00"}, FUTURE_TICKET),
]


@pytest.mark.parametrize(("params", "message"), OPEN_ERRORS)
async def test_open_ticket_errors(api: Api, params: dict[str, str], message: str) -> None:
    """OpenTicket's documented errors come back verbatim and create nothing."""
    base = {"deptid": "1", "subject": "Help", "message": "Body"}
    assert await api("OpenTicket", **{**base, **params}) == err(message)
    assert len(api.tickets) == 300


async def test_guest_ticket_and_reply_move_lastreply(api: Api) -> None:
    """A guest ticket opens with lastreply = date (now by default); a reply moves lastreply."""
    before = int(time.time())
    guest = {"name": "Ann Guest", "email": "Ann@Example.org"}
    now = await api("OpenTicket", deptid="1", subject="Down", message="Site down", **guest)
    fresh = api.emu.store.tickets[int(now["id"])]
    assert before <= fresh.date == fresh.lastreply <= int(time.time())
    assert (fresh.status, fresh.priority, fresh.userid) == ("Open", "Medium", 0)
    first = await api("GetTickets", limitnum=1, ignore_dept_assignments="1")
    assert first["tickets"]["ticket"][0]["id"] == now["id"]
    people = api.emu.ground_truth()["people"]
    assert people["guest:ann@example.org"] == {"kind": "requester", **guest}
    old = {"deptid": "1", "subject": "Old", "message": "x", "created": "2026-06-01"}
    past = await api("OpenTicket", **old, **guest)
    t = api.emu.store.tickets[int(past["id"])]
    assert fmt(t.date) == fmt(t.lastreply) == "2026-06-01 00:00:00"
    reply = await api("AddTicketReply", ticketid=past["id"], message="Still down", **guest)
    assert reply == SUCCESS
    assert t.lastreply >= before and t.status == "Customer-Reply"
    page = await api("GetTickets", limitnum=2, ignore_dept_assignments="1")
    assert [x["id"] for x in page["tickets"]["ticket"]] == [past["id"], now["id"]]


REPLY_ERRORS = [
    ({"ticketid": "999999"}, "Ticket ID not found"),
    ({"message": " "}, "Message is required"),
    ({"clientid": "99999"}, "Client ID Not Found"),
    ({"clientid": "3", "contactid": "2"}, "Contact ID Not Found"),
    ({}, "Name and email address are required if not a client"),
    ({"name": "X", "email": "x@"}, "Email Address Invalid"),
    ({"clientid": "3", "status": "Pending"}, "Invalid Ticket Status"),
    ({"clientid": "3", "created": "01/02/2026"}, "Invalid Date Format"),
    ({"clientid": "3", "created": "2099-01-01T00:00:00Z"}, FUTURE_REPLY),
]


@pytest.mark.parametrize(("params", "message"), REPLY_ERRORS)
async def test_add_ticket_reply_errors(api: Api, params: dict[str, str], message: str) -> None:
    """AddTicketReply's documented errors come back verbatim."""
    base = {"ticketid": "1", "message": "Hi"}
    assert await api("AddTicketReply", **{**base, **params}) == err(message)


async def test_client_reply_with_status(api: Api) -> None:
    """A client reply defaults to Customer-Reply; the status parameter overrides it."""
    t = api.emu.store.tickets[10]
    await api("AddTicketReply", ticketid="10", message="a", clientid="3")
    assert t.status == "Customer-Reply"
    await api("AddTicketReply", ticketid="10", message="b", clientid="3", status="On Hold")
    assert t.status == "On Hold"
    reply = api.emu.store.replies[t.replies[-1]]
    assert (reply.userid, reply.name, reply.email, reply.admin) == (3, "", "", "")


async def test_note_and_updates_leave_lastreply(api: Api) -> None:
    """Notes and UpdateTicket change the ticket but never its lastreply."""
    t = api.emu.store.tickets[20]
    lastreply = t.lastreply
    assert await api("AddTicketNote", ticketnum=t.tid, message="check logs") == SUCCESS
    changes = {"status": "In Progress", "priority": "Low", "deptid": "5", "subject": "Renamed"}
    updated = await api("UpdateTicket", ticketid="20", flag="4", **changes)
    assert updated == {"result": "success", "ticketid": "20"}
    assert (t.status, t.priority, t.deptid, t.flag, t.subject, t.lastreply) == (
        "In Progress",
        "Low",
        5,
        4,
        "Renamed",
        lastreply,
    )
    await api("UpdateTicket", ticketid="20", removeFlag="true")
    assert t.flag == 0
    truth = api.emu.ground_truth()["tickets"]["20"]
    assert truth == {"subject": "Renamed", "status": "In Progress", "priority": "Low"}


STATUS_LIST = "Open,Answered,Customer-Reply,On Hold,In Progress,Closed"
WRITE_ERRORS = [
    ("AddTicketNote", {"ticketid": "0", "message": "x"}, "Ticket ID not found"),
    ("AddTicketNote", {"ticketid": "1"}, "Message is required"),
    ("AddTicketNote", {"ticketid": "1", "message": "x", "created": "soon"}, "Invalid Date Format"),
    ("AddTicketNote", {"ticketid": "1", "message": "x", "created": "2099-01-01"}, FUTURE_TICKET),
    ("UpdateTicket", {"ticketid": "999999"}, "Ticket ID Not Found"),
    ("UpdateTicket", {"ticketid": "1", "deptid": "9"}, "Department ID Not Found"),
    (
        "UpdateTicket",
        {"ticketid": "1", "priority": "Urgent"},
        "Invalid Ticket Priority. Valid priorities are: Low,Medium,High",
    ),
    (
        "UpdateTicket",
        {"ticketid": "1", "status": "Pending"},
        f"Invalid Ticket Status. Valid statuses are: {STATUS_LIST}",
    ),
    ("UpdateTicket", {"ticketid": "1", "created": "x"}, "Invalid Date Format"),
    ("UpdateTicket", {"ticketid": "1", "created": "2099-01-01"}, FUTURE_TICKET),
    ("UpdateTicketReply", {"message": "x"}, "Reply ID Required"),
    ("UpdateTicketReply", {"replyid": "1"}, "Message is Required"),
    ("UpdateTicketReply", {"replyid": "999999", "message": "x"}, "Reply ID Not Found"),
    ("UpdateTicketReply", {"replyid": "1", "message": "x", "created": "x"}, "Invalid Date Format"),
    ("UpdateTicketReply", {"replyid": "1", "message": "x", "created": "2099-01-01"}, FUTURE_REPLY),
    ("DeleteTicket", {"ticketid": "999999"}, "Ticket ID not found"),
    ("DeleteTicketNote", {"noteid": "999999"}, "Note ID Not Found"),
    ("DeleteTicketReply", {"replyid": "1"}, "Ticket ID Required"),
    ("DeleteTicketReply", {"ticketid": "1"}, "Reply ID Required"),
    ("DeleteTicketReply", {"ticketid": "999999", "replyid": "1"}, "Ticket ID Not Found"),
    ("DeleteTicketReply", {"ticketid": "1", "replyid": "999999"}, "Reply ID Not Found"),
]


@pytest.mark.parametrize(("action", "params", "message"), WRITE_ERRORS)
async def test_write_errors(api: Api, action: str, params: dict[str, str], message: str) -> None:
    """Every documented note, update and delete error comes back verbatim and changes nothing."""
    before = api.emu.ground_truth()
    assert await api(action, **params) == err(message)
    assert api.emu.ground_truth() == before


async def test_update_reply_and_deletes(api: Api) -> None:
    """UpdateTicketReply rewrites a reply; the deletes remove replies, notes and whole tickets."""
    t = next(t for t in api.tickets if t.replies and t.notes)
    rid, nid, lastreply, ticketid = t.replies[0], t.notes[0], t.lastreply, str(t.id)
    edited = await api("UpdateTicketReply", replyid=str(rid), message="edited")
    assert edited == {"result": "success", "replyid": str(rid)}
    assert api.emu.ground_truth()["notes"][f"reply:{rid}"]["body"] == "edited"
    assert await api("DeleteTicketReply", ticketid=ticketid, replyid=str(rid)) == SUCCESS
    assert await api("DeleteTicketNote", noteid=str(nid)) == SUCCESS
    notes = api.emu.ground_truth()["notes"]
    assert f"reply:{rid}" not in notes and f"note:{nid}" not in notes
    assert t.lastreply == lastreply
    assert await api("DeleteTicket", ticketid=ticketid) == SUCCESS
    truth = api.emu.ground_truth()
    assert ticketid not in truth["tickets"]
    assert not [k for k, v in truth["notes"].items() if v["ticket_id"] == ticketid]
    assert await api("GetTicket", ticketid=ticketid) == err("Ticket ID Not Found")


# -- Keliweb ---------------------------------------------------------------------------------
async def test_keliweb_password_grant_and_get_ticket(api: Api) -> None:
    """A password-grant token reads the reseller's ticket, answered as WHMCS GetTicket."""
    token = await api.token()
    assert (token["token_type"], token["expires_in"]) == ("Bearer", 3600)
    assert token["refresh_token"].startswith("def502")
    own = next(t for t in api.tickets if t.userid == 1)
    form = {"ticketid": str(own.id)}
    r = await api.http.post(KELIWEB + "get-ticket", headers=bearer(token), data=form)
    assert r.status_code == 200
    assert r.json() == await api("GetTicket", ticketid=str(own.id))
    other = next(t for t in api.tickets if t.userid != 1)
    form = {"ticketnum": other.tid}
    hidden = await api.http.post(KELIWEB + "get-ticket", headers=bearer(token), data=form)
    assert hidden.json() == err("Ticket ID Not Found")


async def test_keliweb_open_and_reply_as_reseller(api: Api) -> None:
    """open-ticket (FormData) and add-ticket-reply (mislabelled urlencoded) act as client 1."""
    headers = bearer(await api.token())
    fields = {"deptid": "1", "subject": "Reseller issue", "message": "Body", "clientid": "5"}
    files = {k: (None, v) for k, v in fields.items()}
    opened = (await api.http.post(KELIWEB + "open-ticket", headers=headers, files=files)).json()
    t = api.emu.store.tickets[int(opened["id"])]
    assert opened == {"result": "success", "id": str(t.id), "tid": t.tid, "c": t.c}
    assert t.userid == 1
    body = f"ticketid={t.id}&message=Any+news%3F"
    multipart = {**headers, "Content-Type": "multipart/form-data"}
    r = await api.http.post(KELIWEB + "add-ticket-reply", headers=multipart, content=body)
    assert r.json() == SUCCESS
    reply = api.emu.store.replies[t.replies[-1]]
    assert (t.status, reply.userid, reply.message) == ("Customer-Reply", 1, "Any news?")


async def test_keliweb_rejects_missing_and_expired_tokens() -> None:
    """No token, a bad token or an expired one answer 401 Unauthenticated."""
    emu = WhmcsEmulator(token_ttl_s=0)
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        token = await Api(http, emu).token()
        assert token["expires_in"] == 0
        for headers in ({}, {"Authorization": "Bearer nope"}, bearer(token)):
            r = await http.post(KELIWEB + "get-ticket", headers=headers, data={"ticketid": "1"})
            assert (r.status_code, r.json()) == (401, {"message": "Unauthenticated."})


async def test_keliweb_refresh_rotates_tokens(api: Api) -> None:
    """A refresh grant issues a new pair and revokes the old access and refresh tokens."""
    old = await api.token()
    form = {**api.password_grant(), "grant_type": "refresh_token"}
    form["refresh_token"] = old["refresh_token"]
    new = (await api.http.post("/oauth/token", data=form)).json()
    assert new["access_token"] != old["access_token"]
    ticket = {"ticketid": "1"}
    ok = await api.http.post(KELIWEB + "get-ticket", headers=bearer(new), data=ticket)
    gone = await api.http.post(KELIWEB + "get-ticket", headers=bearer(old), data=ticket)
    assert (ok.status_code, gone.status_code) == (200, 401)
    again = await api.http.post("/oauth/token", data=form)
    assert (again.status_code, again.json()["message"]) == (400, "The refresh token is invalid.")


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"grant_type": "client_credentials"}, 400, "unsupported_grant_type"),
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"password": "wrong"}, 400, "invalid_grant"),
    ],
)
async def test_keliweb_token_errors(
    api: Api, change: dict[str, str], status: int, error: str
) -> None:
    """The token endpoint refuses bad grants, clients and user credentials Passport-style."""
    r = await api.http.post("/oauth/token", data={**api.password_grant(), **change})
    assert (r.status_code, r.json()["error"]) == (status, error)


# -- data, mutations, knobs ----------------------------------------------------------------
def test_same_seed_same_truth() -> None:
    """The same seed gives identical truth, credentials and mutations; another seed does not."""
    a, b, c = WhmcsEmulator(seed=3), WhmcsEmulator(seed=3), WhmcsEmulator(seed=4)
    assert a.ground_truth() == b.ground_truth() != c.ground_truth()
    assert a.credentials() == b.credentials() != c.credentials()
    assert a.mutate(30) == b.mutate(30)
    assert a.ground_truth() == b.ground_truth()
    assert a.ground_truth()["time_entries"] == {}


def test_seed_data_is_realistic(emu: WhmcsEmulator) -> None:
    """Seed data covers every status, priority, department, both reply sides, notes and flags."""
    tickets = emu.store.tickets.values()
    assert {t.status for t in tickets} == set(STATUSES)
    assert {t.priority for t in tickets} == {"Low", "Medium", "High"}
    assert {t.deptid for t in tickets} == {1, 2, 3, 4, 5}
    assert any(t.flag for t in tickets) and any(t.userid == 0 for t in tickets)
    assert {bool(r.admin) for r in emu.store.replies.values()} == {True, False}
    assert emu.store.notes and all("\r\n" in t.message for t in tickets)
    assert all(t.date < time.time() for t in tickets)


def test_mutations_move_lastreply_only_with_new_messages(emu: WhmcsEmulator) -> None:
    """After mutate, a ticket's lastreply moved exactly when it gained a reply (or is new)."""
    store = emu.store
    before = {
        t.id: (t.lastreply, set(t.replies), t.status, len(t.notes)) for t in store.tickets.values()
    }
    truth = emu.ground_truth()
    lines = emu.mutate(80)
    assert len(lines) == 80 and emu.ground_truth() != truth
    quiet_changes = 0
    for t in store.tickets.values():
        if t.id not in before:
            assert t.lastreply >= int(time.time()) - 5
            continue
        lastreply, replies, status, notes = before[t.id]
        assert (t.lastreply != lastreply) == bool(set(t.replies) - replies)
        quiet_changes += t.lastreply == lastreply and (t.status, len(t.notes)) != (status, notes)
    assert quiet_changes > 0


async def test_knobs_inject_faults(api: Api) -> None:
    """Base-class faults apply to the WHMCS app, and requests are counted per path."""
    api.emu.inject("500")
    form = {**api.auth, "action": "GetTickets"}
    assert (await api.http.post(API, data=form)).status_code == 500
    assert (await api.http.post(API, data=form)).status_code == 200
    api.emu.knobs = Knobs(fail_every_n=2)
    codes = [(await api.http.post("/oauth/token", data={})).status_code for _ in range(2)]
    assert codes == [400, 500]
    assert (api.emu.requests[API], api.emu.requests["/oauth/token"]) == (2, 2)
