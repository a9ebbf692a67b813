"""Deterministic helpdesk activity: the seeded history and the live changes made later.

Faker runs once per emulator to fill small pools of names and texts; everything after that
picks from the pools with a seeded ``random.Random``, so 100k tickets build in seconds.
"""

from __future__ import annotations

import gc
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

from faker import Faker

from .store import (
    CREATIONMODE_API,
    CREATOR_STAFF,
    CREATOR_USER,
    TYPE_DEFAULT,
    TYPE_PHONE,
    Lookups,
    Note,
    Post,
    Row,
    Store,
    Ticket,
    TimeTrack,
    User,
    UserNote,
)

SEED_START, SEED_END = 1767225600, 1793491199  # 2026-01-01 .. 2026-10-31 UTC
DAY = 86400
OPEN, ON_HOLD, CLOSED, IN_PROGRESS, RESOLVED = 1, 2, 3, 4, 5
_ISSUES = (
    "Cannot log in to",
    "Error when exporting",
    "Slow response from",
    "Question about",
    "Refund request for",
    "Invoice missing for",
    "Unable to update",
    "Crash when opening",
    "Feature request:",
    "Password reset for",
    "Sync fails for",
    "Wrong totals in",
)
_OBJECTS = (
    "the dashboard",
    "my account",
    "the mobile app",
    "monthly report",
    "the API",
    "order #{n}",
    "the billing page",
    "shared calendar",
    "user permissions",
    "CSV import",
    "the printer queue",
    "two-factor login",
)
_TRICKY = (
    "Log excerpt: if (a[b[0]]>1) { fail(); }",
    "Prices went from <$10 to >$20 & more.",
    "Quoted:\n> previous message\n> second line",
    'Path: C:\\Users\\me & "quotes"',
)
_TAGS = ("billing", "vip", "refund", "outage", "bug", "howto", "followup", "hardware")
_SPENT = (300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200)
_RESOLVED_MIX = (CLOSED, CLOSED, CLOSED, RESOLVED, RESOLVED)
_OPEN_MIX = (OPEN, OPEN, OPEN, IN_PROGRESS, IN_PROGRESS, ON_HOLD)
_NOTE_COUNTS = (0,) * 6 + (1,) * 3 + (2,)
_TRACK_COUNTS = (0,) * 7 + (1,) * 7 + (2,) * 5 + (3,)
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_MASKS = [a + b + c for a in _LETTERS for b in _LETTERS for c in _LETTERS]
T = TypeVar("T")


class Dice:
    """Fast draws from a seeded Random: random() alone is far cheaper than choice/randint."""

    __slots__ = ("random",)

    def __init__(self, rng: random.Random) -> None:
        self.random = rng.random

    def pick(self, seq: Sequence[T]) -> T:
        return seq[int(self.random() * len(seq))]

    def between(self, low: int, high: int) -> int:
        return low + int(self.random() * (high - low + 1))

    def chance(self, share: float) -> bool:
        return self.random() < share


@dataclass
class Pools:
    """Names and texts made once with Faker, then drawn from with an rng."""

    first: list[str]
    last: list[str]
    companies: list[str]
    domains: list[str]
    paragraphs: list[str]
    sentences: list[str]
    subjects: list[str]
    ips: list[str]
    phones: list[str]
    jobs: list[str]
    helpdesk_domain: str

    @classmethod
    @lru_cache(maxsize=8)
    def build(cls, seed: int) -> Pools:
        """The pools of one seed (cached: they are never modified)."""
        fake = Faker("en_US")
        fake.seed_instance(seed)
        rng = random.Random(seed ^ 0x5EED)
        subjects = [
            f"{rng.choice(_ISSUES)} {rng.choice(_OBJECTS)}".replace(
                "{n}", str(rng.randint(1000, 99999))
            )
            for _ in range(400)
        ]
        return cls(
            first=[fake.first_name() for _ in range(300)],
            last=[fake.last_name() for _ in range(300)],
            companies=list(dict.fromkeys(fake.company() for _ in range(80))),
            domains=[fake.free_email_domain() for _ in range(12)],
            paragraphs=[fake.paragraph(nb_sentences=rng.randint(2, 5)) for _ in range(400)],
            sentences=[fake.sentence(nb_words=rng.randint(5, 12)) for _ in range(300)],
            subjects=subjects,
            ips=[fake.ipv4_public() for _ in range(200)],
            phones=[fake.phone_number() for _ in range(200)],
            jobs=[fake.job()[:60] for _ in range(50)],
            helpdesk_domain=fake.domain_name(),
        )

    def message(self, d: Dice, greeting: str, sign: str) -> str:
        body = d.pick(self.paragraphs)
        if d.chance(0.02):
            body += "\n\n" + d.pick(_TRICKY)
        return f"{greeting}\n\n{body}\n\n{sign}"


