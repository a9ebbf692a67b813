"""In-memory M4 Workforce database: tickets, ticket notes, time entries and clear codes.

Times are server-local ticks: 100 ns units since 1970-01-01 on the server's wall clock, the
unspecified-kind DateTime values the vendor stores. Stored values have millisecond precision.
Each record caches its JSON body (``json``); every change goes through :class:`M4Data`,
which drops the cache of what it changed.
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Any

# not documented: emulator choice (the server's local time is a fixed UTC-05:00, as the samples)
SERVER_UTC_OFFSET_MIN = -300
TICKS_PER_S = 10_000_000
TICKS_PER_MS = 10_000
SYSTEM_USER = "mapcom"
NOTE_TYPES = ("NOTE", "LOG")
# The vendor documents TicketType as a bare integer; these names only build TicketNumber.
TICKET_TYPES = {1: "Trouble Ticket", 2: "Service Order", 3: "Maintenance Ticket"}


def now_ticks() -> int:
    """The server's local time now, at full tick precision."""
    return time.time_ns() // 100 + SERVER_UTC_OFFSET_MIN * 60 * TICKS_PER_S


def stored(ticks: int) -> int:
    """What the database keeps of a time: rounded to the millisecond."""
    return (ticks + TICKS_PER_MS // 2) // TICKS_PER_MS * TICKS_PER_MS


def in_window(ts: int, start: int | None, end: int | None) -> bool:
    """Whether a note ts lies in a GetTicketNotes window (either bound optional)."""
    # not documented: emulator choice (inclusive at both ends; notes_between agrees)
    return (start is None or ts >= start) and (end is None or ts <= end)


def note_kind(note_type: str) -> tuple[str, str]:
    """Canonical (kind, visibility) of a note type.

    M4 notes are work notes on a field-service ticket, never a conversation with the
    customer, so both are kind "note"; NOTE is the ticket note everyone who opens the ticket
    reads, LOG a work-log entry.
    """
    # not documented: emulator choice (the vendor documents no visibility for NOTE and LOG)
    return ("note", "public") if note_type == "NOTE" else ("note", "private")


@dataclass(slots=True)
class Ticket:
    id: int
    number: str
    state: int
    modified_by: str
    priority: int
    serving_area: int
    structure_link: int
    customer_id: int
    opened: int
    reported_by: str
    created_by: str
    changed_by: str
    code: int
    return_message: str | None
    wo_number: str | None
    ticket_type: int
    category: int
    appt_id: int | None = None
    json: str | None = None


@dataclass(slots=True)
class Note:
    id: int
    ticket_id: int
    note_type: str
    text: str
    subject: str | None
    user_name: str | None
    ts: int
    cleared: bool = False
    json: str | None = None


@dataclass(slots=True)
class TimeEntry:
    id: int
    time_code_id: int
    time_code: str
    appt_id: int | None
    ticket_id: int
    tech_id: int
    minutes: int
    capital: int
    time: int
    pay_code_id: int | None
    customer_service_id: int | None
    comment: str | None
    customer_id: int
    json: str | None = None


@dataclass(frozen=True, slots=True)
class ClearCode:
    id: int
    code_type: int
    description: str


@dataclass
class M4Data:
    """The tables and the indexes the API reads through."""

    clear_codes: dict[int, ClearCode]
    tickets: dict[int, Ticket] = field(default_factory=dict)
    notes: dict[int, Note] = field(default_factory=dict)
    entries: dict[int, TimeEntry] = field(default_factory=dict)
    customers: set[int] = field(default_factory=set)
    appointments: dict[int, list[int]] = field(default_factory=dict)  # appt -> clear codes
    by_customer: dict[int, list[int]] = field(default_factory=dict)
    notes_by_ticket: dict[int, list[int]] = field(default_factory=dict)
    entries_by_ticket: dict[int, list[int]] = field(default_factory=dict)
    _ts: list[int] = field(default_factory=list)  # note ts, sorted; parallel to _ts_ids
    _ts_ids: list[int] = field(default_factory=list)
    last_ids: dict[str, int] = field(default_factory=dict)  # identity counters, never reused

    def next_id(self, table: str) -> int:
        self.last_ids[table] = self.last_ids.get(table, 0) + 1
        return self.last_ids[table]

    # -- tickets ----------------------------------------------------------------------
    def add_ticket(self, t: Ticket) -> Ticket:
        """Store a ticket under a new ID (the ID given is ignored); numbers it by type."""
        t.id = self.next_id("ticket")
        t.number = f"{TICKET_TYPES[t.ticket_type]}-{t.id}"
        self.tickets[t.id] = t
        self.customers.add(t.customer_id)
        self.by_customer.setdefault(t.customer_id, []).append(t.id)
        self.notes_by_ticket[t.id] = []
        self.entries_by_ticket[t.id] = []
        return t

    def change_ticket(self, t: Ticket, **changes: Any) -> None:
        for name, value in changes.items():
            setattr(t, name, value)
        t.json = None

    def purge_ticket(self, t: Ticket) -> None:
        """Remove a ticket with its notes and time entries, as an administrator would."""
        for note_id in list(self.notes_by_ticket[t.id]):
            self.delete_note(note_id)
        for entry_id in self.entries_by_ticket.pop(t.id):
            del self.entries[entry_id]
        del self.notes_by_ticket[t.id]
        self.appointments.pop(t.appt_id or 0, None)
        self.by_customer[t.customer_id].remove(t.id)
        del self.tickets[t.id]

    # -- notes ------------------------------------------------------------------------
    def add_note(self, note: Note) -> Note:
        """Store a note under a new ID (the ID given is ignored)."""
        note.id = self.next_id("note")
        self.notes[note.id] = note
        self.notes_by_ticket[note.ticket_id].append(note.id)
        self._index(note)
        return note

    def load_notes(self, notes: list[Note]) -> None:
        """Bulk :meth:`add_note` of notes already sorted by ts, newer than any stored."""
        by_ticket, first = self.notes_by_ticket, self.last_ids.get("note", 0) + 1
        for note_id, note in enumerate(notes, first):
            note.id = note_id
            self.notes[note_id] = note
            by_ticket[note.ticket_id].append(note_id)
            self._ts.append(note.ts)
            self._ts_ids.append(note_id)
        self.last_ids["note"] = first + len(notes) - 1

    def update_note(self, note: Note, **changes: Any) -> None:
        """Write fields of a stored note; a changed ts or ticket moves it in the indexes."""
        self._unindex(note)
        old_ticket = note.ticket_id
        for name, value in changes.items():
            setattr(note, name, value)
        note.json = None
        if note.ticket_id != old_ticket:
            self.notes_by_ticket[old_ticket].remove(note.id)
            bisect_insort(self.notes_by_ticket[note.ticket_id], note.id)
        self._index(note)

    def delete_note(self, note_id: int) -> None:
        note = self.notes.pop(note_id)
        self.notes_by_ticket[note.ticket_id].remove(note_id)
        self._unindex(note)

    def notes_between(self, start: int | None, end: int | None) -> list[Note]:
        """The notes :func:`in_window` of ``start`` and ``end``, by ts then ID."""
        lo = 0 if start is None else bisect_left(self._ts, start)
        hi = len(self._ts) if end is None else bisect_right(self._ts, end)
        return [self.notes[i] for i in self._ts_ids[lo:hi]]

    def _index(self, note: Note) -> None:
        lo, hi = bisect_left(self._ts, note.ts), bisect_right(self._ts, note.ts)
        at = bisect_left(self._ts_ids, note.id, lo, hi)
        self._ts.insert(at, note.ts)
        self._ts_ids.insert(at, note.id)

    def _unindex(self, note: Note) -> None:
        lo, hi = bisect_left(self._ts, note.ts), bisect_right(self._ts, note.ts)
        at = bisect_left(self._ts_ids, note.id, lo, hi)
        del self._ts[at], self._ts_ids[at]

    # -- time entries -----------------------------------------------------------------
    def add_entry(self, entry: TimeEntry) -> TimeEntry:
        entry.id = self.next_id("entry")
        self.entries[entry.id] = entry
        self.entries_by_ticket[entry.ticket_id].append(entry.id)
        return entry

    def change_entry(self, entry: TimeEntry, **changes: Any) -> None:
        for name, value in changes.items():
            setattr(entry, name, value)
        entry.json = None

    # -- truth --------------------------------------------------------------------------
    def ground_truth(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Canonical dump; see ``M4Emulator.ground_truth`` for the conventions."""
        return {
            "tickets": {
                str(t.id): {"subject": None, "status": str(t.state), "priority": str(t.priority)}
                for t in self.tickets.values()
            },
            "notes": {str(n.id): _note_truth(n) for n in self.notes.values()},
            "time_entries": {
                str(e.id): {
                    "ticket_id": str(e.ticket_id),
                    "seconds_worked": e.minutes * 60,
                    "seconds_billable": None,
                }
                for e in self.entries.values()
            },
            "people": self._people(),
        }

    def _people(self) -> dict[str, dict[str, Any]]:
        people: dict[str, dict[str, Any]] = {}
        for t in self.tickets.values():
            people[f"customer:{t.customer_id}"] = {"kind": "requester", "name": None, "email": None}
            for name in (t.created_by, t.modified_by, t.changed_by):
                if name:
                    people[f"user:{name}"] = {"kind": "staff", "name": name, "email": None}
        return people


def _note_truth(n: Note) -> dict[str, Any]:
    kind, visibility = note_kind(n.note_type)
    return {"ticket_id": str(n.ticket_id), "kind": kind, "visibility": visibility, "body": n.text}


def bisect_insort(ids: list[int], value: int) -> None:
    ids.insert(bisect_left(ids, value), value)
