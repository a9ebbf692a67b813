"""Helpers shared by the Track-It! tests: a harness, request counts by route, emulator edits."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from conftest import Harness, make_harness

from deskbridge_connectors.trackit.emulator import TrackitEmulator
from deskbridge_connectors.trackit.emulator.fields import Changes, NoteSpec
from deskbridge_connectors.trackit.emulator.store import STATUS, Ticket

ROUTES = (
    ("token", re.compile(r"/token$", re.IGNORECASE)),
    ("fields", re.compile(r"/module/\d+/fields$", re.IGNORECASE)),
    ("ticket", re.compile(r"/tickets/\d+$", re.IGNORECASE)),
    ("notes", re.compile(r"/tickets/\d+/notes/", re.IGNORECASE)),
    ("attachments", re.compile(r"/tickets/\d+/attachments/", re.IGNORECASE)),
    ("assignments", re.compile(r"/tickets/\d+/assignments/", re.IGNORECASE)),
)


def trackit(tmp_path: Path, tickets: int = 50, **options: Any) -> Harness:
    """A Track-It harness; closed tickets are reconciled every run unless a test says otherwise."""
    options.setdefault("closed_reconcile_every", "0s")
    return make_harness("trackit", tmp_path, tickets=tickets, options=options)


def emu_of(h: Harness) -> TrackitEmulator:
    assert isinstance(h.emulator, TrackitEmulator)
    return h.emulator


def by_route(emu: TrackitEmulator) -> dict[str, int]:
    """The emulator's request counter summed per kind of route."""
    out: Counter[str] = Counter()
    for path, n in emu.requests.items():
        kind = next((name for name, pattern in ROUTES if pattern.search(path)), path)
        out[kind] += n
    return dict(out)


def is_closed(t: Ticket) -> bool:
    return bool(STATUS[t.status][3])


def open_ids(emu: TrackitEmulator) -> list[int]:
    return sorted(t.id for t in emu.store.tickets.values() if not is_closed(t))


def closed_ids(emu: TrackitEmulator) -> list[int]:
    return sorted(t.id for t in emu.store.tickets.values() if is_closed(t))


def new_ticket(emu: TrackitEmulator, summary: str) -> Ticket:
    """A ticket created as a technician would, with its description note."""
    store, tech = emu.store, emu.store.techs[1]
    t = store.create(Changes({"requestor": 1, "category": 2}, {22: summary}), tech, tech.groups[0])
    store.add_note(t, NoteSpec(summary, "Ticket Description", 1), tech, t.group)
    return t


def add_note(emu: TrackitEmulator, ticket_id: int, text: str, seconds: int = 0) -> None:
    t, tech = emu.store.tickets[ticket_id], emu.store.techs[2]
    emu.store.add_note(t, NoteSpec(text, "Technician Note", 1, seconds), tech, t.group)


def edit(emu: TrackitEmulator, ticket_id: int, summary: str) -> None:
    emu.store.apply(emu.store.tickets[ticket_id], Changes(own={22: summary}), emu.store.techs[2])


def set_status(emu: TrackitEmulator, ticket_id: int, status: int) -> None:
    emu.store.set_status(emu.store.tickets[ticket_id], status, emu.store.techs[2], emu.store.now())


def ticket_row(h: Harness, ticket_id: str) -> dict[str, Any]:
    """The warehouse's ticket row, canonical columns and deleted_at."""
    cols = (
        "subject",
        "status",
        "status_category",
        "priority",
        "priority_level",
        "department",
        "requester_id",
        "assignee_id",
        "deleted_at",
    )
    row = h.wh.con.execute(
        f"SELECT {', '.join(cols)} FROM tickets WHERE connection = ? AND source_id = ?",
        [h.config.name, ticket_id],
    ).fetchone()
    assert row is not None, f"ticket {ticket_id} not in the warehouse"
    return dict(zip(cols, row, strict=True))
