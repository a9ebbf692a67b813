"""Kayako's wire format: requests as PHP reads them, and XML as SWIFT_XML writes it.

Requests: variables come from the query string for GET and DELETE, the form body for POST,
the raw body parsed as a query string for PUT, and a JSON body (any verb) for authentication
only. XML: one element per line, CDATA on all text, self-closing empty values, control
characters removed, ``]]>`` split across two CDATA sections, attributes escaped as PHP's
htmlspecialchars does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote_plus

from .store import Note, Post, Row, Store, Ticket, TimeTrack, User, is_numeric

HEADER = '<?xml version="1.0" encoding="UTF-8"?>'
T = TypeVar("T")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+")
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\]\]>")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#039;"})
_ROLES = {1: "user", 2: "manager"}
PHP_WHITESPACE = " \t\n\r\0\x0b"
_LEADING_INT = re.compile(r"^\s*([+-]?\d+)")
_CANONICAL_INT = re.compile(r"^(0|-?[1-9][0-9]*)$")


# -- PHP semantics of request variables -----------------------------------------------------
def php_empty(value: str | None) -> bool:
    """PHP's empty() on a request variable: unset, "" and "0"."""
    return value is None or value in ("", "0")


def php_intval(value: str | None) -> int:
    """PHP's (int) cast of a string: its leading integer, else 0."""
    match = _LEADING_INT.match(value or "")
    return int(match.group(1)) if match else 0


def php_key(value: str | None) -> int | None:
    """The integer array key a string selects in PHP (canonical integers only)."""
    return int(value) if value is not None and _CANONICAL_INT.match(value) else None


def arg(params: list[str], index: int, default: str = "") -> str:
    return params[index] if len(params) > index else default


def blank(value: str | None) -> bool:
    """The controllers' ``!isset || empty() || trim() == ''`` test."""
    return value is None or value in ("", "0") or value.strip(PHP_WHITESPACE) == ""


def csv_ids(raw: str) -> list[int]:
    """Kayako's RetrieveIDListFromCSV: one number, a CSV of numbers, else [0]."""
    if is_numeric(raw):
        return [int(float(raw))]
    if "," in raw:
        return [int(float(part)) for part in raw.split(",") if is_numeric(part)]
    return [0]


def optional_ids(raw: str) -> frozenset[int] | None:
    return None if is_numeric(raw) and float(raw) == -1 else frozenset(csv_ids(raw))


def record(table: dict[int, T], raw: str) -> T | None:
    return table.get(int(float(raw))) if is_numeric(raw) else None


def same_id(record_id: int, raw: str) -> bool:
    """PHP's loose ``==`` between a stored id and the id in the URL."""
    return is_numeric(raw) and float(raw) == record_id


def note_color(raw: str | None) -> int:
    return 1 if php_empty(raw) else php_intval(raw)


