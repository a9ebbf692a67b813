"""WHMCS External API support actions: parameter handling, business rules, response bodies.

Each action takes the request parameters (strings, as PHP sees them) and returns the JSON
body. Keliweb's wrapper calls the same functions with ``Ctx.owner`` set to the reseller's
own client, which hides other clients' tickets and fixes the reply author.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from .seed import new_tid, random_code
from .store import (
    PRIORITIES,
    STATUS_BY_TITLE,
    STATUSES,
    Admin,
    Body,
    SupportStore,
    Ticket,
)
from .wire import admin_item, note_item, ticket_body, ticket_item

Params = dict[str, str]
_INT = re.compile(r"\s*[+-]?\d+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# not documented: emulator choice (the "xxx" of the documented message lists the statuses)
VALID_STATUSES = "Invalid Ticket Status. Valid statuses are: " + ",".join(s.title for s in STATUSES)
VALID_PRIORITIES = "Invalid Ticket Priority. Valid priorities are: Low,Medium,High"


@dataclass
class Ctx:
    """Who is calling: the authenticated admin, and for Keliweb the reseller's client id."""

    store: SupportStore
    admin: Admin
    rng: random.Random
    owner: int | None = None


class BadDate(Exception):
    """A ``created`` value that is malformed (``future=False``) or in the future."""

    def __init__(self, future: bool) -> None:
        super().__init__("future" if future else "format")
        self.future = future


def intval(value: str | None) -> int:
    """PHP ``(int)``: leading digits, anything else is 0."""
    m = _INT.match(value or "")
    return int(m.group()) if m else 0


def truthy(value: str | None) -> bool:
    """PHP truthiness of a request string: empty and ``"0"`` are false."""
    return value not in (None, "", "0")


def error(message: str) -> Body:
    return {"result": "error", "message": message}