# -- configuration tables ---------------------------------------------------------------------
_DEPARTMENTS = (
    (1, "General Support", "public", "tickets", 0),
    (2, "Billing", "public", "tickets", 0),
    (3, "Technical Support", "public", "tickets", 0),
    (4, "Sales Chat", "public", "livechat", 0),
    (5, "Hardware", "private", "tickets", 3),
)
_STATUSES = (
    (OPEN, "Open", 0, "#4eafcb"),
    (ON_HOLD, "On Hold", 0, "#b5a91e"),
    (CLOSED, "Closed", 1, "#5f5f5f"),
    (IN_PROGRESS, "In Progress", 0, "#3e7cc6"),
    (RESOLVED, "Resolved", 1, "#59a55a"),
)
_PRIORITIES = (
    (1, "Low", "#3e7cc6"),
    (2, "Normal", "#4eafcb"),
    (3, "High", "#e4781e"),
    (4, "Urgent", "#d6000e"),
)
_TYPES = (
    (1, "Issue", "icon_typeissue.png"),
    (2, "Task", "icon_typetask.png"),
    (3, "Bug", "icon_typebug.png"),
    (4, "Lead", "icon_typelead.png"),
    (5, "Feedback", "icon_lightbulb.png"),
)
_GROUPS = ((1, "Administrator", 1), (2, "Staff", 0), (3, "Tier 2 Support", 0))
_DESIGNATIONS = ("Support Engineer", "Support Lead", "Billing Agent")


def build_lookups(rng: random.Random, pools: Pools, domain: str) -> Lookups:
    """Departments, statuses, priorities, types, staff and friends of one helpdesk."""
    departments = {
        i: {
            "id": i,
            "title": t,
            "type": k,
            "module": a,
            "app": a,
            "displayorder": i,
            "parentdepartmentid": parent,
            "uservisibilitycustom": int(k == "private"),
            "usergroups": {"id": [1, 2] if k == "private" else []},
        }
        for i, t, k, a, parent in _DEPARTMENTS
    }
    statuses = {
        i: {
            "id": i,
            "title": t,
            "displayorder": i,
            "departmentid": 0,
            "displayicon": "{$themepath}icon_ticketstatus.png",
            "type": "public",
            "displayinmainlist": 1 - r,
            "markasresolved": r,
            "displaycount": 1 - r,
            "statuscolor": c,
            "statusbgcolor": c,
            "resetduetime": 0,
            "triggersurvey": r,
            "staffvisibilitycustom": 0,
            "staffgroupid": [],
        }
        for i, t, r, c in _STATUSES
    }
    priorities = {
        i: {
            "id": i,
            "title": t,
            "displayorder": i,
            "frcolorcode": "#ffffff",
            "bgcolorcode": c,
            "type": "public",
            "uservisibilitycustom": 0,
            "usergroupid": [],
        }
        for i, t, c in _PRIORITIES
    }
    types = {
        i: {
            "id": i,
            "title": t,
            "displayorder": i,
            "departmentid": 0,
            "displayicon": "{$themepath}" + icon,
            "type": "public",
            "uservisibilitycustom": 0,
            "usergroupid": [],
        }
        for i, t, icon in _TYPES
    }
    groups = {i: {"id": i, "title": t, "isadmin": a} for i, t, a in _GROUPS}
    staff: dict[int, Row] = {}
    for sid in range(1, 16):
        first, last = rng.choice(pools.first), rng.choice(pools.last)
        username = re.sub(r"[^a-z]", "", (first[0] + last).lower())
        staff[sid] = {
            "id": sid,
            "staffgroupid": 1 if sid <= 2 else (3 if sid <= 6 else 2),
            "firstname": first,
            "lastname": last,
            "fullname": f"{first} {last}",
            "username": f"{username}{sid}",
            "email": f"{username}{sid}@{domain}",
            "designation": rng.choice(_DESIGNATIONS),
            "greeting": "",
            "mobilenumber": rng.choice(pools.phones),
            "isenabled": 0 if sid == 15 else 1,
            "timezone": "",
            "enabledst": 0,
            "signature": f"{first} {last}\n{domain}",
        }
    orgs = {i: name for i, name in enumerate(pools.companies[:40], start=1)}
    return Lookups(
        departments,
        statuses,
        priorities,
        types,
        groups,
        staff,
        {1: "Default"},
        {1: "Escalate to Tier 2", 2: "Mark as spam"},
        orgs,
    )


