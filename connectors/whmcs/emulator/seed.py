"""Deterministic WHMCS seed data and simulated support activity.

Faker fills small pools once; tickets then pick from the pools with the seeded rng, so a
hundred thousand tickets build in seconds and the same seed always gives the same data.
"""

from __future__ import annotations

import base64
import hashlib
import random
import time
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from itertools import accumulate
from typing import Any, TypeVar

from faker import Faker

from .store import (
    PRIORITIES,
    STATUSES,
    Admin,
    Client,
    Department,
    Note,
    Reply,
    SupportStore,
    Ticket,
)

T = TypeVar("T")
_NO_SYMBOLS = str.maketrans("+/", "kQ")
SEED_START = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
SEED_END = int(datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC).timestamp())
DEPARTMENTS = ("Technical Support", "Billing", "Sales", "Domains", "Abuse")
DEPT_IDS = (1, 2, 3, 4, 5)
DEPT_WEIGHTS = (45, 25, 12, 13, 5)
PRIORITY_WEIGHTS = (30, 50, 20)
REPLY_COUNTS = (0, 1, 1, 2, 2, 3, 4, 5)
NOTE_COUNTS = (0, 0, 0, 1, 1, 2)
ADMIN_COUNT = 8
API_ADMIN_DEPTS = (1, 2, 3)
SUBJECTS = (
    "Website {domain} is down",
    "Cannot log in to cPanel for {domain}",
    "SSL certificate renewal for {domain}",
    "Email bouncing on {domain}",
    "DNS not propagating for {domain}",
    "Question about invoice #{n}",
    "Refund request for order #{n}",
    "Upgrade my hosting plan",
    "Transfer {domain} to your registrar",
    "Slow website performance",
    "Backup restore request for {domain}",
    "Payment failed on invoice #{n}",
    "Spam sent from my account",
    "Need help with WordPress on {domain}",
    "VPS not responding after reboot",
    "Change the nameservers of {domain}",
)


