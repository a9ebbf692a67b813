"""The in-memory Kayako Classic helpdesk: records, indexes, and writes with their side effects."""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CREATOR_STAFF, CREATOR_USER = 1, 2
CREATIONMODE_API = 4
TYPE_DEFAULT, TYPE_PHONE = 1, 2
MIME_TYPES = {
    "txt": "text/plain",
    "log": "text/plain",
    "csv": "text/csv",
    "png": "image/png",
    "jpg": "image/jpeg",
    "pdf": "application/pdf",
    "zip": "application/zip",
}
_NUMERIC = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+")
Row = dict[str, Any]


@dataclass(slots=True)
class User:
    id: int
    usergroupid: int
    userrole: int  # 1 user, 2 manager
    userorganizationid: int
    salutation: str
    fullname: str
    emails: list[str]
    designation: str
    phone: str
    dateline: int
    lastvisit: int
    isenabled: int = 1


@dataclass(slots=True)
class UserNote:
    """A note on a user or an organization: shown inside tickets, but not a ticket note."""

    id: int
    linkid: int
    notecolor: int
    staffid: int
    staffname: str
    dateline: int
    contents: str


@dataclass(slots=True)
class Attachment:
    id: int
    filename: str
    filetype: str
    dateline: int
    data: bytes


@dataclass(slots=True)
class Post:
    id: int
    ticketid: int
    dateline: int
    userid: int
    fullname: str
    email: str
    creator: int
    staffid: int
    contents: str
    isprivate: int = 0
    ishtml: int = 0
    isemailed: int = 0
    emailto: str = ""
    ipaddress: str = ""
    attachments: tuple[Attachment, ...] = ()


@dataclass(slots=True)
class Note:
    id: int
    ticketid: int
    notecolor: int
    staffid: int
    forstaffid: int
    staffname: str
    dateline: int
    contents: str


@dataclass(slots=True)
class TimeTrack:
    id: int
    ticketid: int
    timespent: int
    timebillable: int
    billdate: int
    workdate: int
    workerstaffid: int
    workerstaffname: str
    creatorstaffid: int
    creatorstaffname: str
    notecolor: int
    contents: str


@dataclass(slots=True)
class Ticket:
    id: int
    displayid: str
    departmentid: int
    statusid: int
    priorityid: int
    typeid: int
    userid: int
    fullname: str
    email: str
    subject: str
    dateline: int
    lastactivity: int
    creator: int
    creationmode: int
    ownerstaffid: int = 0
    ownerstaffname: str = ""
    lastreplier: str = ""
    laststaffreply: int = 0
    lastuserreply: int = 0
    slaplanid: int = 0
    duetime: int = 0
    resolutiondue: int = 0
    resolutiondateline: int = 0
    replies: int = 0
    ipaddress: str = ""
    creationtype: int = TYPE_DEFAULT
    isescalated: int = 0
    tgroupid: int = 1
    flagtype: int = 0
    tags: tuple[str, ...] = ()
    watchers: tuple[int, ...] = ()
    workflows: tuple[int, ...] = ()
    posts: dict[int, Post] = field(default_factory=dict)
    notes: dict[int, Note] = field(default_factory=dict)
    timetracks: dict[int, TimeTrack] = field(default_factory=dict)


@dataclass
class Lookups:
    """Configuration tables (cached by Kayako, read-only here); rows keep the XML field order."""

    departments: dict[int, Row]
    statuses: dict[int, Row]
    priorities: dict[int, Row]
    types: dict[int, Row]
    staffgroups: dict[int, Row]
    staff: dict[int, Row]
    templategroups: dict[int, str]
    workflows: dict[int, str]
    organizations: dict[int, str]


def is_numeric(value: str) -> bool:
    """PHP's is_numeric()."""
    return bool(_NUMERIC.match(value))


def wire_text(text: str) -> str:
    """Text as a client reads it back from the XML: control characters gone, newlines LF."""
    return _CONTROL.sub("", text.replace("\r\n", "\n")).replace("\r", "\n")


