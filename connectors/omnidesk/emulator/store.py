"""Omnidesk's in-memory data: tickets with their timelines, customers, staff, and the writes.

``last_update`` follows one rule: it moves to the write time whenever a ticket's fields or its
timeline change (creation, a message or note, status, priority, title, group, assignee,
customer). ``last_update_customer`` moves with inbound creation and customer messages;
``last_update_agent`` with outbound creation and staff messages and notes. Reads, failed
writes and writes that change nothing (the same status again, unlinking a ticket without a
customer) move nothing. Archiving is not a write: a ticket is archived by a rule on its state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

STATUSES = ("new", "open", "pending", "holding", "solved", "closed")
PRIORITIES = ("low", "medium", "high", "urgent")
FINISHED = frozenset({"solved", "closed"})
NOTE_CHANNEL = 0  # not documented: emulator choice (message type=0 writes an internal note)
# channel id -> (channel_name, channel_icon); the message ``type`` words map onto these ids.
CHANNELS = {
    1: ("e-mail", "e-mail"),
    2: ("contactform", "contactform"),
    3: ("calllog", "phone"),
    4: ("whatsapp", "whatsapp"),
}
CHANNEL_WORDS = {"contactform": 2, "calllog": 3}
GROUPS = {10001: "Service", 10002: "Sales", 10003: "Billing", 10004: "Technical support"}
API_USER_ID = 1  # not documented: emulator choice (API writes are made as the account owner)
# not documented: emulator choice (closed tickets closed before this instant sit in the archive)
ARCHIVE_BEFORE = int(datetime(2026, 7, 1, tzinfo=UTC).timestamp())


@dataclass(slots=True)
class Person:
    """A staff user or a customer."""

    id: int
    name: str
    email: str
    external_id: str = ""


@dataclass(slots=True)
class Brand:
    id: int
    name: str
    address: str


@dataclass(slots=True)
class Event:
    """A history entry of the timeline (shown with ``getTicketHistory``)."""

    id: int
    ticket_id: int
    item_type: str
    item_type_id: str
    description: str
    initiated_by: str
    created: int


@dataclass(slots=True)
class Post:
    """A message (to or from the customer) or an internal note."""

    id: int
    ticket_id: int
    is_note: bool
    content: str
    user_id: int  # staff author; 0 when the customer wrote it
    user_name: str | None
    channel_id: int
    direction: str
    sender: str
    sender_name: str
    to: str
    to_name: str
    created: int
    status_new: str | None = None


@dataclass(slots=True)
class Ticket:
    id: int
    title: str
    status: str
    priority: str
    direction: str
    sender: str
    sender_name: str
    to: str
    to_name: str
    created: int
    group_id: int
    user_id: int
    customer_id: int
    channel_id: int
    brand_id: int
    form_id: int | None = None
    last_update: int = 0
    last_update_agent: int | None = None
    last_update_customer: int | None = None
    closed_at: int | None = None
    grade: int | None = None
    sla_policy_id: int | None = None
    sla_next_breach: int | None = None
    sla_first_reply_breach: int | None = None
    timeline: list[Event | Post] = field(default_factory=list)

    @property
    def archived(self) -> bool:
        return self.status == "closed" and (self.closed_at or 0) < ARCHIVE_BEFORE

    def posts(self) -> list[Post]:
        return [e for e in self.timeline if isinstance(e, Post)]


class OmnideskData:
    """All records, the list order (oldest ``last_update`` first) and the write operations."""

    def __init__(self, brands: list[Brand], staff: list[Person]) -> None:
        self.brands = {b.id: b for b in brands}
        self.staff = {s.id: s for s in staff}
        self.customers: dict[int, Person] = {}
        self.by_email: dict[str, Person] = {}
        self.by_external: dict[str, Person] = {}
        self.tickets: dict[int, Ticket] = {}
        self.ever: list[int] = []  # every ticket id handed out, for random picks
        self.next_ticket, self.next_post, self.next_event = 850001, 3100001, 7000001
        self.version = 0
        self._lists: dict[tuple[Any, ...], list[Ticket]] = {}

    # -- records -------------------------------------------------------------------------
    def add_customer(self, name: str, email: str, external_id: str = "") -> Person:
        person = Person(len(self.customers) + 626001, name, email, external_id)
        self.customers[person.id] = person
        self.by_email[email.lower()] = person
        if external_id:
            self.by_external[external_id] = person
        return person

    def customer_for(self, email: str, name: str) -> Person | None:
        """The customer with this address, created on first sight; none for no address."""
        address = email.split(",")[0].strip()
        if not address:
            return None
        return self.by_email.get(address.lower()) or self.add_customer(name, address)

    def insert(self, ticket: Ticket) -> None:
        """Add a ticket (seed or new); ``ticket.last_update`` must already be set."""
        self.tickets[ticket.id] = ticket
        self.ever.append(ticket.id)
        self.version += 1

    def new_ticket_id(self) -> int:
        self.next_ticket += 1
        return self.next_ticket - 1

    def event(self, t: Ticket, kind: str, kind_id: object, text: str, by: str, at: int) -> None:
        t.timeline.append(Event(self.next_event, t.id, kind, str(kind_id), text, by, at))
        self.next_event += 1

    def touch(self, t: Ticket, at: int, side: str = "") -> None:
        """Record a change: move ``last_update`` (and one side's stamp) and the list order."""
        t.last_update = at
        if side == "agent":
            t.last_update_agent = at
        elif side == "customer":
            t.last_update_customer = at
        del self.tickets[t.id]
        self.tickets[t.id] = t
        self.version += 1

    # -- list ----------------------------------------------------------------------------
    def listing(self, key: tuple[Any, ...], keep: Any) -> list[Ticket]:
        """Tickets passing ``keep``, newest ``last_update`` first; cached until the next write."""
        # not documented: emulator choice (list order is last_update descending)
        cache_key = (self.version, *key)
        found = self._lists.get(cache_key)
        if found is None:
            if len(self._lists) > 8 or any(k[0] != self.version for k in self._lists):
                self._lists.clear()
            found = [t for t in reversed(self.tickets.values()) if keep(t)]
            self._lists[cache_key] = found
        return found

    # -- writes --------------------------------------------------------------------------
    def create_ticket(self, t: Ticket, at: int) -> Ticket:
        """Store a ticket built from a create call, linking its customer by address."""
        t.last_update = at
        if t.direction == "outbound":
            t.last_update_agent = at
            customer = self.customer_for(t.to, "")
        else:
            t.last_update_customer = at
            customer = self.customer_for(t.sender, t.sender_name)
        self.insert(t)
        if customer is not None:
            self._show_customer(t, customer)
        return t

    def set_status(self, t: Ticket, status: str, by: str, at: int) -> bool:
        if t.status == status:
            return False
        t.status = status
        t.closed_at = at if status == "closed" else None
        self.event(t, "status", 0, f"Status changed to {status}", by, at)
        self.touch(t, at)
        return True

    def set_priority(self, t: Ticket, priority: str, by: str, at: int) -> bool:
        if t.priority == priority:
            return False
        t.priority = priority
        self.event(t, "priority", 0, f"Priority changed to {priority}", by, at)
        self.touch(t, at)
        return True

    def set_title(self, t: Ticket, title: str, by: str, at: int) -> bool:
        if t.title == title:
            return False
        t.title = title
        self.event(t, "title", 0, f"Title changed to {title}", by, at)
        self.touch(t, at)
        return True

    def set_group(self, t: Ticket, group_id: int, by: str, at: int) -> bool:
        if t.group_id == group_id:
            return False
        t.group_id = group_id
        name = GROUPS.get(group_id, "nobody")
        self.event(t, "assigned_group_id", group_id, f"Assigned to {name}", by, at)
        self.touch(t, at)
        return True

    def set_assignee(self, t: Ticket, user_id: int, by: str, at: int) -> bool:
        if t.user_id == user_id:
            return False
        t.user_id = user_id
        name = self.staff[user_id].name if user_id else "nobody"
        self.event(t, "assigned_user_id", user_id, f"Assigned to {name}", by, at)
        self.touch(t, at)
        return True

    def link_customer(self, t: Ticket, customer: Person | None, by: str, at: int) -> bool:
        """Link the ticket to ``customer`` (``None``: unlink)."""
        new_id = customer.id if customer else 0
        if t.customer_id == new_id:
            return False
        if customer is None:
            t.customer_id = 0
            self.event(t, "customer_id", 0, "Customer unlinked", by, at)
        else:
            self._show_customer(t, customer)
            self.event(t, "customer_id", customer.id, f"Linked to {customer.name}", by, at)
        self.touch(t, at)
        return True

    def _show_customer(self, t: Ticket, customer: Person) -> None:
        """The customer's side of the ticket shows the linked customer's address and name."""
        t.customer_id = customer.id
        if t.direction == "outbound":
            t.to, t.to_name = customer.email, customer.name
        else:
            t.sender, t.sender_name = customer.email, customer.name

    def add_post(self, t: Ticket, post: Post) -> Post:
        """Append a message or note (its id is assigned here) and record the change."""
        post.id, post.ticket_id = self.next_post, t.id
        self.next_post += 1
        t.timeline.append(post)
        if post.status_new and post.status_new != t.status:
            t.status = post.status_new
            t.closed_at = post.created if post.status_new == "closed" else None
        self.touch(t, post.created, "agent" if post.user_id else "customer")
        return post

    def delete(self, t: Ticket) -> None:
        del self.tickets[t.id]
        self.version += 1

    def unfinished(self) -> list[Ticket]:
        """Open tickets nobody has written a message on (empty tickets made by create calls)."""
        return [
            t
            for t in self.tickets.values()
            if t.status not in FINISHED
            and not any(isinstance(e, Post) and not e.is_note for e in t.timeline)
        ]

    # -- canonical view ------------------------------------------------------------------
    def ground_truth(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Live data in canonical terms; ids as documented on the emulator."""
        tickets, notes, people = {}, {}, {}
        for t in self.tickets.values():
            tickets[str(t.id)] = {"subject": t.title, "status": t.status, "priority": t.priority}
            if t.customer_id:
                c = self.customers[t.customer_id]
                people[f"customer:{c.id}"] = {"kind": "requester", "name": c.name, "email": c.email}
            for p in t.timeline:
                if isinstance(p, Post):
                    notes[_post_source_id(p)] = _note_truth(p)
                    if p.user_id:
                        s = self.staff[p.user_id]
                        people[f"staff:{s.id}"] = {
                            "kind": "staff",
                            "name": s.name,
                            "email": s.email,
                        }
        return {"tickets": tickets, "notes": notes, "time_entries": {}, "people": people}


def _post_source_id(p: Post) -> str:
    return f"{'note' if p.is_note else 'message'}:{p.id}"


def _note_truth(p: Post) -> dict[str, str]:
    kind, visibility = ("note", "private") if p.is_note else ("reply", "public")
    return {
        "ticket_id": str(p.ticket_id),
        "kind": kind,
        "visibility": visibility,
        "body": p.content,
    }


def now() -> int:
    """The write time of API calls and mutations (whole seconds, like the wire format)."""
    return int(time.time())
