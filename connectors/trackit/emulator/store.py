"""In-memory Track-It! data: records, lookup indexes, writes with the vendor's rules, truth."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from . import fields as F
from .fields import Changes, NoteSpec, WriteError, as_int, iso, own_value

STATUS = {s[0]: s for s in F.STATUSES}
PRIORITY = {p[0]: p for p in F.PRIORITIES}
GROUP = dict(F.GROUPS)
CATEGORY = {c[0]: c for c in F.CATEGORIES}
DEPARTMENT = dict(F.DEPARTMENTS)
LOCATION = {loc[0]: loc for loc in F.LOCATIONS}
SLA = {s[0]: s for s in F.SLAS}
ACTIVITY = {a[0]: a for a in F.ACTIVITY_CODES}


@dataclass(slots=True)
class Technician:
    id: int
    code: str
    first: str
    last: str
    email: str
    phone: str
    ext: str | None
    groups: tuple[int, ...]
    password: str

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(slots=True)
class Requestor:
    id: int
    code: str
    first: str
    last: str
    email: str
    phone: str
    ext: str | None
    title: str
    department: int
    location: int

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(slots=True)
class Note:
    id: int
    ticket_id: int
    group: int
    date: float
    modified: float
    last_user: str
    body: str
    note_type: str
    activity: int
    tech: int | None = None
    requestor: int | None = None
    duration: int = 0
    private: bool = False
    system: bool = False
    track_time: bool = False
    email: str | None = None
    email_mgmt: int | None = None


@dataclass(slots=True)
class Ticket:
    id: int
    group: int
    status: int
    priority: int
    opened: float
    modified: float
    last_user: str
    summary: str | None = None
    requestor: int | None = None
    tech: int | None = None
    category: int | None = None
    location: int | None = None
    department: int | None = None
    sla: int | None = None
    source: str | None = None
    due: float | None = None
    opened_by: int | None = None
    opened_group: int | None = None
    closed_by: int | None = None
    closed_group: int | None = None
    closed_at: float | None = None
    responded_by: int | None = None
    responded_at: float | None = None
    clock_stop: float | None = None
    latest_note: float | None = None
    rate: float | None = None
    own: dict[int, Any] | None = None
    notes: list[Note] = field(default_factory=list)


@dataclass(slots=True)
class Attachment:
    id: int
    ticket_id: int
    name: str
    size: int
    url: str | None = None


@dataclass(slots=True)
class Assignment:
    id: int
    ticket_id: int
    group: int
    summary: str
    status: int
    opened: float
    modified: float
    last_user: str
    tech: int | None = None
    closed: float | None = None


@dataclass(slots=True)
class Template:
    id: int
    name: str
    description: str
    data: str
    self_service: bool
    active: bool
    groups: tuple[int, ...]


class Store:
    """Every record of one emulated installation, with the indexes writes and reads need."""

    def __init__(self) -> None:
        self.techs: dict[int, Technician] = {}
        self.requestors: dict[int, Requestor] = {}
        self.tickets: dict[int, Ticket] = {}
        self.notes: dict[int, Note] = {}
        self.attachments: dict[int, list[Attachment]] = {}
        self.attachment_by_id: dict[int, Attachment] = {}
        self.assignments: dict[int, list[Assignment]] = {}
        self.templates: list[Template] = []
        self.next_ticket = 1
        self.next_note = 1
        self.next_mail = 1
        self._last_now = 0.0
        self._index: dict[int, dict[str, int]] = {}

    # -- value maps: sequence -> value, where None is null and is left out ------------------
    def ticket_values(self, t: Ticket) -> dict[int, Any]:
        """Every field of a ticket by sequence number."""
        v: dict[int, Any] = {
            1: t.id,
            2: iso(t.modified),
            3: t.last_user,
            4: t.group,
            12: iso(t.opened),
            20: 1,
            22: t.summary,
            34: GROUP[t.group],
            102: False,
            109: False,
            127: t.source,
            136: False,
            175: iso(t.latest_note) if t.latest_note else None,
        }
        self._requestor_values(t, v)
        self._tech_values(t, v)
        _lookup_values(t, v)
        _time_values(t, v)
        for seq, value in (t.own or {}).items():
            v[seq] = iso(value) if seq in F.DATE_SEQS and value is not None else value
        return v

    def _requestor_values(self, t: Ticket, v: dict[int, Any]) -> None:
        r = self.requestors.get(t.requestor) if t.requestor else None
        if r is not None:
            v.update(
                {
                    8: r.id,
                    19: r.phone,
                    36: r.code,
                    37: r.first,
                    38: r.last,
                    39: r.phone,
                    40: r.ext,
                    43: r.title,
                    114: r.email,
                    149: r.full,
                }
            )

    def _tech_values(self, t: Ticket, v: dict[int, Any]) -> None:
        roles = (
            (t.tech, (10, 67, 68, 69, 157), (70, 71)),
            (t.opened_by, (16, 66, 128, 129, 177), ()),
            (t.closed_by, (17, 48, 130, 131, None), ()),
            (t.responded_by, (150, 151, 152, 153, None), ()),
        )
        for tech_id, seqs, contact in roles:
            tech = self.techs.get(tech_id) if tech_id else None
            if tech is None:
                continue
            for seq, value in zip(
                seqs, (tech.id, tech.code, tech.first, tech.last, tech.full), strict=False
            ):
                if seq is not None:
                    v[seq] = value
            if contact:
                v[70], v[71] = tech.phone, tech.ext

    def note_values(self, n: Note, max_len: int = -1) -> dict[int, Any]:
        """Every field of a ticket note; ``max_len`` > 0 cuts the note text."""
        act = ACTIVITY[n.activity]
        tech = self.techs.get(n.tech) if n.tech else None
        req = self.requestors.get(n.requestor) if n.requestor else None
        return {
            1: n.id,
            2: iso(n.modified),
            3: n.last_user,
            4: n.group,
            5: n.body[:max_len] if max_len > 0 else n.body,
            6: n.ticket_id,
            7: iso(n.date),
            8: n.tech,
            10: n.duration,
            11: n.activity,
            13: bool(n.body),
            14: n.system,
            15: act[1],
            16: tech.full if tech else None,
            17: False,
            24: n.email,
            25: n.email_mgmt,
            26: n.note_type,
            27: n.private,
            28: n.requestor,
            29: req.full if req else None,
            30: act[2],
            31: n.track_time,
        }

    def assignment_values(self, a: Assignment) -> dict[int, Any]:
        """The fields of one assignment (child work item)."""
        tech = self.techs.get(a.tech) if a.tech else None
        return {
            1: a.id,
            2: iso(a.modified),
            3: a.last_user,
            4: a.group,
            6: a.ticket_id,
            8: a.summary,
            10: a.tech,
            12: iso(a.opened),
            18: iso(a.closed) if a.closed else None,
            67: tech.code if tech else None,
            96: STATUS[a.status][1],
        }

    # -- lookups ---------------------------------------------------------------------------
    def build_indexes(self) -> None:
        """Index every virtual field by value; the lowest sequence wins on duplicates."""
        idx: dict[int, dict[str, int]] = {}

        def add(seq: int, key: str | None, rid: int) -> None:
            if key:
                idx.setdefault(seq, {}).setdefault(key.strip().casefold(), rid)

        for r in self.requestors.values():
            for seq, val in (
                (36, r.code),
                (37, r.first),
                (38, r.last),
                (39, r.phone),
                (40, r.ext),
                (43, r.title),
                (114, r.email),
                (149, r.full),
            ):
                add(seq, val, r.id)
        for t in self.techs.values():
            for seq, val in (
                (67, t.code),
                (68, t.first),
                (69, t.last),
                (70, t.phone),
                (71, t.ext),
                (157, t.full),
            ):
                add(seq, val, t.id)
        tables = (
            (34, GROUP.items()),
            (72, ((k, v[1]) for k, v in CATEGORY.items())),
            (49, ((k, v[1]) for k, v in LOCATION.items())),
            (65, DEPARTMENT.items()),
            (91, ((k, v[1]) for k, v in SLA.items())),
            (92, ((k, v[2]) for k, v in SLA.items())),
            (96, ((k, v[1]) for k, v in STATUS.items())),
            (97, ((k, v[2]) for k, v in STATUS.items())),
            (107, ((k, v[1]) for k, v in PRIORITY.items())),
        )
        for seq, pairs in tables:
            for rid, val in pairs:
                add(seq, val, rid)
        self._index = idx

    def _ids_of(self, module: str) -> dict[int, Any]:
        by_module: dict[str, dict[int, Any]] = {
            "group": GROUP,
            "requestor": self.requestors,
            "tech": self.techs,
            "category": CATEGORY,
            "location": LOCATION,
            "department": DEPARTMENT,
            "sla": SLA,
            "status": STATUS,
            "priority": PRIORITY,
        }
        return by_module[module]

    def status_named(self, name: Any) -> int:
        """Sequence of a status name as ChangeStatus takes it."""
        if not isinstance(name, str) or not name.strip():
            raise WriteError("status_required")
        found = self._index[96].get(name.strip().casefold())
        if found is None:
            raise WriteError("bad_status", name)
        return found

    # -- resolving Properties --------------------------------------------------------------
    def resolve(self, props: list[tuple[int, str, Any]]) -> Changes:
        """Validate (seq, display name, value) triples into Changes; nothing is applied."""
        changes = Changes()
        for seq, name, value in props:
            if seq not in F.UPDATABLE:
                raise WriteError("read_only", name)
            module = F.VIRTUAL_MODULE.get(seq)
            if module is None:
                changes.own[seq] = own_value(seq, name, value)
            else:
                changes.links[module] = self._link(module, seq, name, value)
        return changes

    def _link(self, module: str, seq: int, name: str, value: Any) -> int | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            if module in F.REQUIRED_LINKS:
                raise WriteError("required_link", name)
            return None
        if seq in self._index:
            found = self._index[seq].get(str(value).strip().casefold())
        else:
            num = as_int(value)
            found = num if num is not None and num in self._ids_of(module) else None
        if found is None:
            raise WriteError("bad_value", name, value)
        return found

    # -- writes ----------------------------------------------------------------------------
    def now(self) -> float:
        """Current time at millisecond precision, strictly increasing across writes."""
        now = max(round(time.time(), 3), round(self._last_now + 0.001, 3))
        self._last_now = now
        return now

    def create(self, changes: Changes, user: Technician, group: int) -> Ticket:
        """A new ticket at the next id, opened by ``user``, then the Properties applied."""
        now = self.now()
        t = Ticket(
            id=self.next_ticket,
            group=group,
            status=F.OPEN_STATUS,
            priority=F.DEFAULT_PRIORITY,
            opened=now,
            modified=now,
            last_user=user.code,
            opened_by=user.id,
            opened_group=group,
        )
        self.next_ticket += 1
        self.tickets[t.id] = t
        self.apply(t, changes, user, now)
        if 100 not in changes.own:
            t.due = now + PRIORITY[t.priority][2] * 3600
        return t

    def apply(
        self, t: Ticket, changes: Changes, user: Technician, now: float | None = None
    ) -> None:
        """Apply resolved Properties; the ticket's Last Modified and Last User move."""
        now = self.now() if now is None else now
        for module, rid in changes.links.items():
            if module == "status":
                self.set_status(t, rid or F.OPEN_STATUS, user, now)
            else:
                setattr(t, module, rid)
        for seq, value in changes.own.items():
            if seq == 22:
                t.summary = value
            elif seq == 100:
                t.due = value
            elif seq == 127:
                t.source = value
            else:
                t.own = t.own or {}
                t.own[seq] = value
        t.modified, t.last_user = now, user.code

    def set_status(self, t: Ticket, status: int, user: Technician, now: float) -> None:
        """Move to ``status``: closing stamps the close fields, reopening clears them."""
        was_closed, closing = STATUS[t.status][3], STATUS[status][3]
        if closing and not was_closed:
            t.closed_at, t.closed_by, t.closed_group = now, user.id, t.group
        elif was_closed and not closing:
            t.closed_at = t.closed_by = t.closed_group = None
        if STATUS[status][4] and not STATUS[t.status][4]:
            t.clock_stop = now
        elif not STATUS[status][4]:
            t.clock_stop = None
        t.status = status
        t.modified, t.last_user = now, user.code

    def add_note(
        self,
        t: Ticket,
        spec: NoteSpec,
        user: Technician | None,
        group: int,
        now: float | None = None,
        **extra: Any,
    ) -> Note:
        """A user note on ``t``; only the ticket's Latest Note Date moves."""
        # The docs' AddNote example returns the ticket with its earlier Last Modified.
        now = self.now() if now is None else now
        # not documented: emulator choice (a note written with a Duration has Track Time on).
        note = Note(
            id=self.next_note,
            ticket_id=t.id,
            group=group,
            date=now,
            modified=now,
            last_user=user.code if user else "dbo",
            body=spec.text,
            note_type=spec.note_type,
            activity=spec.activity,
            tech=user.id if user else None,
            duration=spec.duration,
            private=spec.private,
            track_time=spec.duration > 0,
            **extra,
        )
        self.next_note += 1
        self.notes[note.id] = note
        t.notes.append(note)
        t.latest_note = now
        return note

    def delete(self, t: Ticket) -> None:
        """Remove a ticket with its notes, attachments and assignments."""
        del self.tickets[t.id]
        for note in t.notes:
            self.notes.pop(note.id, None)
        for att in self.attachments.pop(t.id, []):
            self.attachment_by_id.pop(att.id, None)
        self.assignments.pop(t.id, None)


