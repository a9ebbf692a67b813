"""In-memory WHMCS support data: records, the ``lastreply`` index, writes, truth.

The store holds what a WHMCS install keeps in its support tables. Request validation and
the verbatim error messages live with the API actions; the methods here assume valid input
and keep the indexes consistent, so API writes and simulated activity share one code path.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

Body = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Status:
    """A configured ticket status and the WHMCS list flags that go with it."""

    title: str
    color: str
    active: bool
    awaiting: bool


# not documented: emulator choice (which default statuses count as active / awaiting reply)
STATUSES: tuple[Status, ...] = (
    Status("Open", "#779500", True, True),
    Status("Answered", "#000000", True, False),
    Status("Customer-Reply", "#ff6600", True, True),
    Status("On Hold", "#224488", True, False),
    Status("In Progress", "#cc0000", True, True),
    Status("Closed", "#888888", False, False),
)
STATUS_BY_TITLE = {s.title: s for s in STATUSES}
PRIORITIES: tuple[str, ...] = ("Low", "Medium", "High")


@dataclass(slots=True)
class Department:
    id: int
    name: str


@dataclass(slots=True)
class Admin:
    id: int
    username: str
    firstname: str
    lastname: str
    email: str
    password: str
    roleid: int
    disabled: bool
    depts: tuple[int, ...]

    @property
    def full(self) -> str:
        return f"{self.firstname} {self.lastname}"


@dataclass(slots=True)
class Client:
    id: int
    firstname: str
    lastname: str
    email: str
    company: str

    @property
    def full(self) -> str:
        return f"{self.firstname} {self.lastname}"


@dataclass(slots=True)
class Ticket:
    id: int
    tid: str
    c: str
    deptid: int
    userid: int
    name: str
    email: str
    date: int
    subject: str
    message: str
    status: str
    priority: str
    lastreply: int
    admin: str = ""
    cc: str = ""
    flag: int = 0
    service: str = ""
    replies: list[int] = field(default_factory=list)
    notes: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Reply:
    id: int
    ticket_id: int
    userid: int
    name: str
    email: str
    admin: str
    date: int
    message: str


@dataclass(slots=True)
class Note:
    id: int
    ticket_id: int
    admin: str
    date: int
    message: str


def _order_key(t: Ticket) -> tuple[int, int]:
    # not documented: emulator choice (GetTickets breaks lastreply ties by higher ticket id)
    return (-t.lastreply, -t.id)


class SupportStore:
    """Tickets, replies and notes with the indexes the API actions need."""

    def __init__(
        self, departments: list[Department], admins: list[Admin], clients: list[Client]
    ) -> None:
        self.departments = {d.id: d for d in departments}
        self.admins = {a.id: a for a in admins}
        self.clients = {c.id: c for c in clients}
        self.tickets: dict[int, Ticket] = {}
        self.by_tid: dict[str, int] = {}
        self.replies: dict[int, Reply] = {}
        self.notes: dict[int, Note] = {}
        self.next_ticket = self.next_reply = self.next_note = 1
        self.version = 0
        self._order: list[tuple[int, int]] = []
        self._cache: dict[tuple[Any, ...], list[int]] = {}
        self._cache_version = -1

    # -- loading ------------------------------------------------------------------------
    def load(self, tickets: list[Ticket], replies: list[Reply], notes: list[Note]) -> None:
        """Bulk-load seed records and build the indexes once."""
        for t in tickets:
            self.tickets[t.id] = t
            self.by_tid[t.tid] = t.id
        for r in replies:
            self.replies[r.id] = r
            self.tickets[r.ticket_id].replies.append(r.id)
        for n in notes:
            self.notes[n.id] = n
            self.tickets[n.ticket_id].notes.append(n.id)
        self._order = sorted(_order_key(t) for t in tickets)
        self.next_ticket = max(self.tickets, default=0) + 1
        self.next_reply = max(self.replies, default=0) + 1
        self.next_note = max(self.notes, default=0) + 1

    # -- reading ------------------------------------------------------------------------
    def admin_by_username(self, username: str) -> Admin | None:
        return next((a for a in self.admins.values() if a.username == username), None)

    def ordered_ids(self, start: int, stop: int) -> list[int]:
        """Ticket ids by ``lastreply`` descending, sliced without filtering."""
        return [-key[1] for key in self._order[start:stop]]

    def filtered_ids(self, key: tuple[Any, ...], keep: Callable[[Ticket], bool]) -> list[int]:
        """Ticket ids by ``lastreply`` descending that pass ``keep``; cached until a write."""
        if self._cache_version != self.version:
            self._cache.clear()
            self._cache_version = self.version
        ids = self._cache.get(key)
        if ids is None:
            tickets = self.tickets
            ids = [-k[1] for k in self._order if keep(tickets[-k[1]])]
            self._cache[key] = ids
        return ids

    @property
    def ticket_count(self) -> int:
        return len(self._order)

    # -- writes -------------------------------------------------------------------------
    def open_ticket(self, **fields: Any) -> Ticket:
        """Add a new ticket, status Open, ``lastreply`` at its opening date."""
        t = Ticket(id=self.next_ticket, status="Open", lastreply=fields["date"], **fields)
        self.tickets[t.id] = t
        self.by_tid[t.tid] = t.id
        self.next_ticket = max(self.next_ticket, t.id + 1)
        insort(self._order, _order_key(t))
        self.version += 1
        return t

    def add_reply(self, t: Ticket, status: str, **fields: Any) -> Reply:
        """Add a reply, set the ticket's status and move ``lastreply`` to the reply date."""
        r = Reply(id=self.next_reply, ticket_id=t.id, **fields)
        self.replies[r.id] = r
        self.next_reply += 1
        t.replies.append(r.id)
        t.status = status
        self.touch_lastreply(t, r.date)
        return r

    def add_note(self, t: Ticket, admin: str, date: int, message: str) -> Note:
        """Add an internal note; notes do not move ``lastreply``."""
        n = Note(self.next_note, t.id, admin, date, message)
        self.notes[n.id] = n
        self.next_note += 1
        t.notes.append(n.id)
        self.version += 1
        return n

    def touch_lastreply(self, t: Ticket, when: int) -> None:
        """Move ``lastreply`` forward (never back) and keep the ordering index sorted."""
        # not documented: emulator choice (a back-dated reply never moves lastreply backwards)
        new = max(t.lastreply, when)
        if new != t.lastreply:
            del self._order[bisect_left(self._order, _order_key(t))]
            t.lastreply = new
            insort(self._order, _order_key(t))
        self.version += 1

    def changed(self) -> None:
        """Invalidate list caches after an in-place field update."""
        self.version += 1

    def delete_ticket(self, t: Ticket) -> None:
        """Remove a ticket with its replies and notes."""
        del self._order[bisect_left(self._order, _order_key(t))]
        del self.tickets[t.id]
        del self.by_tid[t.tid]
        for rid in t.replies:
            del self.replies[rid]
        for nid in t.notes:
            del self.notes[nid]
        self.version += 1

    def delete_reply(self, r: Reply) -> None:
        """Remove a reply; the ticket's ``lastreply`` stays where it was."""
        del self.replies[r.id]
        self.tickets[r.ticket_id].replies.remove(r.id)
        self.version += 1

    def delete_note(self, n: Note) -> None:
        """Remove an internal note."""
        del self.notes[n.id]
        self.tickets[n.ticket_id].notes.remove(n.id)
        self.version += 1

    # -- truth --------------------------------------------------------------------------
    def truth(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Live data in canonical terms; see ``WhmcsEmulator.ground_truth`` for the ids."""
        tickets: dict[str, dict[str, Any]] = {}
        notes: dict[str, dict[str, Any]] = {}
        for t in self.tickets.values():
            tickets[str(t.id)] = {"subject": t.subject, "status": t.status, "priority": t.priority}
            notes[f"message:{t.id}"] = _note_row(t.id, "reply", "public", t.message)
        for r in self.replies.values():
            notes[f"reply:{r.id}"] = _note_row(r.ticket_id, "reply", "public", r.message)
        for n in self.notes.values():
            notes[f"note:{n.id}"] = _note_row(n.ticket_id, "note", "private", n.message)
        return {"tickets": tickets, "notes": notes, "time_entries": {}, "people": self._people()}

    def _people(self) -> dict[str, dict[str, Any]]:
        people: dict[str, dict[str, Any]] = {}
        for a in self.admins.values():
            people[f"admin:{a.id}"] = {"kind": "staff", "name": a.full, "email": a.email}
        for userid, name, email in self.requesters():
            if userid:
                c = self.clients[userid]
                people[f"client:{userid}"] = {"kind": "requester", "name": c.full, "email": c.email}
            else:
                row = {"kind": "requester", "name": name, "email": email}
                people[f"guest:{email.lower()}"] = row
        return people

    def requesters(self) -> Iterable[tuple[int, str, str]]:
        """(userid, name, email) of every live customer message, oldest first.

        A guest (a non-client e-mail address) therefore ends up with the name on its most
        recent ticket or reply.
        """
        rows: list[tuple[int, int, int, str, str]] = []
        for t in self.tickets.values():
            rows.append((t.date, 0, t.userid, t.name, t.email))
        for r in self.replies.values():
            if not r.admin and (r.userid or r.email):
                rows.append((r.date, r.id, r.userid, r.name, r.email))
        rows.sort(key=lambda row: (row[0], row[1]))
        return [(userid, name, email) for _, _, userid, name, email in rows]


def _note_row(ticket_id: int, kind: str, visibility: str, body: str) -> dict[str, Any]:
    return {"ticket_id": str(ticket_id), "kind": kind, "visibility": visibility, "body": body}