# -- record factories (shared by the seed, mutations and the API) ----------------------------
def user_post(
    store: Store, ticket: Ticket, user_id: int, fullname: str, email: str, contents: str, now: int
) -> Post:
    return Post(
        store.new_id("post"), ticket.id, now, user_id, fullname, email, CREATOR_USER, 0, contents
    )


def staff_post(
    store: Store, ticket: Ticket, staff: Row, contents: str, now: int, isprivate: int = 0
) -> Post:
    ishtml = 1 if re.search(r"<[a-zA-Z][^>]*>", contents) else 0
    return Post(
        store.new_id("post"),
        ticket.id,
        now,
        0,
        staff["fullname"],
        staff["email"],
        CREATOR_STAFF,
        staff["id"],
        contents,
        isprivate=isprivate,
        ishtml=ishtml,
    )


def ticket_note(
    store: Store,
    ticket: Ticket,
    staffid: int,
    staffname: str,
    contents: str,
    now: int,
    forstaffid: int = 0,
    notecolor: int = 1,
) -> Note:
    return Note(
        store.new_id("note"), ticket.id, notecolor, staffid, forstaffid, staffname, now, contents
    )


def time_track(
    store: Store,
    ticket: Ticket,
    creator: Row,
    worker: Row,
    spent: int,
    billable: int,
    workdate: int,
    billdate: int,
    contents: str,
    notecolor: int = 1,
) -> TimeTrack:
    return TimeTrack(
        store.new_id("timetrack"),
        ticket.id,
        spent,
        billable,
        billdate,
        workdate,
        worker["id"],
        worker["fullname"],
        creator["id"],
        creator["fullname"],
        notecolor,
        contents,
    )


def new_ticket(
    store: Store,
    d: Dice,
    subject: str,
    user: tuple[int, str, str],
    department: int,
    status: int,
    priority: int,
    tickettype: int,
    creator: int,
    now: int,
    creationtype: int = TYPE_DEFAULT,
    creationmode: int = CREATIONMODE_API,
) -> Ticket:
    """A ticket without posts yet; ``user`` is (userid, fullname, email)."""
    userid, fullname, email = user
    tid = store.new_id("ticket")
    return Ticket(
        tid,
        display_id(d, tid),
        department,
        status,
        priority,
        tickettype,
        userid,
        fullname,
        email,
        subject,
        now,
        now,
        creator,
        creationmode,
        creationtype=creationtype,
    )


def display_id(d: Dice, ticket_id: int) -> str:
    """A Kayako-style mask id (``ABC-123-45678``), unique through the ticket id suffix."""
    return f"{d.pick(_MASKS)}-{d.between(100, 999)}-{ticket_id:05d}"


# -- seed ------------------------------------------------------------------------------------
# -- custom fields ------------------------------------------------------------------------
# not documented: emulator choice -- one ticket custom field group, linked to every ticket, with
# a text, a select, a date and a multi-select field (Kayako field types 1, 6, 10 and 7). Field
# names are random strings, as Kayako generates them; dates use the default m/d/Y format.
CUSTOM_GROUP = {"id": 1, "title": "Contract details", "displayorder": 1, "grouptype": 3}
CUSTOM_FIELDS: tuple[Row, ...] = (
    {"id": 1, "title": "Contract number", "fieldtype": 1, "fieldname": "k7ns2qv1xwpa"},
    {"id": 2, "title": "Product", "fieldtype": 6, "fieldname": "q3hd8mz0rbte"},
    {"id": 3, "title": "Renewal date", "fieldtype": 10, "fieldname": "w9fj4lc6ysko"},
    {"id": 4, "title": "Affected services", "fieldtype": 7, "fieldname": "a2pe7tu5gnvi"},
)
# option id -> (field id, option value)
CUSTOM_OPTIONS: dict[int, tuple[int, str]] = {
    1: (2, "Hosting Basic"),
    2: (2, "Hosting Pro"),
    3: (2, "Dedicated Server"),
    4: (2, "Domain"),
    5: (4, "E-mail"),
    6: (4, "Website"),
    7: (4, "DNS"),
    8: (4, "FTP"),
}


