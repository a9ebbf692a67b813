"""M4 pulls against the emulator: request counts per pass, what each pass catches, resume."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Harness, make_harness

from deskbridge.pull import engine
from deskbridge.sandbox import sandbox_connection
from deskbridge.sdk.errors import DeskbridgeError, PermissionDenied
from deskbridge.testing import CutAfter
from deskbridge.warehouse.store import Warehouse
from deskbridge_connectors.m4.emulator import M4Emulator
from deskbridge_connectors.m4.emulator.store import SERVER_UTC_OFFSET_MIN, TICKS_PER_S, Note

pytestmark = pytest.mark.asyncio
TICKETS = 60
QUIET = {"reconcile_open_every": "24h", "reconcile_all_every": "24h"}
NOTES, TIME = "TicketNote/GetTicketNotes", "TimeEntry/GetTimeEntriesByTicket/"


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    harness = make_harness("m4", tmp_path, tickets=TICKETS)
    yield harness
    harness.wh.close()


def with_options(h: Harness, **options: Any) -> None:
    h.config = h.config.model_copy(update={"options": options})


def calls(h: Harness) -> Counter[str]:
    """Emulator requests by method route, IDs folded: ``{"TimeEntry/GetTimeEntriesByTicket/": 60}``."""
    out: Counter[str] = Counter()
    for path, n in h.emulator.requests.items():
        route = path.split("/Workforce/", 1)[1]
        out[route.rstrip("0123456789")] += n
    return out


def sweep_windows(emu: M4Emulator, width_days: int = 30) -> int:
    """Windows of the note sweep: from the first TimeOpened in ``width_days`` steps to now."""
    first = (
        min(t.opened for t in emu.data.tickets.values()) / TICKS_PER_S - SERVER_UTC_OFFSET_MIN * 60
    )
    return math.ceil((datetime.now(UTC).timestamp() - first) / (width_days * 86400))


def open_ids(emu: M4Emulator) -> set[int]:
    return {t.id for t in emu.data.tickets.values() if t.state not in (5, 6)}


def server_now() -> int:
    """The emulator server's local time now, as stored ticks."""
    return (int(datetime.now(UTC).timestamp() * 1000) + SERVER_UTC_OFFSET_MIN * 60_000) * 10_000


async def test_first_run_cost(h: Harness) -> None:
    """A first run: one GetTickets, the note sweep, and one time-entry read per ticket."""
    windows = sweep_windows(h.emulator)
    result = await h.sync()
    h.assert_truth()
    assert calls(h) == {"Ticket/GetTickets": 1, NOTES: windows, TIME: TICKETS}
    assert result.requests == {"incremental": 1 + windows + TICKETS}
    assert h.runs()[-1][2:4] == (1 + windows + TICKETS, 0)


async def test_default_schedule_reconciles_everything_each_run(h: Harness) -> None:
    """By default every run repeats the sweep and the time-entry reads, counted as reconcile."""
    await h.sync()
    h.emulator.reset_counts()
    result = await h.sync()
    windows = sweep_windows(h.emulator)
    assert calls(h) == {"Ticket/GetTickets": 1, NOTES: windows, TIME: TICKETS}
    assert result.requests == {"incremental": 1, "reconcile": windows + TICKETS}
    assert {
        k: v for k, v in result.counts.items() if k.endswith((".changed", ".deleted")) and v
    } == {}


async def test_quiet_rerun_costs_two_requests(h: Harness) -> None:
    """With the passes not due, an unchanged helpdesk costs GetTickets plus one note window."""
    with_options(h, **QUIET)
    await h.sync()
    h.emulator.reset_counts()
    result = await h.sync()
    assert calls(h) == {"Ticket/GetTickets": 1, NOTES: 1}
    assert result.requests == {"incremental": 2}
    h.assert_truth()


async def test_changed_tickets_are_reread(h: Harness) -> None:
    """Tickets whose snapshot hash changed cost two reads each (notes and time entries);
    a ticket the snapshot lacks costs one read that proves it gone."""
    with_options(h, **QUIET)
    await h.sync()
    before = {t.id: (t.state, t.priority) for t in h.emulator.data.tickets.values()}
    h.emulator.mutate(30)
    after = {t.id: (t.state, t.priority) for t in h.emulator.data.tickets.values()}
    changed = {i for i, v in after.items() if before.get(i) != v}
    gone = set(before) - set(after)
    h.emulator.reset_counts()
    result = await h.sync()
    assert result.requests == {"incremental": 2, "reconcile": 2 * len(changed) + len(gone)}
    reread = {int(p.rsplit("/", 1)[1]) for p in h.emulator.requests if "ByTicket/" in p}
    assert reread == changed