class Dice:
    """Quick draws from a seeded ``random.Random``; bulk seed generation makes millions."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.r = rng, rng.random

    def pick(self, seq: Sequence[T]) -> T:
        return seq[int(self.r() * len(seq))]

    def between(self, lo: int, hi: int) -> int:
        return lo + int(self.r() * (hi - lo + 1))

    def chance(self, p: float) -> bool:
        return self.r() < p

    def weighted(self, values: Sequence[T], weights: Sequence[float]) -> T:
        cum = _cumulative(tuple(weights))
        return values[bisect(cum, self.r() * cum[-1])]


@lru_cache(maxsize=64)
def _cumulative(weights: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(accumulate(weights))


@dataclass(frozen=True)
class Pools:
    """Faker output generated once and reused by seed data and simulated activity."""

    first: tuple[str, ...]
    last: tuple[str, ...]
    companies: tuple[str, ...]
    domains: tuple[str, ...]
    paragraphs: tuple[str, ...]
    sentences: tuple[str, ...]

    @staticmethod
    @lru_cache(maxsize=8)
    def build(seed: int) -> Pools:
        fake = Faker()
        fake.seed_instance(seed)
        return Pools(
            first=tuple(fake.first_name() for _ in range(300)),
            last=tuple(fake.last_name() for _ in range(300)),
            companies=tuple(fake.company() for _ in range(150)),
            domains=tuple(fake.domain_name() for _ in range(400)),
            paragraphs=tuple(fake.paragraph(nb_sentences=4) for _ in range(400)),
            sentences=tuple(fake.sentence(nb_words=10) for _ in range(400)),
        )

    def subject(self, d: Dice) -> str:
        return d.pick(SUBJECTS).format(domain=d.pick(self.domains), n=d.between(1000, 99999))

    def client_message(self, d: Dice, signature: str) -> str:
        return f"Hi,\r\n\r\n{d.pick(self.paragraphs)}\r\n\r\nThanks\r\n\r\n{signature}"

    def admin_message(self, d: Dice, greet: str, signature: str) -> str:
        para = d.pick(self.paragraphs)
        return f"Hello {greet},\r\n\r\n{para}\r\n\r\nKind regards,\r\n\r\n{signature}"

    def note(self, d: Dice) -> str:
        first = d.pick(self.sentences)
        return f"{first} {d.pick(self.sentences)}" if d.chance(0.5) else first

    def guest(self, d: Dice, i: int) -> tuple[str, str]:
        """(name, e-mail) of the i-th non-client sender."""
        first, last = d.pick(self.first), d.pick(self.last)
        return f"{first} {last}", f"{last}.{i}@{d.pick(self.domains)}".lower().replace(" ", "")


def secret_token(seed: int, label: str, length: int = 32) -> str:
    """A deterministic secret for ``credentials()`` (letters and digits only)."""
    digest = hashlib.sha256(f"whmcs:{seed}:{label}".encode()).hexdigest()
    return digest[:length]


def random_code(rng: random.Random) -> str:
    """The ``c`` client access code of a ticket: eight letters and digits."""
    return base64.b64encode(rng.randbytes(6)).decode().translate(_NO_SYMBOLS)


def new_tid(rng: random.Random, taken: dict[str, int]) -> str:
    """A six-digit public ticket number (the default ``%n%n%n%n%n%n`` mask), unique."""
    r = rng.random
    while True:
        tid = str(100000 + int(r() * 900000))
        if tid not in taken:
            return tid


def build_store(rng: random.Random, pools: Pools, seed: int, tickets: int) -> SupportStore:
    """The seed dataset: a store with ``tickets`` tickets spread over 2026-01..2026-10."""
    d = Dice(rng)
    depts = [Department(i + 1, name) for i, name in enumerate(DEPARTMENTS)]
    store = SupportStore(depts, _admins(d, pools, seed), _clients(d, pools, tickets))
    _Builder(d, pools, store).build(tickets)
    return store


def _admins(d: Dice, pools: Pools, seed: int) -> list[Admin]:
    admins = []
    for i in range(1, ADMIN_COUNT + 1):
        first, last = d.pick(pools.first), d.pick(pools.last)
        depts = API_ADMIN_DEPTS if i == 1 else tuple(sorted(d.rng.sample(DEPT_IDS, 2)))
        admins.append(
            Admin(
                id=i,
                username=f"{first[0]}{last}".lower().replace(" ", "").replace("'", ""),
                firstname=first,
                lastname=last,
                email=f"{first}.{last}@support.example.net".lower().replace(" ", ""),
                password=secret_token(seed, f"admin-password-{i}", 16),
                roleid=1 if i <= 2 else 2,
                disabled=i == ADMIN_COUNT,
                depts=depts,
            )
        )
    return admins


def _clients(d: Dice, pools: Pools, tickets: int) -> list[Client]:
    clients = []
    for i in range(1, max(20, tickets // 4) + 1):
        first, last = d.pick(pools.first), d.pick(pools.last)
        company = d.pick(pools.companies) if d.chance(0.3) else ""
        email = f"{first}.{last}{i}@{d.pick(pools.domains)}".lower().replace(" ", "")
        clients.append(Client(i, first, last, email, company))
    return clients


def _guest_count(store: SupportStore) -> int:
    return 10 + len(store.clients) // 5


def _requester(
    d: Dice, store: SupportStore, guests: Sequence[tuple[str, str]]
) -> tuple[int, str, str, str]:
    """(userid, name, email, signature) of a new ticket's sender: mostly clients."""
    if d.chance(0.85):
        c = store.clients[d.between(1, len(store.clients))]
        return c.id, c.full, c.email, c.firstname
    name, email = d.pick(guests)
    return 0, name, email, _first(name)