def custom_values(rng: random.Random, created: int) -> dict[int, Any]:
    """Some custom field values of one ticket, from a generator of their own."""
    out: dict[int, Any] = {}
    if rng.random() < 0.35:
        out[1] = f"KC-{rng.randint(100000, 999999)}"
    if rng.random() < 0.5:
        out[2] = rng.randint(1, 4)
    if rng.random() < 0.2:
        out[3] = time.strftime("%m/%d/%Y", time.gmtime(created + rng.randint(30, 730) * DAY))
    if rng.random() < 0.25:
        out[4] = sorted(rng.sample(range(5, 9), rng.randint(1, 2)))
    return out


def custom_text(value: Any) -> str:
    """A stored value as GET /Tickets/TicketCustomField shows it: option ids become their values,
    a multi-select's values joined by ", " with their own commas escaped."""
    if isinstance(value, list):
        return ", ".join(CUSTOM_OPTIONS[v][1].replace(",", "\\,") for v in value)
    if isinstance(value, int):
        return CUSTOM_OPTIONS[value][1]
    return str(value)


def custom_truth(store: Store) -> dict[str, Row]:
    """Every set custom field of every live ticket, in warehouse terms."""
    kinds = {1: "text", 6: "choice", 10: "date", 7: "multichoice"}
    out: dict[str, Row] = {}
    for tid, values in store.custom.items():
        if tid not in store.tickets:
            continue
        for f in CUSTOM_FIELDS:
            value = values.get(f["id"])
            if value is None:
                continue
            if isinstance(value, list):
                value = [CUSTOM_OPTIONS[v][1] for v in value]
            elif isinstance(value, int):
                value = CUSTOM_OPTIONS[value][1]
            elif f["fieldtype"] == 10:
                value = datetime.strptime(value, "%m/%d/%Y").date().isoformat()
            out[f"{tid}:{f['id']}"] = {
                "ticket_id": str(tid),
                "field_key": str(f["id"]),
                "field_id": str(f["id"]),
                "label": f["title"],
                "type": kinds[f["fieldtype"]],
                "value": value,
            }
    return out


