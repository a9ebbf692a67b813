"""Deterministic seed data for one Track-It! installation."""

from __future__ import annotations

import gc
import random
from calendar import timegm
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from faker import Faker

from . import fields as F
from .fields import Changes, NoteSpec
from .store import (
    STATUS,
    Assignment,
    Attachment,
    Note,
    Requestor,
    Store,
    Technician,
    Template,
    Ticket,
)

SEED_START = float(timegm((2026, 1, 1, 0, 0, 0)))
SEED_END = float(timegm((2026, 10, 31, 23, 59, 59)))
T = TypeVar("T")
PRIORITY_MIX = (1,) * 5 + (2,) * 15 + (3,) * 50 + (4,) * 25 + (5,) * 5
SLA_MIX = (1,) * 16 + (2,) * 3 + (3,)
OPEN_MIX = (1,) * 14 + (4,) * 3 + (6,) * 3
CLOSED_MIX = (2,) * 80 + (3,) * 10 + (5,) * 7 + (7,) * 3
NOTES_MIX = (0,) * 4 + (1,) * 6 + (2,) * 5 + (3,) * 3 + (4,) * 2
RATES = (None, 65.0, 85.0, 120.0)
DUE_S = {seq: hours * 3600 for seq, _, hours, _ in F.PRIORITIES}
CATEGORY_GROUP = {"Hardware": 3, "Software": 5, "Network": 4, "Accounts": 2, "Facilities": 2}
PROBLEMS = {
    "Printer": ("printer is jamming", "cannot print to {loc} printer", "toner low at {loc}"),
    "Laptop": ("laptop will not boot", "laptop battery drains fast", "dock not detected"),
    "Desktop": ("PC very slow since update", "desktop keeps restarting", "no sound on desktop"),
    "Monitor": ("second monitor flickers", "monitor shows no signal", "need a larger monitor"),
    "Mobile Device": ("phone not syncing mail", "new mobile device setup", "tablet screen cracked"),
    "Applications": ("Excel crashes on open", "ERP client error at login", "install Visio"),
    "Email": ("Outlook keeps asking for password", "mailbox is full", "shared mailbox missing"),
    "Operating System": ("Windows update failed", "blue screen after patch", "clock out of sync"),
    "Antivirus": ("antivirus quarantined a file", "virus warning popup", "scan will not finish"),
    "Connectivity": ("no network at desk", "intermittent network drops", "cannot reach file share"),
    "VPN": ("VPN will not connect", "VPN disconnects every hour", "VPN access needed"),
    "Wireless": ("Wi-Fi weak in {loc}", "guest Wi-Fi password", "laptop will not join Wi-Fi"),
    "Password Reset": ("password expired", "account locked out", "reset ERP password"),
    "New User": ("new hire starting Monday", "set up account for contractor", "new user laptop"),
    "Access Request": ("access to finance share", "add to distribution list", "CRM access"),
    "Phone": ("desk phone has no dial tone", "voicemail PIN reset", "move phone extension"),
}
TECH_NOTES = (
    "Remoted in and cleared the print queue.",
    "Reinstalled the driver and tested.",
    "Waiting for the user to confirm the fix.",
    "Ordered a replacement part.",
    "Escalated to the network team for review.",
    "Checked event logs; disk errors found.",
    "Reset the profile and rebuilt the cache.",
    "Applied the latest patches and rebooted.",
    "Replaced the cable at the desk.",
    "Unable to reproduce; asked for a screenshot.",
    "Updated the firmware to the current release.",
    "Verified permissions on the share.",
)
EMAILS_OUT = (
    "Could you restart your computer and let us know if the issue persists?",
    "We have applied a fix; please confirm it works for you.",
    "A technician will visit your desk this afternoon.",
)
EMAILS_IN = (
    "Thanks, it works now.",
    "Still broken after the restart, see attached.",
    "I am out of office until Monday, please call my mobile.",
    "Any update on this?",
)
RESOLUTIONS = (
    "Issue resolved and confirmed with the user.",
    "Replaced hardware; working now.",
    "Configuration corrected; closing.",
    "No response from user; closing ticket.",
)
FILES = ("screenshot.png", "error_log.txt", "photo.jpg", "quote.pdf", "config.xml", "report.xlsx")
WORK = (
    "Replace toner cartridge",
    "Image new laptop",
    "Create AD account",
    "Run network cable",
    "Order replacement monitor",
    "Configure mailbox",
)