def _lookup_values(t: Ticket, v: dict[int, Any]) -> None:
    st, pr = STATUS[t.status], PRIORITY[t.priority]
    v.update(
        {
            95: st[0],
            96: st[1],
            97: st[2],
            106: pr[0],
            107: pr[1],
            142: pr[2],
            103: iso(t.clock_stop) if t.clock_stop else None,
            124: GROUP.get(t.opened_group or 0),
            125: GROUP.get(t.closed_group or 0),
            18: iso(t.closed_at) if t.closed_at else None,
        }
    )
    if t.category:
        v[11], v[72], v[164] = CATEGORY[t.category]
    if t.location:
        v[14], v[49], v[53] = LOCATION[t.location]
    if t.department:
        v[15], v[65] = t.department, DEPARTMENT[t.department]
    if t.sla:
        v[75], v[91], v[92] = SLA[t.sla]
    if t.due is not None:
        v[100] = v[111] = iso(t.due)
    v[110] = iso(t.opened + pr[3] * 3600)
    if t.responded_at:
        v[132] = iso(t.responded_at)


def _time_values(t: Ticket, v: dict[int, Any]) -> None:
    """Duration is all note time, Total Time Spent the tracked part, Charge its price."""
    # not documented: emulator choice (how the ticket's time and charge fields add up).
    worked = sum(n.duration for n in t.notes)
    tracked = sum(n.duration for n in t.notes if n.track_time)
    v[108], v[163] = worked, tracked
    if t.rate is not None:
        v[148], v[156] = t.rate, round(t.rate * tracked / 3600, 2)