@dataclass
class Store:
    """All data of one emulated helpdesk plus the indexes the API needs to stay fast."""

    lookups: Lookups
    users: dict[int, User]
    tickets: dict[int, Ticket]
    user_notes: dict[int, list[UserNote]]
    org_notes: dict[int, list[UserNote]]
    posts: dict[int, Post] = field(default_factory=dict)
    notes: dict[int, Note] = field(default_factory=dict)
    timetracks: dict[int, TimeTrack] = field(default_factory=dict)
    _by_mask: dict[str, int] = field(default_factory=dict)
    _by_email: dict[str, int] = field(default_factory=dict)
    _activity: list[tuple[int, int]] = field(default_factory=list)
    _ids: list[int] = field(default_factory=list)
    _pos: dict[int, int] = field(default_factory=dict)
    _list_cache: dict[tuple[Any, ...], list[int]] = field(default_factory=dict)
    _next: dict[str, int] = field(default_factory=dict)
    # ticket id -> custom field id -> stored value: text, an option id, or a list of option ids
    custom: dict[int, dict[int, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index()

    def index(self) -> None:
        """(Re)build every index and id counter from the records, e.g. after bulk loading."""
        tickets = self.tickets.values()
        self._by_mask = {t.displayid: t.id for t in tickets}
        self._by_email = {e.lower(): u.id for u in self.users.values() for e in u.emails}
        self._activity = sorted((t.lastactivity, t.id) for t in tickets)
        self._ids = list(self.tickets)
        self._pos = {tid: i for i, tid in enumerate(self._ids)}
        self.posts = {p.id: p for t in tickets for p in t.posts.values()}
        self.notes = {n.id: n for t in tickets for n in t.notes.values()}
        self.timetracks = {x.id: x for t in tickets for x in t.timetracks.values()}
        user_notes = [
            n.id for g in (self.user_notes, self.org_notes) for notes in g.values() for n in notes
        ]
        attachments = [a.id for p in self.posts.values() for a in p.attachments]
        self._next = {
            "ticket": max(self.tickets, default=0),
            "user": max(self.users, default=0),
            "post": max(self.posts, default=0),
            "note": max(self.notes, default=0),
            "timetrack": max(self.timetracks, default=0),
            "usernote": max(user_notes, default=0),
            "attachment": max(attachments, default=0),
        }
        self._list_cache.clear()

    def new_id(self, kind: str) -> int:
        self._next[kind] += 1
        return self._next[kind]

    def changed(self) -> None:
        """Forget cached ticket lists after any write."""
        self._list_cache.clear()

    # -- reads ---------------------------------------------------------------------------
    def ticket(self, raw: str) -> Ticket | None:
        """A ticket by numeric id or by display (mask) id, as Kayako's GetObjectOnID."""
        if is_numeric(raw):
            return self.tickets.get(int(float(raw)))
        tid = self._by_mask.get(raw)
        return self.tickets.get(tid) if tid else None

    def random_ticket(
        self, pick: Callable[[list[int]], int], want: Callable[[Ticket], bool] | None = None
    ) -> Ticket | None:
        """A random live ticket, preferring (a few tries) one that satisfies ``want``."""
        if not self._ids:
            return None
        ticket = self.tickets[pick(self._ids)]
        for _ in range(12):
            if want is None or want(ticket):
                break
            ticket = self.tickets[pick(self._ids)]
        return ticket

    def user_by_email(self, email: str) -> User | None:
        uid = self._by_email.get(email.strip().lower())
        return self.users.get(uid) if uid else None

    def is_resolved(self, ticket: Ticket) -> bool:
        status = self.lookups.statuses.get(ticket.statusid)
        return bool(status and status["markasresolved"])

    def list_ticket_ids(
        self, key: tuple[Any, ...], match: Callable[[Ticket], bool], sort: str, desc: bool
    ) -> list[int]:
        """Matching ticket ids ordered by a SORT_KEYS field (else by id), cached until a write.

        ``lastactivity`` walks the maintained activity index instead of sorting.
        """
        cache_key = (*key, sort, desc)
        ids = self._list_cache.get(cache_key)
        if ids is not None:
            return ids
        tickets = self.tickets
        if sort == "lastactivity":
            ids = [tid for _, tid in self._activity if match(tickets[tid])]
        elif sort in SORT_KEYS:
            keyfn = SORT_KEYS[sort]
            keyed = sorted((keyfn(self, t), t.id) for t in tickets.values() if match(t))
            ids = [tid for _, tid in keyed]
        else:
            ids = [t.id for t in tickets.values() if match(t)]
        if desc:
            ids.reverse()
        if len(self._list_cache) > 64:
            self._list_cache.clear()
        self._list_cache[cache_key] = ids
        return ids

    def search(self, query: str, flags: list[str], limit: int) -> list[int]:
        """TicketSearch: ids of tickets matching any flagged field, ascending, capped."""
        needle = query.strip().lower()
        tests = [SEARCHES[f] for f in flags if f in SEARCHES]
        if not needle or not tests:
            return []
        hits = (t.id for t in self.tickets.values() if any(test(self, t, needle) for test in tests))
        return list(itertools.islice(hits, limit))

    def user_ids_from(self, marker: int) -> list[int]:
        """User ids >= marker, ascending (ids only grow, so dict order is id order)."""
        ids = list(self.users)
        return ids[bisect.bisect_left(ids, marker) :]

    # -- ticket writes -------------------------------------------------------------------
    def add_ticket(self, ticket: Ticket) -> None:
        """Insert a new ticket with its posts, notes and time tracks."""
        self.tickets[ticket.id] = ticket
        self._by_mask[ticket.displayid] = ticket.id
        bisect.insort(self._activity, (ticket.lastactivity, ticket.id))
        self._pos[ticket.id] = len(self._ids)
        self._ids.append(ticket.id)
        self.posts.update(ticket.posts)
        self.notes.update(ticket.notes)
        self.timetracks.update(ticket.timetracks)
        self.changed()

    def touch(self, ticket: Ticket, now: int) -> None:
        """Move the ticket's lastactivity, and its place in the activity index."""
        # not documented: emulator choice -- only ticket creates, ticket updates and new
        # posts call this; notes, time tracks and deletions leave lastactivity alone.
        index = bisect.bisect_left(self._activity, (ticket.lastactivity, ticket.id))
        del self._activity[index]
        ticket.lastactivity = now
        bisect.insort(self._activity, (now, ticket.id))
        self.changed()

    def set_status(self, ticket: Ticket, statusid: int, now: int) -> None:
        ticket.statusid = statusid
        resolved = self.is_resolved(ticket)
        ticket.resolutiondateline = now if resolved else 0
        if resolved:
            ticket.duetime = ticket.resolutiondue = 0

    def set_owner(self, ticket: Ticket, staffid: int) -> None:
        staff = self.lookups.staff.get(staffid)
        ticket.ownerstaffid = staffid if staff else 0
        ticket.ownerstaffname = staff["fullname"] if staff else ""

    def delete_ticket(self, ticket: Ticket) -> None:
        """Delete a ticket with everything attached to it; nothing is left behind."""
        del self.tickets[ticket.id]
        self._by_mask.pop(ticket.displayid, None)
        del self._activity[bisect.bisect_left(self._activity, (ticket.lastactivity, ticket.id))]
        pos, last = self._pos.pop(ticket.id), self._ids.pop()
        if last != ticket.id:
            self._ids[pos] = last
            self._pos[last] = pos
        for pid in ticket.posts:
            del self.posts[pid]
        for nid in ticket.notes:
            del self.notes[nid]
        for xid in ticket.timetracks:
            del self.timetracks[xid]
        self.changed()

    # -- posts, notes, time tracks ---------------------------------------------------------
    def add_post(self, ticket: Ticket, post: Post) -> None:
        """A new reply: reply count, last replier and lastactivity move with it."""
        ticket.posts[post.id] = post
        self.posts[post.id] = post
        ticket.replies = max(0, len(ticket.posts) - 1)
        ticket.lastreplier = post.fullname
        if post.creator == CREATOR_STAFF:
            ticket.laststaffreply = post.dateline
        else:
            ticket.lastuserreply = post.dateline
        self.touch(ticket, post.dateline)

    def delete_post(self, post: Post) -> None:
        """Delete a post as the API does: the ticket's reply count and last replier go stale."""
        del self.tickets[post.ticketid].posts[post.id]
        del self.posts[post.id]
        self.changed()

    def rebuild(self, ticket: Ticket) -> None:
        """The staff panel's RebuildProperties: replies and last replier from the posts left."""
        ticket.replies = max(0, len(ticket.posts) - 1)
        if ticket.posts:
            ticket.lastreplier = ticket.posts[max(ticket.posts)].fullname
        self.changed()

    def add_note(self, ticket: Ticket, note: Note) -> None:
        ticket.notes[note.id] = note
        self.notes[note.id] = note
        self.changed()

    def delete_note(self, note: Note) -> None:
        del self.tickets[note.ticketid].notes[note.id]
        del self.notes[note.id]
        self.changed()

    def add_timetrack(self, ticket: Ticket, entry: TimeTrack) -> None:
        ticket.timetracks[entry.id] = entry
        self.timetracks[entry.id] = entry
        self.changed()

    def delete_timetrack(self, entry: TimeTrack) -> None:
        del self.tickets[entry.ticketid].timetracks[entry.id]
        del self.timetracks[entry.id]
        self.changed()

    def attachment(self, filename: str, content: bytes, now: int) -> Attachment:
        ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        filetype = MIME_TYPES.get(ext, "application/octet-stream")
        return Attachment(self.new_id("attachment"), filename, filetype, now, content)

    def get_or_create_user(self, fullname: str, email: str, now: int) -> int:
        """Kayako's GetOrCreateUserID: the user owning this email, else a new registered user."""
        existing = self.user_by_email(email)
        if existing:
            return existing.id
        user = User(self.new_id("user"), 2, 1, 0, "", fullname, [email.strip()], "", "", now, 0)
        self.users[user.id] = user
        self._by_email[email.strip().lower()] = user.id
        return user.id

    # -- canonical view ----------------------------------------------------------------------
    def ground_truth(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Live data in canonical terms; see ``KayakoEmulator.ground_truth`` for the ids."""
        lk = self.lookups
        tickets = {
            str(t.id): {
                "subject": wire_text(t.subject),
                "status": lk.statuses[t.statusid]["title"],
                "priority": lk.priorities[t.priorityid]["title"],
            }
            for t in self.tickets.values()
        }
        notes: dict[str, dict[str, Any]] = {}
        for p in self.posts.values():
            notes[f"post:{p.id}"] = {
                "ticket_id": str(p.ticketid),
                "kind": "reply",
                "visibility": "private" if p.isprivate else "public",
                "body": wire_text(p.contents),
            }
        for n in self.notes.values():
            notes[f"note:{n.id}"] = {
                "ticket_id": str(n.ticketid),
                "kind": "note",
                "visibility": "private",
                "body": wire_text(n.contents),
            }
        entries = {
            str(x.id): {
                "ticket_id": str(x.ticketid),
                "seconds_worked": x.timespent,
                "seconds_billable": x.timebillable,
            }
            for x in self.timetracks.values()
        }
        people = {
            f"staff:{s['id']}": {
                "kind": "staff",
                "name": wire_text(s["fullname"]),
                "email": s["email"],
            }
            for s in lk.staff.values()
        }
        for u in self.users.values():
            people[f"user:{u.id}"] = {
                "kind": "requester",
                "name": wire_text(u.fullname),
                "email": u.emails[0] if u.emails else "",
            }
        return {"tickets": tickets, "notes": notes, "time_entries": entries, "people": people}


def _words(needle: str, text: str) -> bool:
    text = text.lower()
    return all(word in text for word in needle.split())


def _user_text(store: Store, t: Ticket) -> str:
    user = store.users.get(t.userid)
    return " ".join([user.fullname, *user.emails]).lower() if user else ""


def _org_name(store: Store, t: Ticket) -> str:
    user = store.users.get(t.userid)
    return store.lookups.organizations.get(user.userorganizationid, "").lower() if user else ""


SEARCHES: dict[str, Callable[[Store, Ticket, str], bool]] = {
    "ticketid": lambda s, t, q: q in (str(t.id), t.displayid.lower()),
    "contents": lambda s, t, q: any(_words(q, p.contents) for p in t.posts.values()),
    "phrase": lambda s, t, q: any(q in p.contents.lower() for p in t.posts.values()),
    "author": lambda s, t, q: any(q in p.fullname.lower() for p in t.posts.values()),
    "email": lambda s, t, q: q in t.email.lower(),
    "creatoremail": lambda s, t, q: q == t.email.lower(),
    "fullname": lambda s, t, q: q in t.fullname.lower(),
    "notes": lambda s, t, q: any(q in n.contents.lower() for n in t.notes.values()),
    "usergroup": lambda s, t, q: t.userid in s.users and q in "registered",
    "userorganization": lambda s, t, q: bool(q) and q in _org_name(s, t),
    "user": lambda s, t, q: q in _user_text(s, t),
    "tags": lambda s, t, q: q in (tag.lower() for tag in t.tags),
}


def _title(table: dict[int, Row], key: int) -> str:
    row = table.get(key)
    return row["title"].lower() if row else ""


# ListAll's sortField whitelist; "lastactivity" is served from the activity index.
SORT_KEYS: dict[str, Callable[[Store, Ticket], Any]] = {
    "ticketstatustitle": lambda s, t: _title(s.lookups.statuses, t.statusid),
    "departmenttitle": lambda s, t: _title(s.lookups.departments, t.departmentid),
    "userid": lambda s, t: t.userid,
    "ownerstaffid": lambda s, t: t.ownerstaffid,
    "dateline": lambda s, t: t.dateline,
    "totalreplies": lambda s, t: t.replies,
    "hasattachments": lambda s, t: any(p.attachments for p in t.posts.values()),
    "hasnotes": lambda s, t: bool(t.notes),
    "lastactivity": lambda s, t: t.lastactivity,
    "duetime": lambda s, t: t.duetime,
    "creator": lambda s, t: t.creator,
    "isphonecall": lambda s, t: t.creationtype == TYPE_PHONE,
    "isescalated": lambda s, t: t.isescalated,
    "hasfollowup": lambda s, t: 0,
    "hasratings": lambda s, t: 0,
    "islinked": lambda s, t: 0,
    "tickettype": lambda s, t: t.creationtype,
    "tickettypetitle": lambda s, t: _title(s.lookups.types, t.typeid),
    "tickettypeid": lambda s, t: t.typeid,
    "creationmode": lambda s, t: t.creationmode,
    "resolutiondateline": lambda s, t: t.resolutiondateline,
    "isresolved": lambda s, t: s.is_resolved(t),
    "iswatched": lambda s, t: bool(t.watchers),
    "prioritytitle": lambda s, t: _title(s.lookups.priorities, t.priorityid),
    "lastreplier": lambda s, t: t.lastreplier.lower(),
}