def parse_created(value: str) -> int:
    """An ISO-8601 or ``Y-m-d H:i:s`` input date; naive values are server-local (UTC)."""
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadDate(future=False) from None
    ts = int((dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp())
    if ts > time.time():
        raise BadDate(future=True)
    return ts


def _created(p: Params, future_message: str) -> int | str:
    """The ``created`` timestamp (now when absent) or the error message to send."""
    if not p.get("created"):
        return int(time.time())
    try:
        return parse_created(p["created"])
    except BadDate as exc:
        return future_message if exc.future else "Invalid Date Format"


def _find_ticket(ctx: Ctx, p: Params) -> Ticket | None:
    store = ctx.store
    tid = intval(p.get("ticketid"))
    if not tid:
        tid = store.by_tid.get(p.get("ticketnum", ""), 0)
    t = store.tickets.get(tid)
    # not documented: emulator choice (Keliweb only shows the reseller's own tickets)
    if t is not None and ctx.owner is not None and t.userid != ctx.owner:
        return None
    return t


# -- lists and lookups ------------------------------------------------------------------------
def _status_filter(status: str, admin: Admin) -> Callable[[Ticket], bool]:
    # not documented: emulator choice ("My Flagged Tickets" counts active tickets only)
    wanted = status.lower()
    if wanted == "awaiting reply":
        return lambda t: STATUS_BY_TITLE[t.status].awaiting
    if wanted == "all active tickets":
        return lambda t: STATUS_BY_TITLE[t.status].active
    if wanted == "my flagged tickets":
        return lambda t: t.flag == admin.id and STATUS_BY_TITLE[t.status].active
    return lambda t: t.status.lower() == wanted


def visible_depts(ctx: Ctx, ignore_assignments: bool) -> tuple[int, ...]:
    """Departments the API admin sees: its own unless assignments are ignored."""
    if ignore_assignments:
        return tuple(ctx.store.departments)
    return tuple(d for d in ctx.admin.depts if d in ctx.store.departments)


def get_tickets(ctx: Ctx, p: Params) -> Body:
    """GetTickets: newest ``lastreply`` first, paged by ``limitstart``/``limitnum``."""
    store = ctx.store
    start = max(0, intval(p.get("limitstart")))
    num = intval(p.get("limitnum"))
    num = num if num > 0 else 25
    depts = visible_depts(ctx, truthy(p.get("ignore_dept_assignments")))
    deptid, clientid = intval(p.get("deptid")), intval(p.get("clientid"))
    email, subject = p.get("email", "").lower(), p.get("subject", "").lower()
    status = p.get("status", "")
    checks: list[Callable[[Ticket], bool]] = []
    if len(depts) < len(store.departments):
        checks.append(lambda t: t.deptid in depts)
    if deptid:
        checks.append(lambda t: t.deptid == deptid)
    if clientid:
        checks.append(lambda t: t.userid == clientid)
    if email:
        checks.append(lambda t: t.userid == 0 and t.email.lower() == email)
    if subject:
        checks.append(lambda t: subject in t.subject.lower())
    if status:
        checks.append(_status_filter(status, ctx.admin))
    if checks:
        key = (depts, deptid, clientid, email, subject, status.lower(), ctx.admin.id)
        ids = store.filtered_ids(key, lambda t: all(c(t) for c in checks))
        total, page = len(ids), ids[start : start + num]
    else:
        total, page = store.ticket_count, store.ordered_ids(start, start + num)
    # not documented: emulator choice (totalresults string, an empty page drops "tickets")
    body: Body = {"result": "success", "totalresults": str(total), "startnumber": start}
    body["numreturned"] = len(page)
    if page:
        body["tickets"] = {"ticket": [ticket_item(store, store.tickets[i]) for i in page]}
    return body


def get_ticket(ctx: Ctx, p: Params) -> Body:
    """GetTicket by ``ticketid`` or ``ticketnum``."""
    t = _find_ticket(ctx, p)
    if t is None:
        return error("Ticket ID Not Found")
    return ticket_body(ctx.store, t, p.get("repliessort", "ASC").upper() == "DESC")


def get_ticket_notes(ctx: Ctx, p: Params) -> Body:
    """GetTicketNotes: the internal notes of one ticket (``id`` rather than ``noteid``)."""
    t = ctx.store.tickets.get(intval(p.get("ticketid")))
    if t is None:
        return error("Ticket ID Not Found")
    notes = [ctx.store.notes[nid] for nid in sorted(t.notes)]
    body: Body = {"result": "success", "totalresults": len(notes)}
    if notes:
        body["notes"] = {"note": [note_item(n) for n in notes]}
    return body


def get_ticket_counts(ctx: Ctx, p: Params) -> Body:
    """GetTicketCounts over the visible departments."""
    depts = visible_depts(ctx, truthy(p.get("ignoreDepartmentAssignments")))
    by_status = dict.fromkeys(STATUS_BY_TITLE, 0)
    flagged = 0
    for t in ctx.store.tickets.values():
        if t.deptid in depts:
            by_status[t.status] += 1
            flagged += t.flag == ctx.admin.id and STATUS_BY_TITLE[t.status].active
    body: Body = {
        "result": "success",
        "filteredDepartments": list(depts),
        "allActive": sum(n for s, n in by_status.items() if STATUS_BY_TITLE[s].active),
        "awaitingReply": sum(n for s, n in by_status.items() if STATUS_BY_TITLE[s].awaiting),
        "flaggedTickets": flagged,
    }
    if truthy(p.get("includeCountsByStatus")):
        body["status"] = {
            re.sub(r"[^a-z0-9]", "", s.lower()): {"title": s, "count": n}
            for s, n in by_status.items()
        }
    return body


def get_support_statuses(ctx: Ctx, p: Params) -> Body:
    """GetSupportStatuses with ticket counts, optionally for one department."""
    deptid = intval(p.get("deptid"))
    counts = dict.fromkeys(STATUS_BY_TITLE, 0)
    for t in ctx.store.tickets.values():
        if not deptid or t.deptid == deptid:
            counts[t.status] += 1
    statuses = [{"title": s.title, "count": counts[s.title], "color": s.color} for s in STATUSES]
    return {"result": "success", "totalresults": len(statuses), "statuses": {"status": statuses}}


def get_support_departments(ctx: Ctx, p: Params) -> Body:
    """GetSupportDepartments with awaiting-reply and open (active) ticket counts."""
    depts = visible_depts(ctx, truthy(p.get("ignore_dept_assignments")))
    awaiting, active = dict.fromkeys(depts, 0), dict.fromkeys(depts, 0)
    for t in ctx.store.tickets.values():
        if t.deptid in awaiting:
            status = STATUS_BY_TITLE[t.status]
            awaiting[t.deptid] += status.awaiting
            active[t.deptid] += status.active
    items = [
        {
            "id": str(d),
            "name": ctx.store.departments[d].name,
            "awaitingreply": str(awaiting[d]),
            "opentickets": str(active[d]),
        }
        for d in depts
    ]
    return {"result": "success", "totalresults": len(items), "departments": {"department": items}}


def get_admin_users(ctx: Ctx, p: Params) -> Body:
    """GetAdminUsers, ordered by first then last name."""
    roleid, email = intval(p.get("roleid")), p.get("email", "").lower()
    admins = sorted(ctx.store.admins.values(), key=lambda a: (a.firstname, a.lastname))
    keep = [
        a
        for a in admins
        if (not roleid or a.roleid == roleid)
        and email in a.email.lower()
        and (truthy(p.get("include_disabled")) or not a.disabled)
    ]
    return {"result": "success", "count": len(keep), "admin_users": [admin_item(a) for a in keep]}


# -- writes ------------------------------------------------------------------------------------
def _valid_email(email: str) -> bool:
    return bool(_EMAIL.match(email))


def _opener(ctx: Ctx, p: Params) -> tuple[int, str, str] | str:
    """(userid, name, email) of whoever opens a ticket, or the error message."""
    clientid = ctx.owner if ctx.owner is not None else intval(p.get("clientid"))
    if clientid:
        client = ctx.store.clients.get(clientid)
        if client is None:
            return "Client ID Not Found"
        # not documented: emulator choice (a client's owner user has the client's id)
        if ctx.owner is None and p.get("userid") and intval(p["userid"]) != clientid:
            return "The system cannot find the provided user ID."
        if ctx.owner is None and intval(p.get("contactid")):
            return "Contact ID Not Found"
        return client.id, client.full, client.email
    name, email = p.get("name", ""), p.get("email", "")
    if not name or not email:
        return "Name and email address are required if not a client"
    if not _valid_email(email):
        return "Email Address Invalid"
    return 0, name, email


def open_ticket(ctx: Ctx, p: Params) -> Body:
    """OpenTicket: a new ticket in status Open whose ``lastreply`` is its opening date."""
    store = ctx.store
    opener = _opener(ctx, p)
    if isinstance(opener, str):
        return error(opener)
    deptid = intval(p.get("deptid"))
    if deptid not in store.departments:
        return error("Department ID not found")
    for key, message in (("subject", "Subject is required"), ("message", "Message is required")):
        if not p.get(key, "").strip():
            return error(message)
    # not documented: emulator choice (the emulator has no services or domains to link)
    if intval(p.get("serviceid")):
        return error("Service ID Not Found")
    if intval(p.get("domainid")):
        return error("Domain ID Not Found")
    when = _created(p, "Ticket creation date cannot be in the future")
    if isinstance(when, str):
        return error(when)
    # not documented: emulator choice (a missing or unknown priority opens as Medium)
    priority = p.get("priority", "")
    userid, name, email = opener
    t = store.open_ticket(
        tid=new_tid(ctx.rng, store.by_tid),
        c=random_code(ctx.rng),
        deptid=deptid,
        userid=userid,
        name=name,
        email=email,
        date=when,
        subject=p["subject"],
        message=p["message"],
        priority=priority if priority in PRIORITIES else "Medium",
        admin=ctx.admin.full if ctx.owner is None and truthy(p.get("admin")) else "",
    )
    return {"result": "success", "id": str(t.id), "tid": t.tid, "c": t.c}


def _reply_author(ctx: Ctx, p: Params) -> tuple[int, str, str, str] | str:
    """(userid, name, email, admin name) of a reply's author, or the error message."""
    clientid = ctx.owner if ctx.owner is not None else intval(p.get("clientid"))
    if clientid:
        if clientid not in ctx.store.clients:
            return "Client ID Not Found"
        if ctx.owner is None and intval(p.get("contactid")):
            return "Contact ID Not Found"
        return clientid, "", "", ""
    if p.get("adminusername"):
        admin = ctx.store.admin_by_username(p["adminusername"])
        # not documented: emulator choice (an unknown admin username is stored as the name)
        return 0, "", "", admin.full if admin else p["adminusername"]
    name, email = p.get("name", ""), p.get("email", "")
    if not name or not email:
        return "Name and email address are required if not a client"
    if not _valid_email(email):
        return "Email Address Invalid"
    return 0, name, email, ""


def add_ticket_reply(ctx: Ctx, p: Params) -> Body:
    """AddTicketReply: the status follows the author unless ``status`` says otherwise."""
    t = _find_ticket(ctx, p)
    if t is None:
        return error("Ticket ID not found")
    if not p.get("message", "").strip():
        return error("Message is required")
    author = _reply_author(ctx, p)
    if isinstance(author, str):
        return error(author)
    userid, name, email, admin = author
    status = p.get("status") or ("Answered" if admin else "Customer-Reply")
    if status not in STATUS_BY_TITLE:
        return error("Invalid Ticket Status")
    when = _created(p, "Reply creation date cannot be in the future")
    if isinstance(when, str):
        return error(when)
    ctx.store.add_reply(
        t,
        status,
        userid=userid or (t.userid if admin else 0),
        name=name,
        email=email,
        admin=admin,
        date=when,
        message=p["message"],
    )
    return {"result": "success"}


def add_ticket_note(ctx: Ctx, p: Params) -> Body:
    """AddTicketNote: an internal note by the API admin; ``lastreply`` does not move."""
    t = _find_ticket(ctx, p)
    if t is None:
        return error("Ticket ID not found")
    if not p.get("message", "").strip():
        return error("Message is required")
    when = _created(p, "Ticket creation date cannot be in the future")
    if isinstance(when, str):
        return error(when)
    ctx.store.add_note(t, ctx.admin.full, when, p["message"])
    return {"result": "success"}


def _ticket_update_error(ctx: Ctx, p: Params) -> str | None:
    if p.get("deptid") and intval(p["deptid"]) not in ctx.store.departments:
        return "Department ID Not Found"
    if p.get("status") and p["status"] not in STATUS_BY_TITLE:
        return VALID_STATUSES
    if p.get("priority") and p["priority"] not in PRIORITIES:
        return VALID_PRIORITIES
    return None


def update_ticket(ctx: Ctx, p: Params) -> Body:
    """UpdateTicket: field changes only; ``lastreply`` does not move."""
    t = ctx.store.tickets.get(intval(p.get("ticketid")))
    if t is None:
        return error("Ticket ID Not Found")
    problem = _ticket_update_error(ctx, p)
    when: int | str = t.date
    if p.get("created"):
        when = _created(p, "Ticket creation date cannot be in the future")
    if problem or isinstance(when, str):
        return error(problem or str(when))
    t.date = when
    _apply_update(ctx, t, p)
    return {"result": "success", "ticketid": str(t.id)}


def _apply_update(ctx: Ctx, t: Ticket, p: Params) -> None:
    for key in ("subject", "status", "priority", "cc", "message"):
        if p.get(key):
            setattr(t, key, p[key])
    if p.get("deptid"):
        t.deptid = intval(p["deptid"])
    client = ctx.store.clients.get(intval(p.get("userid")))
    if client is not None:
        t.userid, t.name, t.email = client.id, client.full, client.email
    elif t.userid == 0:
        t.name, t.email = p.get("name") or t.name, p.get("email") or t.email
    if "flag" in p:
        t.flag = intval(p["flag"])
    if truthy(p.get("removeFlag")):
        t.flag = 0
    ctx.store.changed()


def update_ticket_reply(ctx: Ctx, p: Params) -> Body:
    """UpdateTicketReply: new text (and date) for a reply; ``lastreply`` does not move."""
    replyid = intval(p.get("replyid"))
    if not replyid:
        return error("Reply ID Required")
    if not p.get("message", "").strip():
        return error("Message is Required")
    r = ctx.store.replies.get(replyid)
    if r is None:
        return error("Reply ID Not Found")
    when: int | str = r.date
    if p.get("created"):
        when = _created(p, "Reply creation date cannot be in the future")
    if isinstance(when, str):
        return error(when)
    r.message, r.date = p["message"], when
    ctx.store.changed()
    return {"result": "success", "replyid": str(r.id)}


def delete_ticket(ctx: Ctx, p: Params) -> Body:
    """DeleteTicket, with its replies and notes."""
    t = ctx.store.tickets.get(intval(p.get("ticketid")))
    if t is None:
        return error("Ticket ID not found")
    ctx.store.delete_ticket(t)
    return {"result": "success"}


def delete_ticket_note(ctx: Ctx, p: Params) -> Body:
    """DeleteTicketNote by ``noteid``."""
    n = ctx.store.notes.get(intval(p.get("noteid")))
    if n is None:
        return error("Note ID Not Found")
    ctx.store.delete_note(n)
    return {"result": "success"}


def delete_ticket_reply(ctx: Ctx, p: Params) -> Body:
    """DeleteTicketReply: the reply must belong to the given ticket."""
    ticketid, replyid = intval(p.get("ticketid")), intval(p.get("replyid"))
    if not ticketid:
        return error("Ticket ID Required")
    if not replyid:
        return error("Reply ID Required")
    if ticketid not in ctx.store.tickets:
        return error("Ticket ID Not Found")
    r = ctx.store.replies.get(replyid)
    if r is None or r.ticket_id != ticketid:
        return error("Reply ID Not Found")
    ctx.store.delete_reply(r)
    return {"result": "success"}


Action = Callable[[Ctx, Params], Body]
ACTIONS: dict[str, Action] = {
    f.__name__.replace("_", ""): f
    for f in (
        get_tickets,
        get_ticket,
        get_ticket_notes,
        get_ticket_counts,
        get_support_statuses,
        get_support_departments,
        get_admin_users,
        open_ticket,
        add_ticket_reply,
        add_ticket_note,
        update_ticket,
        update_ticket_reply,
        delete_ticket,
        delete_ticket_note,
        delete_ticket_reply,
    )
}