async def test_open_pass_costs_two_reads_per_open_ticket(h: Harness) -> None:
    """The open pass re-reads notes and time entries of every open ticket, once each."""
    with_options(h, **QUIET)
    await h.sync()
    with_options(h, **{**QUIET, "reconcile_open_every": "0s"})
    h.emulator.reset_counts()
    result = await h.sync()
    opened = len(open_ids(h.emulator))
    assert calls(h) == {
        "Ticket/GetTickets": 1,
        NOTES: 1,
        TIME: opened,
        "TicketNote/GetTicketNotesByTicket/": opened,
    }
    assert result.requests == {"incremental": 2, "reconcile": 2 * opened}


async def test_what_each_pass_catches(h: Harness) -> None:
    """Window: new notes. Changed tickets: their backdated notes. All pass: edits, deletes, time."""
    with_options(h, **QUIET)
    await h.sync()
    data = h.emulator.data
    closed = [t for t in data.tickets.values() if t.state == 5 and data.entries_by_ticket[t.id]]
    quiet, changed, purged = closed[:3]
    edited, removed = data.notes_by_ticket[quiet.id][0], data.notes_by_ticket[quiet.id][-1]
    entry = data.entries_by_ticket[quiet.id][0]
    data.update_note(data.notes[edited], text="Corrected after the fact")
    data.delete_note(removed)
    data.change_entry(data.entries[entry], minutes=999)
    late = data.add_note(Note(0, quiet.id, "NOTE", "Late remark", None, "jdoe", server_now()))
    data.change_ticket(changed, priority=4 if changed.priority != 4 else 1)
    backdated = data.add_note(Note(0, changed.id, "LOG", "Backdated", "", "jdoe", changed.opened))
    data.purge_ticket(purged)
    await h.sync()
    assert live(h, "notes", late.id, "body") == "Late remark"  # the window
    assert live(h, "notes", backdated.id, "body") == "Backdated"  # changed ticket re-read
    assert live(h, "tickets", purged.id, "source_id") is None  # the snapshot
    assert h.wh.con.execute(
        "SELECT count(*) FROM notes WHERE ticket_id = ? AND deleted_at IS NULL", [str(purged.id)]
    ).fetchone() == (0,)
    assert live(h, "notes", edited, "body") != "Corrected after the fact"  # not yet
    assert live(h, "notes", removed, "source_id") == str(removed)  # not yet
    assert live(h, "time_entries", entry, "seconds_worked") != 999 * 60  # not yet
    with_options(h, **{**QUIET, "reconcile_all_every": "0s"})
    await h.sync()
    h.assert_truth()


def live(h: Harness, table: str, source_id: int, column: str) -> Any:
    """A column of a live warehouse row, or None when there is none."""
    row = h.wh.con.execute(
        f"SELECT {column} FROM {table} WHERE source_id = ? AND deleted_at IS NULL", [str(source_id)]
    ).fetchone()
    return row[0] if row else None


async def test_window_overlaps_by_the_lookback(h: Harness) -> None:
    """A note dated inside the lookback below the watermark is caught; one dated before it is not."""
    with_options(h, **QUIET, lookback="10m")
    await h.sync()
    data = h.emulator.data
    ticket = next(t for t in data.tickets.values() if t.state == 5)
    minute = 60 * TICKS_PER_S
    inside = data.add_note(
        Note(0, ticket.id, "NOTE", "inside", None, "jdoe", server_now() - 5 * minute)
    )
    before = data.add_note(
        Note(0, ticket.id, "NOTE", "before", None, "jdoe", server_now() - 20 * minute)
    )
    await h.sync()
    assert live(h, "notes", inside.id, "body") == "inside"
    assert live(h, "notes", before.id, "body") is None


