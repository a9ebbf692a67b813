"""WHMCS wire form: response types JSON, XML (``<whmcsapi>``) and NVP (``key=value;``), records.

WHMCS picks the type from ``responsetype``. Without one, structured actions (lists and
nested records) answer XML and the others NVP; GetAdminUsers always answers JSON. An unknown
type, or NVP on a structured action, is refused with ``result=error``, rendered in the
type that was asked for (so as NVP). Errors raised before the type is settled (refused IP,
refused credentials) are rendered in the raw type asked for: JSON, XML, else NVP. The
functions at the end render records as the External API sends them.
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.responses import Response

from .store import Admin, Body, Note, Reply, SupportStore, Ticket

JSON, XML, NVP = "json", "xml", "nvp"
SUPPORTED = (JSON, XML, NVP)
# the server's list of actions whose answers are too nested for NVP
STRUCTURED = frozenset(
    (
        "domaingetwhoisinfo",
        "getactivitylog",
        "getaffiliates",
        "getannouncements",
        "getcancelledpackages",
        "getclientgroups",
        "getclients",
        "getclientsaddons",
        "getclientsdomains",
        "getclientsproducts",
        "getcontacts",
        "getcredits",
        "getcurrencies",
        "getemails",
        "getemailtemplates",
        "getinvoice",
        "getinvoices",
        "getmodulequeue",
        "getorders",
        "getorderstatuses",
        "getpaymentmethods",
        "getproducts",
        "getproject",
        "getprojects",
        "getpromotions",
        "getquotes",
        "getstaffonline",
        "getsupportdepartments",
        "getsupportstatuses",
        "getticket",
        "getticketnotes",
        "getticketpredefinedcats",
        "getticketpredefinedreplies",
        "gettickets",
        "gettodoitems",
        "gettodoitemstatuses",
        "gettransactions",
        "orderfraudcheck",
    )
)
JSON_ONLY = frozenset(("getadminusers",))
NVP_REFUSED = "This API action only supports the XML or JSON response type formats"
# not documented: emulator choice (the version a successful XML answer names; the emulator
# serves 8.x fields such as requestor_*)
VERSION = "8.0.0"
_SPECIAL = str.maketrans("", "", '&<>"')


def resolve(action: str, asked: str) -> tuple[str, str | None]:
    """The response type for a (normalised) action, and the refusal message if any."""
    wanted = asked.lower()
    if action in JSON_ONLY:
        return JSON, None
    if not wanted:
        return (XML if action in STRUCTURED else NVP), None
    if wanted not in SUPPORTED:
        message = f'Unsupported API response type format "{asked}". Supported formats include: '
        return wanted, message + ", ".join(SUPPORTED)
    if wanted == NVP and action in STRUCTURED:
        return wanted, NVP_REFUSED
    return wanted, None


def render(kind: str, action: str, body: Body, status: int = 200) -> Response:
    """One answer in the given type; anything but json and xml goes out as NVP text."""
    if kind == JSON:
        # not documented: emulator choice (PHP-style compact JSON)
        text, media = json.dumps(body, separators=(",", ":")), "application/json"
    elif kind == XML:
        text, media = xml(action, body), "application/xml; charset=utf-8"
    else:
        text = ";".join(f"{k}={_scalar(v)}" for k, v in body.items())
        media = "text/plain; charset=utf-8"
    return Response(text, status, headers={"content-type": media})


def xml(action: str, body: Body) -> str:
    """``<whmcsapi>`` with the action first; a list repeats its parent's tag per item."""
    version = "" if body.get("result") == "error" else VERSION
    inner = _convert({"action": action, **body}, "", False).strip()
    head = ('<?xml version="1.0" encoding="utf-8"?>', f'<whmcsapi version="{version}">')
    return "\n".join((*head, inner, "</whmcsapi>"))


def _convert(value: dict[Any, Any] | list[Any], parent: str | int, opened: bool) -> str:
    """WHMCS's array walk: ``opened`` says whether ``parent``'s tag is already written.

    A tag name is a key, so a list's index becomes one where a list sits at the top.
    """
    out: list[str] = []
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, v in items:
        numeric = isinstance(key, int) or key.isdigit()  # PHP's is_numeric on an array key
        if isinstance(v, dict | list):
            if not v:
                continue
            if not parent:
                out.append(f"<{key}>\n{_convert(v, key, True)}</{key}>\n")
            else:
                child = parent if numeric else key
                wrap = not opened
                inner = _convert(v, child, numeric and wrap)
                out.append(f"<{parent}>\n{inner}</{parent}>\n" if wrap else inner)
            continue
        text = _scalar(v)
        if "<![CDATA[" not in text and text.translate(_SPECIAL) != text:
            text = f"<![CDATA[{text}]]>"
        name = parent if numeric else key
        out.append(f"<{name}>{text}</{name}>\n")
    return "".join(out)


def _scalar(value: Any) -> str:
    """A value as PHP prints it: true is 1, false and null are empty, arrays are ``Array``."""
    if value is True:
        return "1"
    if value is False or value is None:
        return ""
    if isinstance(value, dict | list):
        return "Array"
    return str(value)