class SeedBuilder:
    """Builds one helpdesk's history: the same seed always gives the same data."""

    def __init__(self, seed: int, pools: Pools) -> None:
        rng = random.Random(seed)
        self.seed = seed
        self.d = Dice(rng)
        self.pools = pools
        self.lookups: Lookups = build_lookups(rng, pools, pools.helpdesk_domain)
        self.staff = [s for s in self.lookups.staff.values() if s["isenabled"]]

    def build(self, tickets: int) -> Store:
        """The seeded store; the collector pauses meanwhile (these records hold no cycles)."""
        gc.disable()
        try:
            return self._build(tickets)
        finally:
            gc.enable()

    def _build(self, tickets: int) -> Store:
        users = self._users(max(20, tickets // 3))
        store = Store(self.lookups, users, {}, *self._user_notes(users))
        d, user_ids = self.d, list(users)
        times = sorted(d.between(SEED_START, SEED_END - 3 * DAY) for _ in range(tickets))
        for tid, created in enumerate(times, start=1):
            store.tickets[tid] = self._ticket(store, tid, created, users[d.pick(user_ids)])
        custom = random.Random(f"kayako:{self.seed}:custom")  # apart: other seeded data stays
        for tid, created in enumerate(times, start=1):
            store.custom[tid] = custom_values(custom, created)
        store.index()
        return store

    def _users(self, count: int) -> dict[int, User]:
        d, p = self.d, self.pools
        orgs = list(self.lookups.organizations)
        users: dict[int, User] = {}
        for uid in range(1, count + 1):
            first, last = d.pick(p.first), d.pick(p.last)
            handle = re.sub(r"[^a-z]", "", f"{first}.{last}".lower())
            emails = [f"{handle}{uid}@{d.pick(p.domains)}"]
            if d.chance(0.08):
                emails.append(f"{first[0].lower()}{uid}@{d.pick(p.domains)}")
            org = d.pick(orgs) if d.chance(0.55) else 0
            joined = d.between(SEED_START - 365 * DAY, SEED_START)
            users[uid] = User(
                uid,
                2,
                2 if org and d.chance(0.08) else 1,
                org,
                d.pick(("", "", "Mr.", "Ms.", "Mrs.", "Dr.")),
                f"{first} {last}",
                emails,
                d.pick(p.jobs) if d.chance(0.3) else "",
                d.pick(p.phones) if d.chance(0.4) else "",
                joined,
                d.between(joined, SEED_END),
            )
        return users

    def _user_notes(
        self, users: dict[int, User]
    ) -> tuple[dict[int, list[UserNote]], dict[int, list[UserNote]]]:
        d, next_id = self.d, iter(range(1, 10**9))
        by_user: dict[int, list[UserNote]] = {}
        by_org: dict[int, list[UserNote]] = {}
        for target, keys, share in (
            (by_user, list(users), 0.02),
            (by_org, list(self.lookups.organizations), 0.15),
        ):
            for key in keys:
                if d.chance(share):
                    staff = d.pick(self.staff)
                    target[key] = [
                        UserNote(
                            next(next_id),
                            key,
                            d.between(1, 5),
                            staff["id"],
                            staff["fullname"],
                            d.between(SEED_START, SEED_END),
                            d.pick(self.pools.sentences),
                        )
                    ]
        return by_user, by_org

    def _ticket(self, store: Store, tid: int, created: int, user: User) -> Ticket:
        d, p = self.d, self.pools
        resolved = d.chance(0.7)
        status = d.pick(_RESOLVED_MIX if resolved else _OPEN_MIX)
        mode = d.pick((1, 3, 3, 3, 2))
        ticket = Ticket(
            tid,
            display_id(d, tid),
            d.pick((1, 1, 2, 3, 3, 3, 5)),
            status,
            d.pick((1, 1, 2, 2, 2, 2, 2, 3, 3, 4)),
            d.pick((1, 1, 1, 2, 3, 4, 5)),
            user.id,
            user.fullname,
            user.emails[0],
            d.pick(p.subjects),
            created,
            created,
            CREATOR_USER,
            mode,
            ipaddress=d.pick(p.ips) if mode == 1 else "",
            creationtype=TYPE_PHONE if d.chance(0.05) else TYPE_DEFAULT,
            flagtype=d.between(1, 6) if d.chance(0.08) else 0,
            tags=tuple({d.pick(_TAGS): 0 for _ in range(d.between(1, 2))})
            if d.chance(0.15)
            else (),
            watchers=(d.pick(self.staff)["id"],) if d.chance(0.04) else (),
            workflows=(d.between(1, 2),) if d.chance(0.02) else (),
        )
        if resolved or d.chance(0.85):
            store.set_owner(ticket, d.pick(self.staff)["id"])
        self._conversation(store, ticket, user)
        last = ticket.lastactivity
        if resolved:
            ticket.lastactivity = min(SEED_END, last + d.between(60, 2 * DAY))
            ticket.resolutiondateline = ticket.lastactivity
        elif d.chance(0.5):
            ticket.slaplanid = 1
            ticket.duetime, ticket.resolutiondue = last + 8 * 3600, created + 5 * DAY
        self._notes(store, ticket)
        self._timetracks(store, ticket)
        return ticket

    def _conversation(self, store: Store, ticket: Ticket, user: User) -> None:
        d, p, email, staff_by_id = self.d, self.pools, user.emails[0], store.lookups.staff
        first = user.fullname.split()[0]
        now = ticket.dateline
        posts = [
            user_post(
                store,
                ticket,
                user.id,
                user.fullname,
                email,
                p.message(d, "Hello,", f"Thanks,\n{first}"),
                now,
            )
        ]
        ticket.lastuserreply, from_staff = now, True
        for _ in range(d.pick((0, 1, 1, 2, 2, 2, 2, 3, 3, 4))):
            now = min(SEED_END, now + d.between(600, 3 * DAY))
            if from_staff:
                staff = staff_by_id.get(ticket.ownerstaffid) or d.pick(self.staff)
                text = p.message(d, f"Hi {first},", f"Best regards,\n{staff['fullname']}")
                posts.append(
                    Post(
                        store.new_id("post"),
                        ticket.id,
                        now,
                        0,
                        staff["fullname"],
                        staff["email"],
                        CREATOR_STAFF,
                        staff["id"],
                        text,
                        isprivate=int(d.chance(0.08)),
                        isemailed=1,
                    )
                )
                ticket.laststaffreply = now
            else:
                text = p.message(d, "Hi again,", first)
                posts.append(user_post(store, ticket, user.id, user.fullname, email, text, now))
                ticket.lastuserreply = now
            from_staff = not from_staff if d.chance(0.85) else from_staff
        ticket.posts = {post.id: post for post in posts}
        ticket.replies, ticket.lastreplier = len(posts) - 1, posts[-1].fullname
        ticket.lastactivity = now

    def _notes(self, store: Store, ticket: Ticket) -> None:
        d, count = self.d, self.d.pick(_NOTE_COUNTS)
        if not count:
            return
        end = min(SEED_END, ticket.lastactivity + DAY)
        for when in sorted(d.between(ticket.dateline, end) for _ in range(count)):
            staff = d.pick(self.staff)
            forstaff = d.pick(self.staff)["id"] if d.chance(0.2) else 0
            note = ticket_note(
                store,
                ticket,
                staff["id"],
                staff["fullname"],
                d.pick(self.pools.sentences),
                when,
                forstaff,
                d.between(1, 5),
            )
            ticket.notes[note.id] = note

    def _timetracks(self, store: Store, ticket: Ticket) -> None:
        d, count = self.d, self.d.pick(_TRACK_COUNTS)
        if not count:
            return
        worker = store.lookups.staff.get(ticket.ownerstaffid)
        for work in sorted(d.between(ticket.dateline, ticket.lastactivity) for _ in range(count)):
            doer = worker or d.pick(self.staff)
            creator = doer if d.chance(0.8) else d.pick(self.staff)
            spent = d.pick(_SPENT)
            billable = d.pick((spent, spent, 0, -(-spent // 900) * 900))
            text = d.pick(self.pools.sentences) if d.chance(0.9) else ""
            entry = time_track(
                store, ticket, creator, doer, spent, billable, work, work, text, d.between(1, 5)
            )
            ticket.timetracks[entry.id] = entry


_KINDS = (
    ("new ticket", 12),
    ("customer reply", 20),
    ("staff reply", 20),
    ("staff note", 10),
    ("status change", 12),
    ("priority change", 6),
    ("reassign owner", 6),
    ("time track added", 10),
    ("time track deleted", 2),
    ("post deleted", 1),
    ("ticket deleted", 1),
)
_KIND_DECK = tuple(kind for kind, weight in _KINDS for _ in range(weight))
_WANTS: dict[str, Callable[[Ticket], bool]] = {
    "time track deleted": lambda t: bool(t.timetracks),
    "post deleted": lambda t: len(t.posts) > 1,
    "ticket deleted": lambda t: True,
}


class Activity:
    """Live changes as customers and agents make them, with the same side effects as the API.

    Only ticket creation, updates of the ticket itself and new posts move ``lastactivity``.
    """

    def __init__(
        self, store: Store, pools: Pools, rng: random.Random, clock: Callable[[], float] = time.time
    ) -> None:
        self.store, self.pools, self.d, self.clock = store, pools, Dice(rng), clock
        self.staff = [s for s in store.lookups.staff.values() if s["isenabled"]]

    def step(self) -> str:
        """Make one change (on a mostly open ticket) and describe it."""
        kind, now = self.d.pick(_KIND_DECK), int(self.clock())
        needs = _WANTS.get(kind)
        ticket = self.store.random_ticket(self.d.pick, needs or self._mostly_open)
        if kind == "new ticket" or ticket is None or (needs and not needs(ticket)):
            return self._new_ticket(now)
        return getattr(self, "_" + kind.replace(" ", "_"))(ticket, now)

    def _mostly_open(self, ticket: Ticket) -> bool:
        return not self.store.is_resolved(ticket) or self.d.chance(0.2)

    def _new_ticket(self, now: int) -> str:
        d, store = self.d, self.store
        user = store.users.get(d.between(1, len(store.users))) or next(iter(store.users.values()))
        ticket = new_ticket(
            store,
            d,
            d.pick(self.pools.subjects),
            (user.id, user.fullname, user.emails[0]),
            d.pick((1, 2, 3, 5)),
            OPEN,
            d.pick((1, 2, 2, 3, 4)),
            d.pick((1, 2, 3)),
            CREATOR_USER,
            now,
            creationmode=3,
        )
        store.add_ticket(ticket)
        text = self.pools.message(d, "Hello,", f"Thanks,\n{user.fullname.split()[0]}")
        post = user_post(store, ticket, user.id, user.fullname, user.emails[0], text, now)
        store.add_post(ticket, post)
        return f"new ticket {ticket.id} from user:{user.id} (lastactivity moved)"

    def _customer_reply(self, ticket: Ticket, now: int) -> str:
        store = self.store
        reopened = store.is_resolved(ticket)
        if reopened:
            store.set_status(ticket, OPEN, now)
        sign = ticket.fullname.split()[0] if ticket.fullname.strip() else ""
        text = self.pools.message(self.d, "Hi,", sign)
        post = user_post(store, ticket, ticket.userid, ticket.fullname, ticket.email, text, now)
        store.add_post(ticket, post)
        return f"ticket {ticket.id}: customer reply post:{post.id}{' (reopened)' * reopened}"

    def _staff_reply(self, ticket: Ticket, now: int) -> str:
        staff = self.store.lookups.staff.get(ticket.ownerstaffid) or self.d.pick(self.staff)
        text = self.pools.message(self.d, "Hi,", f"Best regards,\n{staff['fullname']}")
        post = staff_post(self.store, ticket, staff, text, now, int(self.d.chance(0.05)))
        self.store.add_post(ticket, post)
        return f"ticket {ticket.id}: staff reply post:{post.id} by staff:{staff['id']}"

    def _staff_note(self, ticket: Ticket, now: int) -> str:
        staff = self.d.pick(self.staff)
        note = ticket_note(
            self.store,
            ticket,
            staff["id"],
            staff["fullname"],
            self.d.pick(self.pools.sentences),
            now,
            0,
            self.d.between(1, 5),
        )
        self.store.add_note(ticket, note)
        return f"ticket {ticket.id}: staff note note:{note.id} (lastactivity unchanged)"

    def _status_change(self, ticket: Ticket, now: int) -> str:
        statuses = self.store.lookups.statuses
        status = self.d.pick([s for s in statuses if s != ticket.statusid])
        self.store.set_status(ticket, status, now)
        self.store.touch(ticket, now)
        return f"ticket {ticket.id}: status -> {statuses[ticket.statusid]['title']}"

    def _priority_change(self, ticket: Ticket, now: int) -> str:
        priorities = self.store.lookups.priorities
        ticket.priorityid = self.d.pick([p for p in priorities if p != ticket.priorityid])
        self.store.touch(ticket, now)
        return f"ticket {ticket.id}: priority -> {priorities[ticket.priorityid]['title']}"

    def _reassign_owner(self, ticket: Ticket, now: int) -> str:
        self.store.set_owner(
            ticket, self.d.pick([s["id"] for s in self.staff if s["id"] != ticket.ownerstaffid])
        )
        self.store.touch(ticket, now)
        return f"ticket {ticket.id}: owner -> staff:{ticket.ownerstaffid}"

    def _time_track_added(self, ticket: Ticket, now: int) -> str:
        worker = self.store.lookups.staff.get(ticket.ownerstaffid) or self.d.pick(self.staff)
        spent = self.d.pick(_SPENT)
        entry = time_track(
            self.store,
            ticket,
            worker,
            worker,
            spent,
            spent,
            now - spent,
            now,
            self.d.pick(self.pools.sentences),
            self.d.between(1, 5),
        )
        self.store.add_timetrack(ticket, entry)
        return f"ticket {ticket.id}: time track {entry.id} added ({spent}s, lastactivity unchanged)"

    def _time_track_deleted(self, ticket: Ticket, now: int) -> str:
        entry = self.d.pick(list(ticket.timetracks.values()))
        self.store.delete_timetrack(entry)
        return f"ticket {ticket.id}: time track {entry.id} deleted"

    def _post_deleted(self, ticket: Ticket, now: int) -> str:
        post = self.d.pick(list(ticket.posts.values())[1:])
        self.store.delete_post(post)
        self.store.rebuild(ticket)  # an agent deletes in the staff panel, which rebuilds
        return f"ticket {ticket.id}: post:{post.id} deleted (lastactivity unchanged)"

    def _ticket_deleted(self, ticket: Ticket, now: int) -> str:
        self.store.delete_ticket(ticket)
        return f"ticket {ticket.id} deleted"