# Custom fields as a typical installation fills them (an emulator choice: the docs give no
# data): Text 2 a contract number, Date 1 a warranty end, Integer 1 the users affected,
# Numeric 1 an estimated cost, Look Up 1 the site, Look Up 2 the impact.
SITES = ("Head Office", "Warehouse", "Branch North", "Branch South")
IMPACTS = ("Single user", "Department", "Organization")


def custom_values(rng: random.Random, opened: float) -> dict[int, Any]:
    """Some of the custom fields of one ticket (the rest stay null), from their own generator."""
    out: dict[int, Any] = {}
    if rng.random() < 0.3:
        out[86] = f"CT-{2019 + rng.randint(0, 5)}-{rng.randint(1, 999):04d}"
    if rng.random() < 0.15:
        out[81] = float(int(opened // 86400 + rng.randint(30, 1095)) * 86400)
    if rng.random() < 0.25:
        out[83] = rng.choice((1, 1, 1, 2, 5, 12, 40, 250))
    if rng.random() < 0.15:
        out[84] = round(rng.uniform(25, 2500), 2)
    if rng.random() < 0.4:
        out[116] = rng.choice(SITES)
    if rng.random() < 0.3:
        out[117] = rng.choice(IMPACTS)
    return out


# The custom ticket fields (BMC's field table) and the type of value each holds.
CUSTOM_TYPES: dict[int, str] = {
    **dict.fromkeys((81, 82, 146, 147), "datetime"),
    83: "integer",
    84: "number",
    **dict.fromkeys(range(85, 91), "text"),
    **dict.fromkeys(range(116, 124), "choice"),
}


def custom_truth(store: Store, names: dict[int, str]) -> dict[str, dict[str, Any]]:
    """Every set custom field of every live ticket, keyed ``"<ticket>:<sequence>"``."""
    out: dict[str, dict[str, Any]] = {}
    for t in store.tickets.values():
        for seq, value in sorted((t.own or {}).items()):
            kind = CUSTOM_TYPES.get(seq)
            if kind is None or value is None:
                continue
            if kind == "datetime":  # ISO 8601 text: ground truth is served as JSON too
                value = datetime.fromtimestamp(value, UTC).isoformat()
            out[f"{t.id}:{seq}"] = {
                "ticket_id": str(t.id),
                "field_key": str(seq),
                "field_id": str(seq),
                "label": names[seq],
                "type": kind,
                "value": value,
            }
    return out


class Builder:
    """Fills a :class:`Store` from one seed: same seed, same data."""

    def __init__(self, seed: int, tickets: int) -> None:
        self.rng = random.Random(f"trackit:{seed}")
        # apart from self.rng, so custom fields leave every other seeded value as it was
        self.custom_rng = random.Random(f"trackit:{seed}:custom")
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.count = tickets
        self.store = Store()
        self._mail_seq = 1
        self._assignment_seq = 0
        self._staff: dict[int, list[int]] = {}

    def build(self) -> Store:
        """Technicians, requestors, tickets with notes, attachments and assignments."""
        self._techs(max(12, min(60, self.count // 2000)))
        self._requestors(max(40, min(5000, self.count // 4)))
        self._templates()
        for group, _ in F.GROUPS:
            self._staff[group] = [t.id for t in self.store.techs.values() if group in t.groups]
        self._tickets()
        self.store.build_indexes()
        return self.store

    def _phone(self) -> str:
        return f"({self.rng.randint(201, 989)}) 555-{self.rng.randint(1000, 9999):04d}"

    def _ext(self) -> str | None:
        return str(self.rng.randint(1000, 7999)) if self.rng.random() < 0.5 else None

    def _techs(self, n: int) -> None:
        codes: set[str] = set()
        for i in range(1, n + 1):
            first, last = self.fake.first_name(), self.fake.last_name()
            code = _unique((first[0] + last).upper().replace("'", ""), codes)
            group = F.GROUPS[(i - 1) % len(F.GROUPS)][0]
            groups = (2, 3) if i == 1 else tuple(sorted({group, 2} if i % 3 == 0 else {group}))
            password = f"Tk-{self.rng.getrandbits(32):08x}"
            email = f"{code.lower()}@helpdesk.example.com"
            self.store.techs[i] = Technician(
                i, code, first, last, email, self._phone(), self._ext(), groups, password
            )

    def _requestors(self, n: int) -> None:
        codes: set[str] = set()
        firsts = [self.fake.first_name() for _ in range(min(n, 400))]
        lasts = [self.fake.last_name() for _ in range(min(n, 400))]
        titles = [self.fake.job() for _ in range(60)]
        domain = self.fake.domain_name()
        rng = self.rng
        for i in range(1, n + 1):
            first, last = rng.choice(firsts), rng.choice(lasts)
            code = _unique((first[0] + last).lower().replace("'", ""), codes)
            self.store.requestors[i] = Requestor(
                i,
                code,
                first,
                last,
                f"{code}@{domain}",
                self._phone(),
                self._ext(),
                rng.choice(titles),
                rng.randint(1, len(F.DEPARTMENTS)),
                rng.randint(1, len(F.LOCATIONS)),
            )

    def _templates(self) -> None:
        rows = (
            (3, "New Hire", "New Hire Creation", "Open", "3 - Medium", True, (2, 3)),
            (4, "Password Reset", "Self service reset", "Open", "2 - High", True, (2,)),
            (5, "Network Outage", "Site outage", "Escalated", "1 - Critical", False, (4,)),
            (6, "Printer Setup", "Retired template", "Open", "4 - Low", False, (2, 3)),
        )
        for seq, name, desc, status, prio, active, groups in rows:
            self.store.templates.append(
                Template(
                    seq,
                    name,
                    desc,
                    _template_xml(status, prio),
                    name == "Password Reset",
                    active,
                    groups,
                )
            )

    def _tickets(self) -> None:
        span, made, tid, rnd = SEED_END - SEED_START - 86400 * 12, 0, 0, self.rng.random
        self._summaries = {
            (cat, loc[0]): [_summary(text, loc[1]) for text in PROBLEMS[name]]
            for cat, name, _ in F.CATEGORIES
            for loc in F.LOCATIONS
        }
        while made < self.count:
            tid += 1
            if tid > 1 and rnd() < 0.02:
                continue  # a ticket deleted long ago leaves a gap in the ids
            age = made / self.count
            self._ticket(tid, SEED_START + span * age + rnd() * 600, age)
            made += 1
        self.store.next_ticket = tid + 1
        self.store.next_note = len(self.store.notes) + 1
        self.store.next_mail = self._mail_seq

    def _ticket(self, tid: int, opened: float, age: float) -> None:
        rnd, st = self.rng.random, self.store
        req = st.requestors[1 + int(rnd() * len(st.requestors))]
        cat = F.CATEGORIES[int(rnd() * len(F.CATEGORIES))]
        group = CATEGORY_GROUP[cat[2].split("\\")[0]] if rnd() < 0.7 else 2
        staff = self._staff[group]
        is_open = rnd() < 0.12 + 0.36 * age
        summaries = self._summaries[cat[0], req.location]
        t = Ticket(
            tid,
            group,
            1,
            PRIORITY_MIX[int(rnd() * 100)],
            opened,
            opened,
            "dbo",
            summaries[int(rnd() * len(summaries))],
            req.id,
            None,
            cat[0],
            req.location,
            req.department,
            SLA_MIX[int(rnd() * 20)],
            F.TICKET_SOURCES[int(rnd() * len(F.TICKET_SOURCES))],
            opened_by=staff[int(rnd() * len(staff))],
            opened_group=group,
            rate=RATES[int(rnd() * 4)],
        )
        t.tech = staff[int(rnd() * len(staff))] if not is_open or rnd() < 0.85 else None
        t.due = opened + DUE_S[t.priority]
        if rnd() < 0.2:
            t.own = {85: f"AT-{10000 + int(rnd() * 90000)}"}
        t.own = {**(t.own or {}), **custom_values(self.custom_rng, opened)} or None
        self._lifecycle(t, is_open)
        st.tickets[tid] = t
        self._notes(t, req)
        self._extras(t)

    def _lifecycle(self, t: Ticket, is_open: bool) -> None:
        rnd = self.rng.random
        if is_open:
            t.status = OPEN_MIX[int(rnd() * len(OPEN_MIX))]
            t.modified = t.opened + 60 + rnd() * 3 * 86400
            t.clock_stop = t.modified if t.status == 6 else None
        else:
            t.status = CLOSED_MIX[int(rnd() * 100)]
            t.closed_at = t.opened + 1800 + rnd() * 10 * 86400
            t.closed_by, t.closed_group, t.modified = t.tech or t.opened_by, t.group, t.closed_at
        t.last_user = self.store.techs[t.closed_by or t.tech or t.opened_by or 1].code
        if rnd() < 0.85:
            t.responded_at = t.opened + rnd() * min(8 * 3600.0, t.modified - t.opened)
            t.responded_by = t.tech or t.opened_by

    def _notes(self, t: Ticket, req: Requestor) -> None:
        """Description, then work notes and e-mails, then the resolution; ids follow dates."""
        rnd, end, tech = self.rng.random, t.closed_at or t.modified, t.tech or t.opened_by
        plan: list[tuple[float, str, str, int, int | None, str]]
        if t.source == "Email":
            plan = [(t.opened, t.summary or "", "Ticket Description", 2, None, "in")]
        else:
            plan = [(t.opened, t.summary or "", "Ticket Description", 1, t.opened_by, "")]
        for _ in range(NOTES_MIX[int(rnd() * 20)]):
            when, pick = t.opened + rnd() * (end - t.opened), rnd()
            if pick < 0.6:
                plan.append(
                    (
                        when,
                        TECH_NOTES[int(rnd() * len(TECH_NOTES))],
                        "Technician Note",
                        1 + int(rnd() * 7),
                        tech,
                        "work",
                    )
                )
            elif pick < 0.8:
                body = f"Hi {req.first},\n\n{EMAILS_OUT[int(rnd() * len(EMAILS_OUT))]}"
                plan.append((when, body, "Technician Note", 4, tech, "out"))
            else:
                body = EMAILS_IN[int(rnd() * len(EMAILS_IN))]
                plan.append((when, body, "Technician Note", 2, None, "in"))
        if t.status == 4 and rnd() < 0.7:
            plan.append(
                (
                    t.modified,
                    "Status changed from Open to Escalated.",
                    "Technician Note",
                    1,
                    t.tech,
                    "system",
                )
            )
        if t.closed_at:
            body = RESOLUTIONS[int(rnd() * len(RESOLUTIONS))]
            plan.append((t.closed_at, body, "Ticket Resolution", 3, t.closed_by, "work"))
        plan.sort(key=_first)
        for row in plan:
            self._note(t, req, *row)
        t.latest_note = plan[-1][0]

    def _note(
        self,
        t: Ticket,
        req: Requestor,
        when: float,
        body: str,
        kind: str,
        act: int,
        tech: int | None,
        role: str,
    ) -> None:
        rnd, st = self.rng.random, self.store
        note = Note(
            len(st.notes) + 1,
            t.id,
            t.group,
            when,
            when,
            st.techs[tech].code if tech else "dbo",
            body,
            kind,
            act,
            tech,
        )
        if role == "in":
            note.requestor, note.email_mgmt, note.email = req.id, self._mail_seq, req.email
            self._mail_seq += 1
        elif role == "system":
            note.system = True
        else:
            note.email = req.email if role == "out" else None
            note.private = role == "work" and rnd() < 0.35
            if role and rnd() < 0.45:
                note.duration = (1 + int(rnd() * 24)) * 300
                note.track_time = rnd() < 0.85
        st.notes[note.id] = note
        t.notes.append(note)

    def _extras(self, t: Ticket) -> None:
        rng, st = self.rng, self.store
        if rng.random() < 0.18:
            for _ in range(rng.randint(1, 3)):
                aid = len(st.attachment_by_id) + 1
                name = rng.choice(FILES)
                url = f"https://files.example.com/{aid}/{name}" if rng.random() < 0.1 else None
                att = Attachment(aid, t.id, name, rng.randint(2_000, 3_000_000), url)
                st.attachments.setdefault(t.id, []).append(att)
                st.attachment_by_id[aid] = att
        if rng.random() < 0.08:
            for _ in range(rng.randint(1, 2)):
                aid = self._assignment_seq = self._assignment_seq + 1
                closed = t.closed_at
                st.assignments.setdefault(t.id, []).append(
                    Assignment(
                        aid,
                        t.id,
                        t.group,
                        rng.choice(WORK),
                        2 if closed else 1,
                        t.opened + 60,
                        closed or t.opened + 60,
                        t.last_user,
                        t.tech,
                        closed,
                    )
                )


def _pick(rng: random.Random, seq: Sequence[T]) -> T:
    return seq[int(rng.random() * len(seq))]


def _unique(code: str, taken: set[str]) -> str:
    out, n = code, 1
    while out in taken:
        n += 1
        out = f"{code}{n}"
    taken.add(out)
    return out


def _summary(text: str, location: str) -> str:
    text = text.format(loc=location)
    return text[0].upper() + text[1:]


def _first(row: tuple[Any, ...]) -> Any:
    return row[0]


def _template_xml(status: str, priority: str) -> str:
    rows = ((81, 80, 1, "Status", status), (114, 113, 3, "Priority", priority))
    body = "".join(
        f"\r\n <RowData>\r\n <sequence>{seq}</sequence>\r\n <datatype>nvarchar</datatype>\r\n"
        f" <fkcolumn>{fk}</fkcolumn>\r\n <fkvalue>{fv}</fkvalue>\r\n"
        f" <fieldname>{name}</fieldname>\r\n"
        f" <value>{value}</value>\r\n </RowData>"
        for seq, fk, fv, name, value in rows
    )
    return f"<TemplateData>{body}\r\n</TemplateData>"


def build_store(seed: int, tickets: int) -> Store:
    """The seeded store for ``seed`` with ``tickets`` live tickets."""
    # Collection passes over hundreds of thousands of fresh records only cost time here.
    gc.disable()
    try:
        return Builder(seed, tickets).build()
    finally:
        gc.enable()


class Activity:
    """Changes technicians and requestors make, through the same write paths as the API."""

    KINDS = (
        ("new_ticket", 14),
        ("tech_note", 22),
        ("requestor_email", 9),
        ("tech_email", 9),
        ("status", 12),
        ("close", 12),
        ("reassign", 8),
        ("edit", 9),
        ("reopen", 3),
        ("delete", 2),
    )

    def __init__(self, store: Store, rng: random.Random) -> None:
        self.store, self.rng = store, rng

    def run(self, n: int) -> list[str]:
        """Make ``n`` changes; one human-readable line each."""
        names, weights = zip(*self.KINDS, strict=False)
        return [getattr(self, "_" + self.rng.choices(names, weights)[0])() for _ in range(n)]

    def _pick_ticket(self, closed: bool | None) -> Ticket | None:
        st = self.store
        for _ in range(80):
            t = st.tickets.get(self.rng.randint(1, st.next_ticket - 1))
            if t is not None and (closed is None or STATUS[t.status][3] == closed):
                return t
        return None

    def _author(self, t: Ticket) -> Technician:
        techs = self.store.techs
        if t.tech and self.rng.random() < 0.8:
            return techs[t.tech]
        return _pick(self.rng, list(techs.values()))

    def _work_note(self, kind: str, text: str, activity: int) -> NoteSpec:
        rng = self.rng
        duration = rng.randint(1, 12) * 300 if rng.random() < 0.5 else 0
        private = kind == "Technician Note" and rng.random() < 0.3
        return NoteSpec(text, kind, activity, duration, private)

    def _new_ticket(self) -> str:
        rng, st = self.rng, self.store
        user = _pick(rng, list(st.techs.values()))
        req = st.requestors[rng.randint(1, len(st.requestors))]
        cat = _pick(rng, F.CATEGORIES)
        summary = _summary(_pick(rng, PROBLEMS[cat[1]]), F.LOCATIONS[req.location - 1][1])
        links: dict[str, int | None] = {
            "requestor": req.id,
            "category": cat[0],
            "location": req.location,
            "department": req.department,
            "priority": _pick(rng, PRIORITY_MIX),
        }
        if rng.random() < 0.6:
            links["tech"] = user.id
        own = {22: summary, 127: _pick(rng, F.TICKET_SOURCES)}
        t = st.create(Changes(links, own), user, user.groups[0])
        st.add_note(t, NoteSpec(summary, "Ticket Description", 1), user, user.groups[0])
        return f"ticket {t.id}: created by {user.code} for {req.code}: {summary}"

    def _tech_note(self) -> str:
        t = self._pick_ticket(closed=False)
        if t is None:
            return self._new_ticket()
        user = self._author(t)
        text = _pick(self.rng, TECH_NOTES)
        spec = self._work_note("Technician Note", text, self.rng.randint(1, 7))
        note = self.store.add_note(t, spec, user, t.group)
        extra = f", {spec.duration // 60} min" if spec.duration else ""
        extra += ", private" if spec.private else ""
        return f"ticket {t.id}: note {note.id} by {user.code}{extra}"

    def _requestor_email(self) -> str:
        t = self._pick_ticket(closed=False)
        if t is None or t.requestor is None:
            return self._new_ticket()
        st, req = self.store, self.store.requestors[t.requestor]
        spec = NoteSpec(_pick(self.rng, EMAILS_IN), "Technician Note", 2)
        note = st.add_note(
            t, spec, None, t.group, requestor=req.id, email=req.email, email_mgmt=st.next_mail
        )
        st.next_mail += 1
        return f"ticket {t.id}: e-mail {note.id} from requestor {req.code}"

    def _tech_email(self) -> str:
        t = self._pick_ticket(closed=False)
        if t is None or t.requestor is None:
            return self._new_ticket()
        req, user = self.store.requestors[t.requestor], self._author(t)
        text = f"Hi {req.first},\n\n{_pick(self.rng, EMAILS_OUT)}"
        spec = self._work_note("Technician Note", text, 4)
        spec.private = False
        note = self.store.add_note(t, spec, user, t.group, email=req.email)
        return f"ticket {t.id}: e-mail {note.id} from {user.code} to {req.code}"

    def _status(self) -> str:
        t = self._pick_ticket(closed=False)
        if t is None:
            return self._new_ticket()
        new = _pick(self.rng, [s[0] for s in F.STATUSES if not s[3] and s[0] != t.status])
        user = self._author(t)
        self.store.set_status(t, new, user, self.store.now())
        return f"ticket {t.id}: status {STATUS[new][1]} by {user.code}"

    def _close(self) -> str:
        t = self._pick_ticket(closed=False)
        if t is None:
            return self._new_ticket()
        st, user = self.store, self._author(t)
        st.set_status(t, F.CLOSED_STATUS, user, st.now())
        spec = self._work_note("Ticket Resolution", _pick(self.rng, RESOLUTIONS), 3)
        note = st.add_note(t, spec, user, t.group)
        return f"ticket {t.id}: closed by {user.code} with note {note.id}"

    def _reassign(self) -> str:
        t = self._pick_ticket(closed=False)
        if t is None:
            return self._new_ticket()
        tech = _pick(self.rng, [x for x in self.store.techs.values() if x.id != t.tech])
        self.store.apply(t, Changes({"tech": tech.id}), self._author(t))
        return f"ticket {t.id}: assigned to {tech.code}"

    def _edit(self) -> str:
        t = self._pick_ticket(closed=False)
        if t is None:
            return self._new_ticket()
        draw = self.rng.random()
        if draw < 0.5:
            prio = _pick(self.rng, [p[0] for p in F.PRIORITIES if p[0] != t.priority])
            self.store.apply(t, Changes({"priority": prio}), self._author(t))
            return f"ticket {t.id}: priority {F.PRIORITIES[prio - 1][1]}"
        if draw < 0.7:
            return self._custom(t)
        summary = f"{t.summary or 'Issue'} (follow-up)"
        self.store.apply(t, Changes(own={22: summary}), self._author(t))
        return f"ticket {t.id}: summary now {summary!r}"

    def _custom(self, t: Ticket) -> str:
        """A technician sets the site or impact look-up, or clears the contract number."""
        seq = _pick(self.rng, (116, 117, 86))
        value = None if seq == 86 else _pick(self.rng, SITES if seq == 116 else IMPACTS)
        self.store.apply(t, Changes(own={seq: value}), self._author(t))
        return f"ticket {t.id}: custom field {seq} now {value!r}"

    def _reopen(self) -> str:
        t = self._pick_ticket(closed=True)
        if t is None:
            return self._new_ticket()
        user = self._author(t)
        self.store.set_status(t, F.OPEN_STATUS, user, self.store.now())
        return f"ticket {t.id}: reopened by {user.code}"

    def _delete(self) -> str:
        t = self._pick_ticket(closed=None)
        if t is None:
            return self._new_ticket()
        self.store.delete(t)
        return f"ticket {t.id}: deleted"