def fmt(ts: int) -> str:
    """A WHMCS datetime: ``Y-m-d H:i:s``, server-local, no zone."""
    # not documented: emulator choice (the emulated server's local time is UTC)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


# -- records as the External API sends them --------------------------------------------------------
def requestor(store: SupportStore, userid: int, name: str, email: str, admin: str) -> Body:
    """The 8.x ``requestor_*`` fields of a ticket or message."""
    # not documented: emulator choice (requestor_type values and the admin's e-mail)
    if admin:
        found = next((a for a in store.admins.values() if a.full == admin), None)
        email = found.email if found else ""
        return {"requestor_name": admin, "requestor_email": email, "requestor_type": "Operator"}
    if userid and userid in store.clients:
        c = store.clients[userid]
        return {"requestor_name": c.full, "requestor_email": c.email, "requestor_type": "Owner"}
    return {"requestor_name": name, "requestor_email": email, "requestor_type": "Guest"}


def ticket_item(store: SupportStore, t: Ticket) -> Body:
    """One ``tickets.ticket[]`` item of GetTickets."""
    owner = store.clients[t.userid].full if t.userid in store.clients else ""
    return {
        "id": str(t.id),
        "tid": t.tid,
        "deptid": str(t.deptid),
        "userid": str(t.userid),
        "name": t.name,
        "email": t.email,
        **requestor(store, t.userid, t.name, t.email, ""),
        "cc": t.cc,
        "c": t.c,
        "date": fmt(t.date),
        "subject": t.subject,
        "status": t.status,
        "priority": t.priority,
        "admin": t.admin,
        "attachment": "",
        "attachments": [],
        "attachments_removed": False,
        "lastreply": fmt(t.lastreply),
        "flag": str(t.flag),
        "service": t.service,
        "owner_name": owner,
    }


def _opening(store: SupportStore, t: Ticket) -> Body:
    return {
        "replyid": "0",
        "userid": str(t.userid),
        "contactid": "0",
        "name": t.name,
        "email": t.email,
        **requestor(store, t.userid, t.name, t.email, ""),
        "date": fmt(t.date),
        "message": t.message,
        "attachment": "",
        "attachments": [],
        "attachments_removed": False,
        "admin": t.admin,
    }


def _reply(store: SupportStore, r: Reply) -> Body:
    return {
        "replyid": str(r.id),
        "userid": str(r.userid),
        "contactid": "0",
        "name": r.name,
        "email": r.email,
        **requestor(store, r.userid, r.name, r.email, r.admin),
        "date": fmt(r.date),
        "message": r.message,
        "attachment": "",
        "attachments": [],
        "attachments_removed": False,
        "admin": r.admin,
        "rating": "0",
    }


def ticket_body(store: SupportStore, t: Ticket, descending: bool) -> Body:
    """The GetTicket body: the ticket, its messages (opening one first) and its notes."""
    # not documented: emulator choice (a ticket without notes sends "notes": {"note": []})
    replies = sorted((store.replies[rid] for rid in t.replies), key=lambda r: (r.date, r.id))
    messages = [_opening(store, t)] + [_reply(store, r) for r in replies]
    if descending:
        messages.reverse()
    notes = [
        {
            "noteid": str(n.id),
            "date": fmt(n.date),
            "message": n.message,
            "admin": n.admin,
            "attachments": [],
            "attachments_removed": False,
        }
        for n in sorted((store.notes[nid] for nid in t.notes), key=lambda n: n.id)
    ]
    return {
        "result": "success",
        "ticketid": str(t.id),
        "tid": t.tid,
        "c": t.c,
        "deptid": str(t.deptid),
        "deptname": store.departments[t.deptid].name,
        "userid": str(t.userid),
        "contactid": "0",
        "name": t.name,
        "email": t.email,
        "cc": t.cc,
        "date": fmt(t.date),
        "subject": t.subject,
        "status": t.status,
        "priority": t.priority,
        "admin": t.admin,
        "lastreply": fmt(t.lastreply),
        "flag": str(t.flag),
        "service": t.service,
        **requestor(store, t.userid, t.name, t.email, ""),
        "attachments": [],
        "attachments_removed": False,
        "replies": {"reply": messages},
        "notes": {"note": notes},
    }


def note_item(n: Note) -> Body:
    return {
        "id": str(n.id),
        "admin": n.admin,
        "date": fmt(n.date),
        "message": n.message,
        "attachment": "",
        "attachments_removed": False,
    }


def admin_item(a: Admin) -> Body:
    """One ``admin_users[]`` item."""
    # not documented: emulator choice (the item shape of GetAdminUsers)
    return {
        "id": a.id,
        "roleId": a.roleid,
        "username": a.username,
        "firstName": a.firstname,
        "lastName": a.lastname,
        "email": a.email,
        "isDisabled": int(a.disabled),
        "supportDepartmentIds": [str(d) for d in a.depts],
    }