def b64_file(text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        return b""


@dataclass(slots=True)
class Call:
    """One API request as the PHP side sees it."""

    method: str
    route: list[str]
    variables: dict[str, str]  # what authentication reads
    form: dict[str, str]  # what the controllers read ($_POST)

    @classmethod
    def parse(cls, method: str, query: str, content_type: str, body: bytes) -> Call:
        get = dict(parse_qsl(query, keep_blank_values=True))
        text = body.decode("utf-8", "replace")
        form: dict[str, str] = {}
        encoded = content_type.startswith("application/x-www-form-urlencoded")
        if method == "PUT" or (method == "POST" and encoded):
            form = dict(parse_qsl(text, keep_blank_values=True))
        in_body = form.pop("e", None)  # the router's variable, never a controller field
        if method == "PUT" and not encoded:
            in_body = None  # $_REQUEST holds POST fields, and a PUT body only when form-encoded
        route = get.get("e") or in_body or unquote_plus(query.split("&", 1)[0].split("=", 1)[0])
        segments = route.strip("/").split("/") if route.strip("/") else []
        while segments and segments[-1] == "":
            segments.pop()
        variables = get if method in ("GET", "DELETE") else form
        if "application/json" in content_type:
            form, variables = {}, _json_object(text)
        return cls(method, segments, variables, form)


def _json_object(text: str) -> dict[str, str]:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def signature(secret: str, salt: str) -> str:
    """Base64 of the raw HMAC-SHA256 of the salt, keyed with the secret."""
    digest = hmac.new(secret.encode(), salt.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def auth_failure(variables: dict[str, str], api_key: str, secret: str) -> str | None:
    """Kayako's check (apikey and signature trimmed, spaces read as +); None when it passes."""
    salt = variables.get("salt")
    if php_empty(salt):
        return "NO SALT PROVIDED!"
    key = variables.get("apikey", "").strip(PHP_WHITESPACE)
    sent = variables.get("signature", "").replace(" ", "+").strip(PHP_WHITESPACE)
    expected = signature(secret, salt)  # type: ignore[arg-type]
    if not key or key != api_key or not sent or not hmac.compare_digest(sent, expected):
        return "FAILED TO AUTHENTICATE"
    return None


# -- XML -----------------------------------------------------------------------------------
def tag(name: str, value: Any, attrs: str = "") -> str:
    """One element: ``<name attrs><![CDATA[value]]></name>``, or self-closing when empty."""
    text = value if isinstance(value, str) else str(value)
    if text == "":
        return f"<{name}{attrs} />"
    if _UNSAFE.search(text):
        text = _CONTROL.sub("", text).replace("]]>", "]]]]><![CDATA[>")
    return f"<{name}{attrs}><![CDATA[{text}]]></{name}>"


def php_int(value: int) -> str:
    """An (int)-cast value: PHP 7 compares int 0 equal to '', so the writer emits it empty."""
    # not documented: emulator choice -- the server runs PHP 7, where `0 == ''` holds.
    return str(value) if value else ""


def document(lines: list[str]) -> str:
    return HEADER + "\n" + "\n".join(lines)


def wrap(root: str, inner: list[str]) -> str:
    return document([f"<{root}>", *inner, f"</{root}>"])


def rows(root: str, item: str, table: Iterable[Row]) -> str:
    """A lookup list; list values repeat their tag, dict values nest under a parent tag."""
    lines = [f"<{root}>"]
    for row in table:
        lines.append(f"<{item}>")
        _row_lines(row, lines)
        lines.append(f"</{item}>")
    lines.append(f"</{root}>")
    return document(lines)


def _row_lines(row: Row, lines: list[str]) -> None:
    for key, value in row.items():
        if isinstance(value, list):
            lines.extend(tag(key, v) for v in value)
        elif isinstance(value, dict):
            lines.append(f"<{key}>")
            _row_lines(value, lines)
            lines.append(f"</{key}>")
        else:
            lines.append(tag(key, value))


def users(selected: Iterable[User]) -> str:
    lines = ["<users>"]
    for u in selected:
        lines += [
            "<user>",
            tag("id", u.id),
            tag("usergroupid", php_int(u.usergroupid)),
            tag("userrole", _ROLES.get(u.userrole, "user")),
            tag("userorganizationid", php_int(u.userorganizationid)),
            tag("salutation", u.salutation),
            tag("userexpiry", 0),
            tag("fullname", u.fullname),
        ]
        lines += [tag("email", e) for e in u.emails]
        lines += [
            tag("designation", u.designation),
            tag("phone", u.phone),
            tag("dateline", u.dateline),
            tag("lastvisit", u.lastvisit),
            tag("isenabled", u.isenabled),
            tag("timezone", ""),
            tag("enabledst", 0),
            tag("slaplanid", 0),
            tag("slaplanexpiry", 0),
            "</user>",
        ]
    lines.append("</users>")
    return document(lines)


def tickets(store: Store, selected: Iterable[Ticket], with_posts: bool, posts_desc: bool) -> str:
    """The ``<tickets>`` list: notes and time tracks always, ``<posts>`` only when asked."""
    lines = ["<tickets>"]
    for ticket in selected:
        _ticket_lines(store, ticket, lines)
        if with_posts:
            ordered = sorted(ticket.posts.values(), key=lambda p: p.id, reverse=posts_desc)
            lines.append("<posts>")
            for post in ordered:
                _post_lines(post, post.contents, lines)
                lines.append("</post>")
            lines.append("</posts>")
        lines.append("</ticket>")
    lines.append("</tickets>")
    return document(lines)


@dataclass(slots=True)
class Count:
    """One bucket of the ticket count cache: tickets, unresolved ones, newest activity."""

    total: int = 0
    unresolved: int = 0
    last: int = 0

    def add(self, t: Ticket, resolved: bool) -> None:
        self.total += 1
        self.unresolved += not resolved
        self.last = max(self.last, t.lastactivity)

    def attrs(self, key: int, unresolved: bool = True) -> str:
        more = f' totalunresolveditems="{self.unresolved}"' if unresolved else ""
        return f' id="{key}" lastactivity="{self.last}" totalitems="{self.total}"{more}'


def ticket_counts(store: Store) -> str:
    """TicketCount's ``<ticketcount>``, built from the tickets as Kayako's count cache is."""
    # not documented: emulator choice -- the cache lists departments, statuses, types and
    # owners that hold tickets, in ascending id order; owner 0 is "unassigned".
    depts: dict[int, tuple[Count, dict[str, dict[int, Count]]]] = {}
    statuses: dict[int, Count] = {}
    owners: dict[int, Count] = {}
    for t in sorted(store.tickets.values(), key=lambda t: t.id):
        resolved = store.is_resolved(t)
        own, parts = depts.setdefault(t.departmentid, (Count(), {"s": {}, "t": {}, "o": {}}))
        for bucket in (
            own,
            parts["s"].setdefault(t.statusid, Count()),
            parts["t"].setdefault(t.typeid, Count()),
            parts["o"].setdefault(t.ownerstaffid, Count()),
            statuses.setdefault(t.statusid, Count()),
            owners.setdefault(t.ownerstaffid, Count()),
        ):
            bucket.add(t, resolved)
    lines = ["<ticketcount>", "<departments>"]
    for dept, (own, parts) in sorted(depts.items()):
        lines += [
            f'<department id="{dept}">',
            tag("totalitems", php_int(own.total)),
            tag("lastactivity", own.last),
            tag("totalunresolveditems", php_int(own.unresolved)),
        ]
        lines += [f"<ticketstatus{c.attrs(k, False)} />" for k, c in sorted(parts["s"].items())]
        lines += [f"<tickettype{c.attrs(k)} />" for k, c in sorted(parts["t"].items())]
        lines += [f"<ownerstaff{c.attrs(k)} />" for k, c in sorted(parts["o"].items())]
        lines.append("</department>")
    lines += ["</departments>", "<!-- Ticket Count grouped by Status -->", "<statuses>"]
    lines += [f"<ticketstatus{c.attrs(k, False)} />" for k, c in sorted(statuses.items())]
    lines += ["</statuses>", "<!-- Ticket Count grouped by Owner Staff -->", "<owners>"]
    lines += [f"<ownerstaff{c.attrs(k)} />" for k, c in sorted(owners.items())]
    lines += ["</owners>", "<!-- Unassigned Ticket Count grouped by Department -->", "<unassigned>"]
    lines += [
        f"<department{parts['o'][0].attrs(d)} />"
        for d, (_, parts) in sorted(depts.items())
        if 0 in parts["o"]
    ]
    lines += ["</unassigned>", "</ticketcount>"]
    return document(lines)


def num(name: str, value: int) -> str:
    """An integer element (never empty, never escaped): the renderers' fast path."""
    return f"<{name}><![CDATA[{value}]]></{name}>"


def esc(value: str) -> str:
    return value.translate(_ESCAPES)


def _ticket_lines(store: Store, t: Ticket, lines: list[str]) -> None:
    lk = store.lookups
    user = store.users.get(t.userid)
    org_id = user.userorganizationid if user else 0
    lines += [
        f'<ticket id="{t.id}" flagtype="{t.flagtype}">',
        tag("displayid", t.displayid),
        num("departmentid", t.departmentid),
        num("statusid", t.statusid),
        num("priorityid", t.priorityid),
        num("typeid", t.typeid),
        num("userid", t.userid),
        tag("userorganization", lk.organizations.get(org_id, "")),
        tag("userorganizationid", php_int(org_id)),
        num("ownerstaffid", t.ownerstaffid),
        tag("ownerstaffname", t.ownerstaffname),
        tag("fullname", t.fullname),
        tag("email", t.email),
        tag("lastreplier", t.lastreplier),
        tag("subject", t.subject),
        num("creationtime", t.dateline),
        num("lastactivity", t.lastactivity),
        num("laststaffreply", t.laststaffreply),
        num("lastuserreply", t.lastuserreply),
        num("slaplanid", t.slaplanid),
        num("nextreplydue", t.duetime),
        num("resolutiondue", t.resolutiondue),
        num("replies", t.replies),
        tag("ipaddress", t.ipaddress),
        num("creator", t.creator),
        num("creationmode", t.creationmode),
        num("creationtype", t.creationtype),
        num("isescalated", t.isescalated),
        num("escalationruleid", 0),
        num("templategroupid", t.tgroupid),
        tag("tags", " ".join(t.tags)),
    ]
    if t.tgroupid in lk.templategroups:
        lines.append(tag("templategroupname", lk.templategroups[t.tgroupid]))
    lines += [
        f'<watcher staffid="{s}" name="{esc(lk.staff[s]["fullname"])}" />'
        for s in t.watchers
        if s in lk.staff
    ]
    lines += [
        f'<workflow id="{w}" title="{esc(lk.workflows[w])}" />'
        for w in t.workflows
        if w in lk.workflows
    ]
    if t.notes:
        lines += [note_line(n) for n in sorted(t.notes.values(), key=lambda n: (n.dateline, n.id))]
    for kind, key, found in (
        ("user", "userid", store.user_notes.get(t.userid, ())),
        ("userorganization", "userorganizationid", store.org_notes.get(org_id, ())),
    ):
        for un in sorted(found, key=lambda n: n.dateline):
            lines.append(
                tag(
                    "note",
                    un.contents,
                    f' type="{kind}" id="{un.id}" {key}="{un.linkid}"'
                    f' notecolor="{un.notecolor}" creatorstaffid="{un.staffid}"'
                    f' forstaffid="0" creatorstaffname="{esc(un.staffname)}"'
                    f' creationdate="{un.dateline}"',
                )
            )
    if t.timetracks:
        lines += [
            timetrack_line(x, "note", ' type="timetrack"')
            for x in sorted(t.timetracks.values(), key=lambda x: (x.billdate, x.id))
        ]


def note_line(n: Note) -> str:
    return tag(
        "note",
        n.contents,
        f' type="ticket" id="{n.id}" ticketid="{n.ticketid}"'
        f' notecolor="{n.notecolor}" creatorstaffid="{n.staffid}"'
        f' forstaffid="{n.forstaffid}" creatorstaffname="{esc(n.staffname)}"'
        f' creationdate="{n.dateline}"',
    )


def timetrack_line(x: TimeTrack, name: str = "timetrack", lead: str = "") -> str:
    return tag(
        name,
        x.contents,
        f'{lead} id="{x.id}" ticketid="{x.ticketid}"'
        f' timeworked="{x.timespent}" timebillable="{x.timebillable}"'
        f' billdate="{x.billdate}" workdate="{x.workdate}" workerstaffid="{x.workerstaffid}"'
        f' workerstaffname="{esc(x.workerstaffname)}" creatorstaffid="{x.creatorstaffid}"'
        f' creatorstaffname="{esc(x.creatorstaffname)}" notecolor="{x.notecolor}"',
    )


def _post_lines(p: Post, contents: str, lines: list[str]) -> None:
    lines += [
        "<post>",
        num("id", p.id),
        num("ticketpostid", p.id),
        num("ticketid", p.ticketid),
        num("dateline", p.dateline),
        num("userid", p.userid),
        tag("fullname", p.fullname),
        tag("email", p.email),
        tag("emailto", p.emailto),
        tag("ipaddress", p.ipaddress),
        num("hasattachments", int(bool(p.attachments))),
        num("creator", p.creator),
        num("isthirdparty", 0),
        num("ishtml", p.ishtml),
        num("isemailed", p.isemailed),
        num("staffid", p.staffid),
        num("issurveycomment", 0),
        tag("contents", contents),
        num("isprivate", p.isprivate),
    ]


def posts(selected: Iterable[Post]) -> str:
    """TicketPost's ``<posts>``: other (\\p{C}) characters dropped, attachments included."""
    lines = ["<posts>"]
    for post in selected:
        _post_lines(post, _printable(post.contents), lines)
        if post.attachments:
            lines.append("<attachments>")
            for a in post.attachments:
                lines += [
                    "<attachment>",
                    tag("id", a.id),
                    tag("filename", a.filename),
                    tag("filesize", len(a.data)),
                    tag("filetype", a.filetype),
                    tag("dateline", a.dateline),
                    tag("contents", base64.b64encode(a.data).decode()),
                    "</attachment>",
                ]
            lines.append("</attachments>")
        lines.append("</post>")
    lines.append("</posts>")
    return document(lines)


def _printable(text: str) -> str:
    if text.replace("\n", "").replace("\r", "").replace("\t", "").isprintable():
        return text
    return "".join(c for c in text if c in "\r\n\t" or unicodedata.category(c)[0] != "C")


# -- custom fields ------------------------------------------------------------------------
def _attrs(row: Row) -> str:
    return "".join(f' {key}="{esc(str(value))}"' for key, value in row.items())


def ticket_custom_fields(group: Row, fields: Iterable[Row], values: dict[int, str]) -> str:
    """GET /Tickets/TicketCustomField/$ticketid$: every field of the linked group, empty when unset."""
    head = {k: group[k] for k in ("id", "title", "displayorder")}
    lines = [f"<group{_attrs(head)}>"]
    for f in fields:
        attrs = {"id": f["id"], "title": f["title"], "type": f["fieldtype"], "name": f["fieldname"]}
        lines.append(tag("field", values.get(f["id"], ""), _attrs(attrs)))
    return wrap("customfields", [*lines, "</group>"])


def custom_field_list(group: Row, fields: Iterable[Row]) -> str:
    """GET /Base/CustomField: every definition, its database row as attributes."""
    lines = []
    for order, f in enumerate(fields, start=1):
        row = {
            "customfieldid": f["id"],
            "customfieldgroupid": group["id"],
            "title": f["title"],
            "fieldtype": f["fieldtype"],
            "fieldname": f["fieldname"],
            "defaultvalue": "",
            "isrequired": 0,
            "usereditable": 0,
            "staffeditable": 1,
            "regexpvalidate": "",
            "displayorder": order,
            "encryptindb": 0,
            "description": "",
            "grouptype": group["grouptype"],
        }
        lines.append(f"<customfield{_attrs(row)} />")
    return wrap("customfields", lines)


def custom_field_options(options: Iterable[tuple[int, int, str]]) -> str:
    """GET /Base/CustomField/ListOptions/$customfieldid$: (option id, field id, value) rows."""
    lines = []
    for order, (option_id, field_id, value) in enumerate(options, start=1):
        row = {
            "customfieldoptionid": option_id,
            "customfieldid": field_id,
            "optionvalue": value,
            "displayorder": order,
            "isselected": 0,
            "parentcustomfieldoptionid": 0,
        }
        lines.append(f"<option{_attrs(row)} />")
    return wrap("customfieldoptions", lines)