class _Builder:
    """Generates tickets in date order, then numbers replies and notes chronologically."""

    def __init__(self, d: Dice, pools: Pools, store: SupportStore) -> None:
        self.d, self.pools, self.store = d, pools, store
        self.staff = [a for a in store.admins.values() if not a.disabled]
        self.guests = [pools.guest(d, i) for i in range(1, _guest_count(store) + 1)]
        self.replies: list[Reply] = []
        self.notes: list[Note] = []

    def build(self, count: int) -> None:
        d = self.d
        dates = sorted(d.between(SEED_START, SEED_END - 86400) for _ in range(count))
        tickets = [self._ticket(i + 1, date) for i, date in enumerate(dates)]
        self.replies.sort(key=lambda r: (r.date, r.ticket_id))
        for i, r in enumerate(self.replies, 1):
            r.id = i
        self.notes.sort(key=lambda n: (n.date, n.ticket_id))
        for i, n in enumerate(self.notes, 1):
            n.id = i
        self.store.load(tickets, self.replies, self.notes)

    def _ticket(self, tid: int, date: int) -> Ticket:
        d, pools, store = self.d, self.pools, self.store
        userid, name, email, sign = _requester(d, store, self.guests)
        t = Ticket(
            id=tid,
            tid=new_tid(d.rng, store.by_tid),
            c=random_code(d.rng),
            deptid=d.weighted(DEPT_IDS, DEPT_WEIGHTS),
            userid=userid,
            name=name,
            email=email,
            date=date,
            subject=pools.subject(d),
            message=pools.client_message(d, sign),
            status="Open",
            priority=d.weighted(PRIORITIES, PRIORITY_WEIGHTS),
            lastreply=date,
            admin=d.pick(self.staff).full if d.chance(0.03) else "",
            flag=d.pick(self.staff).id if d.chance(0.1) else 0,
            service=f"S{d.between(1, 5000)}" if d.chance(0.2) else "",
        )
        store.by_tid[t.tid] = t.id
        self._conversation(t, sign)
        return t

    def _conversation(self, t: Ticket, sign: str) -> None:
        d, pools = self.d, self.pools
        when, from_admin = t.date, True
        for _ in range(d.pick(REPLY_COUNTS)):
            when += d.between(600, 2 * 86400)
            if when > SEED_END:
                break
            if from_admin:
                admin = d.pick(self.staff)
                body = pools.admin_message(d, sign, admin.full)
                self.replies.append(Reply(0, t.id, t.userid, "", "", admin.full, when, body))
            else:
                name, email = ("", "") if t.userid else (t.name, t.email)
                body = pools.client_message(d, sign)
                self.replies.append(Reply(0, t.id, t.userid, name, email, "", when, body))
            t.lastreply, from_admin = when, not from_admin
        for _ in range(d.pick(NOTE_COUNTS)):
            at = d.between(t.date, t.lastreply)
            self.notes.append(Note(0, t.id, d.pick(self.staff).full, at, pools.note(d)))
        t.status = _seed_status(d, t, not from_admin)


def _first(name: str) -> str:
    return (name.split() or ["there"])[0]


def _seed_status(d: Dice, t: Ticket, last_from_admin: bool) -> str:
    if t.lastreply == t.date:
        return d.weighted(("Open", "In Progress", "On Hold", "Closed"), (70, 10, 5, 15))
    if d.chance(0.45):
        return "Closed"
    if last_from_admin:
        return d.weighted(("Answered", "On Hold"), (85, 15))
    return d.weighted(("Customer-Reply", "In Progress"), (85, 15))