async def test_interrupted_pass_resumes_as_a_full_lap(h: Harness) -> None:
    """A first run cut mid-way through the time entries resumes after the last committed chunk,
    then wraps around and sweeps the notes again: edits kept at their timestamp, and deletions,
    on tickets below the resume point are in the warehouse after the resumed run."""
    with_options(h, reconcile_chunk=10)
    windows = sweep_windows(h.emulator)
    real = h.transport
    h.transport = CutAfter(real, 1 + windows + 35)
    with pytest.raises(DeskbridgeError, match="503"):
        await h.sync(commit_rows=1)
    state = dict(h.states())
    assert '"after": 30' in state["tickets"] and '"swept": true' in state["tickets"]
    data = h.emulator.data
    below = [
        t
        for t in sorted(data.tickets)
        if t <= 30 and len(data.notes_by_ticket[t]) > 1 and data.entries_by_ticket[t]
    ]
    edited, removed = data.notes_by_ticket[below[0]][0], data.notes_by_ticket[below[0]][-1]
    entry = data.entries_by_ticket[below[1]][0]
    data.update_note(data.notes[edited], text="Corrected in place")  # keeps its ts
    data.delete_note(removed)
    data.change_entry(data.entries[entry], minutes=777)
    h.transport = real
    h.emulator.reset_counts()
    result = await h.sync()
    confirm = {
        "Ticket/GetTicket/": 1,
        "TicketNote/GetTicketNotesByTicket/": 1,
    }  # proves the note gone
    assert calls(h) == {"Ticket/GetTickets": 1, NOTES: windows, TIME: TICKETS + 1, **confirm}
    assert result.requests == {"incremental": 1 + windows + TICKETS, "reconcile": 3}
    assert live(h, "notes", edited, "body") == "Corrected in place"
    assert live(h, "notes", removed, "source_id") is None
    assert live(h, "time_entries", entry, "seconds_worked") == 777 * 60
    h.assert_truth()
    assert '"current": null' in dict(h.states())["tickets"]


async def test_unlicensed_controller_is_permission_denied(tmp_path: Path) -> None:
    """An instance without the TimeEntry license fails with M4's "Not Licensed", status 403."""
    emulator = M4Emulator(seed=3, tickets=10, licenses=["Ticket", "TicketNote"])
    config = sandbox_connection(emulator, "http://testserver", name="m4_lic", retries=0)
    h = Harness(
        emulator, config, Warehouse(tmp_path / "w.duckdb"), httpx.ASGITransport(app=emulator.app)
    )
    with pytest.raises(PermissionDenied, match="Not Licensed") as info:
        await h.sync()
    assert (info.value.status, info.value.resource) == (403, "time_entries")
    h.wh.close()


async def test_server_timezone_option_applies_to_times_without_offset(h: Harness) -> None:
    """Times without an offset are read in the configured zone: '+00:00' shifts them by 5 hours."""
    await h.sync()
    default = dict(h.wh.con.execute("SELECT source_id, created_at FROM tickets").fetchall())
    ticket = h.emulator.data.tickets[1]
    wall = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ticket.opened // 10)
    assert default["1"] == wall - timedelta(minutes=SERVER_UTC_OFFSET_MIN)
    with_options(h, server_timezone="+00:00")
    await h.sync(full_refresh=True)
    shifted = dict(h.wh.con.execute("SELECT source_id, created_at FROM tickets").fetchall())
    assert {k: (default[k] - v).total_seconds() for k, v in shifted.items()} == {
        k: 5 * 3600.0 for k in default
    }


async def test_check_is_one_cheap_call(h: Harness) -> None:
    """check() proves credentials and license with one Specification request."""
    async with engine.build_connector(h.config, h.transport) as connector:
        summary = await connector.check()
    assert summary == "authenticated; TicketNote answers with 5 documented methods"
    assert calls(h) == {"TicketNote/Specification": 1}


async def test_read_tickets_rereads_with_children(h: Harness) -> None:
    """read_tickets returns the tickets with all notes and time entries, and marks missing ones deleted."""
    data = h.emulator.data
    ticket = next(t for t in data.tickets.values() if data.entries_by_ticket[t.id])
    purged = next(t for t in data.tickets.values() if t.state == 6)
    data.purge_ticket(purged)
    async with engine.build_connector(h.config, h.transport) as connector:
        batch = await connector.read_tickets([str(ticket.id), str(purged.id)])
    assert [r["source_id"] for r in batch.rows["tickets"]] == [str(ticket.id)]
    assert (
        sorted(int(r["source_id"]) for r in batch.rows["notes"]) == data.notes_by_ticket[ticket.id]
    )
    assert (
        sorted(int(r["source_id"]) for r in batch.rows["time_entries"])
        == data.entries_by_ticket[ticket.id]
    )
    assert batch.deleted == {"tickets": [str(purged.id)]}
    assert [(s.entity, s.ticket_ids) for s in batch.complete] == [
        ("time_entries", (str(ticket.id),)),
        ("notes", (str(ticket.id),)),
    ]
    assert connector.request_counts == {"reconcile": 4}