class Activity:
    """Agents and customers at work: the changes behind ``WhmcsEmulator.mutate``."""

    KINDS = (
        ("new_ticket", 14),
        ("client_reply", 22),
        ("admin_reply", 22),
        ("note", 12),
        ("status", 10),
        ("priority", 6),
        ("department", 5),
        ("flag", 5),
        ("delete_note", 2),
        ("delete_reply", 1.5),
        ("delete_ticket", 0.5),
    )

    def __init__(self, rng: random.Random, pools: Pools, store: SupportStore) -> None:
        self.d, self.pools, self.store = Dice(rng), pools, store
        self.staff = [a for a in store.admins.values() if not a.disabled]

    def run(self, n: int) -> list[str]:
        """Make ``n`` changes; one line each."""
        names, weights = zip(*self.KINDS, strict=True)
        return [getattr(self, "_" + self.d.weighted(names, weights))() for _ in range(n)]

    def _recent(self, need: str = "") -> Ticket | None:
        """One of the 200 most recently active tickets (optionally with replies or notes)."""
        tickets = [self.store.tickets[i] for i in self.store.ordered_ids(0, 200)]
        if need:
            tickets = [t for t in tickets if getattr(t, need)]
        return self.d.pick(tickets) if tickets else None

    def _new_ticket(self) -> str:
        d, pools, store = self.d, self.pools, self.store
        guest = pools.guest(d, d.between(1, _guest_count(store)))
        userid, name, email, sign = _requester(d, store, (guest,))
        t = store.open_ticket(
            tid=new_tid(d.rng, store.by_tid),
            c=random_code(d.rng),
            deptid=d.weighted(DEPT_IDS, DEPT_WEIGHTS),
            userid=userid,
            name=name,
            email=email,
            date=int(time.time()),
            subject=pools.subject(d),
            message=pools.client_message(d, sign),
            priority=d.weighted(PRIORITIES, PRIORITY_WEIGHTS),
        )
        return f"ticket {t.id}: opened by {name} <{email}> ({t.subject})"

    def _client_reply(self) -> str:
        t = self._recent()
        if t is None:
            return self._new_ticket()
        name, email = ("", "") if t.userid else (t.name, t.email)
        self.store.add_reply(
            t,
            "Customer-Reply",
            userid=t.userid,
            name=name,
            email=email,
            admin="",
            date=int(time.time()),
            message=self.pools.client_message(self.d, _first(t.name)),
        )
        return f"ticket {t.id}: customer reply, status Customer-Reply"

    def _admin_reply(self) -> str:
        t = self._recent()
        if t is None:
            return self._new_ticket()
        admin = self.d.pick(self.staff)
        status = "Closed" if self.d.chance(0.2) else "Answered"
        body = self.pools.admin_message(self.d, _first(t.name), admin.full)
        self.store.add_reply(
            t,
            status,
            userid=t.userid,
            name="",
            email="",
            admin=admin.full,
            date=int(time.time()),
            message=body,
        )
        return f"ticket {t.id}: reply by {admin.full}, status {status}"

    def _note(self) -> str:
        t = self._recent()
        if t is None:
            return self._new_ticket()
        admin = self.d.pick(self.staff)
        n = self.store.add_note(t, admin.full, int(time.time()), self.pools.note(self.d))
        return f"ticket {t.id}: note {n.id} by {admin.full}"

    def _field(self, field: str, choices: Sequence[Any]) -> str:
        t = self._recent()
        if t is None:
            return self._new_ticket()
        old = getattr(t, field)
        new = self.d.pick([c for c in choices if c != old])
        setattr(t, field, new)
        self.store.changed()
        return f"ticket {t.id}: {field} {old} -> {new}"

    def _status(self) -> str:
        return self._field("status", [s.title for s in STATUSES])

    def _priority(self) -> str:
        return self._field("priority", PRIORITIES)

    def _department(self) -> str:
        return self._field("deptid", DEPT_IDS)

    def _flag(self) -> str:
        return self._field("flag", [0, *(a.id for a in self.staff)])

    def _delete_note(self) -> str:
        t = self._recent("notes")
        if t is None:
            return self._note()
        n = self.store.notes[self.d.pick(t.notes)]
        self.store.delete_note(n)
        return f"ticket {t.id}: note {n.id} deleted"

    def _delete_reply(self) -> str:
        t = self._recent("replies")
        if t is None:
            return self._admin_reply()
        r = self.store.replies[self.d.pick(t.replies)]
        self.store.delete_reply(r)
        return f"ticket {t.id}: reply {r.id} deleted"

    def _delete_ticket(self) -> str:
        """Delete a client ticket whose client keeps other tickets (people stay stable)."""
        t = self._recent()
        if t is None or not t.userid:
            return self._status()
        if not any(o.userid == t.userid and o.id != t.id for o in self.store.tickets.values()):
            return self._status()
        self.store.delete_ticket(t)
        return f"ticket {t.id} deleted"
