"""Track-It! writes: each operation's effect at the emulator, and the next pull reading it back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import Harness
from trackit_helpers import by_route, emu_of, open_ids, ticket_row, trackit

from deskbridge.pull import engine
from deskbridge.sdk.contract import WriteOp
from deskbridge.sdk.errors import UnmappedValueError, VendorRejected
from deskbridge_connectors.trackit.connector import TrackitConnector

pytestmark = pytest.mark.asyncio
DUE = datetime(2026, 12, 24, 17, 0, tzinfo=UTC)


@pytest.fixture
def bare(tmp_path: Path) -> Iterator[Harness]:
    harness = trackit(tmp_path, tickets=30)
    yield harness
    harness.wh.close()


@pytest.fixture
async def h(bare: Harness) -> Harness:
    await bare.sync()
    return bare


@asynccontextmanager
async def connector(h: Harness) -> AsyncIterator[TrackitConnector]:
    built = engine.build_connector(h.config, h.transport)
    assert isinstance(built, TrackitConnector)
    async with built:
        yield built


async def write(
    h: Harness, op: WriteOp, ticket_id: str | None, payload: dict[str, Any]
) -> str | None:
    async with connector(h) as c:
        return await c.write(op, ticket_id, payload)


async def pull_back(h: Harness) -> None:
    await h.sync()
    h.assert_truth()


def note_rows(h: Harness, ticket_id: str) -> list[tuple[Any, ...]]:
    return h.wh.con.execute(
        "SELECT source_id, kind, visibility, author_id, body FROM notes "
        "WHERE ticket_id = ? AND deleted_at IS NULL ORDER BY source_id::INT",
        [ticket_id],
    ).fetchall()


def time_rows(h: Harness, ticket_id: str) -> list[tuple[Any, ...]]:
    return h.wh.con.execute(
        "SELECT source_id, worker_id, seconds_worked, seconds_billable, note FROM time_entries "
        "WHERE ticket_id = ? AND deleted_at IS NULL ORDER BY source_id::INT",
        [ticket_id],
    ).fetchall()


async def test_create_ticket_with_mapped_fields_and_a_description(h: Harness) -> None:
    """Create: every mapped field lands on the new ticket, the body becomes its description note."""
    emu = emu_of(h)
    new_id = await write(
        h,
        WriteOp.CREATE_TICKET,
        None,
        {
            "subject": "Docking station dead",
            "status_category": "open",
            "priority_level": "high",
            "department": "Laptop",
            "assignee_id": "technician:3",
            "requester_id": "requestor:5",
            "due_at": DUE,
            "body": "Dock shows no power LED.",
        },
    )
    assert new_id is not None
    t = emu.store.tickets[int(new_id)]
    assert (t.summary, t.status, t.priority, t.category, t.tech, t.requestor, t.due) == (
        "Docking station dead",
        1,
        2,
        2,
        3,
        5,
        DUE.timestamp(),
    )
    assert [(n.body, n.note_type, n.private) for n in t.notes] == [
        ("Dock shows no power LED.", "Ticket Description", False)
    ]
    await pull_back(h)
    assert ticket_row(h, new_id) == {
        "subject": "Docking station dead",
        "status": "Open",
        "status_category": "open",
        "priority": "2 - High",
        "priority_level": "high",
        "department": "Laptop",
        "requester_id": "requestor:5",
        "assignee_id": "technician:3",
        "deleted_at": None,
    }
    assert note_rows(h, new_id) == [
        (str(t.notes[0].id), "note", "public", "technician:1", "Dock shows no power LED.")
    ]


async def test_update_fields_writes_only_what_is_given(h: Harness) -> None:
    """Update: subject, priority, category, requestor and an unassignment; the rest stays."""
    emu = emu_of(h)
    tid = open_ids(emu)[0]
    status = emu.store.tickets[tid].status
    done = await write(
        h,
        WriteOp.UPDATE_FIELDS,
        str(tid),
        {
            "subject": "VPN drops hourly",
            "priority": "1 - Critical",
            "department": "VPN",
            "requester_id": "requestor:2",
            "assignee_id": None,
        },
    )
    assert done == str(tid)
    t = emu.store.tickets[tid]
    assert (t.summary, t.priority, t.category, t.requestor, t.tech, t.status) == (
        "VPN drops hourly",
        1,
        11,
        2,
        None,
        status,
    )
    await pull_back(h)
    row = ticket_row(h, str(tid))
    assert {
        k: row[k]
        for k in (
            "subject",
            "priority",
            "priority_level",
            "department",
            "requester_id",
            "assignee_id",
        )
    } == {
        "subject": "VPN drops hourly",
        "priority": "1 - Critical",
        "priority_level": "urgent",
        "department": "VPN",
        "requester_id": "requestor:2",
        "assignee_id": None,
    }


async def test_add_note_private_with_a_duration_is_a_note_and_a_time_entry(h: Harness) -> None:
    """A private note with 15 minutes: one private note, one billable time entry, same id."""
    emu = emu_of(h)
    tid = open_ids(emu)[1]
    note_id = await write(
        h,
        WriteOp.ADD_NOTE,
        str(tid),
        {
            "kind": "note",
            "visibility": "private",
            "body": "Checked the event logs.",
            "author_id": "technician:1",
            "seconds_worked": 900,
        },
    )
    assert note_id is not None
    n = emu.store.notes[int(note_id)]
    assert (n.ticket_id, n.body, n.private, n.duration, n.note_type, n.activity) == (
        tid,
        "Checked the event logs.",
        True,
        900,
        "Technician Note",
        1,
    )
    await pull_back(h)
    assert note_rows(h, str(tid))[-1] == (
        note_id,
        "note",
        "private",
        "technician:1",
        "Checked the event logs.",
    )
    assert time_rows(h, str(tid))[-1] == (
        note_id,
        "technician:1",
        900,
        900,
        "Checked the event logs.",
    )


async def test_add_time_entry_is_a_private_note_with_its_duration(h: Harness) -> None:
    """A time entry is a note carrying the duration; what the server sets itself is left out."""
    emu = emu_of(h)
    tid = open_ids(emu)[2]
    entry_id = await write(
        h,
        WriteOp.ADD_TIME_ENTRY,
        str(tid),
        {
            "seconds_worked": 5400,
            "seconds_billable": 0,
            "note": "On-site visit",
            "worker_id": None,
            "work_time": DUE,
            "worker_name": "Someone Else",
        },
    )
    assert entry_id is not None
    n = emu.store.notes[int(entry_id)]
    assert (n.body, n.duration, n.private, n.track_time) == ("On-site visit", 5400, True, True)
    await pull_back(h)
    # the server dates the note now and bills all of its duration
    assert time_rows(h, str(tid))[-1] == (entry_id, "technician:1", 5400, 5400, "On-site visit")


async def test_change_status_with_its_note(h: Harness) -> None:
    """ChangeStatus: the new status by name, and the note explaining it."""
    emu = emu_of(h)
    tid = open_ids(emu)[3]
    note_id = await write(
        h,
        WriteOp.CHANGE_STATUS,
        str(tid),
        {
            "status_category": "pending",
            "body": "Waiting on the user.",
            "visibility": "public",
        },
    )
    t = emu.store.tickets[tid]
    assert (t.status, t.notes[-1].body, str(t.notes[-1].id)) == (6, "Waiting on the user.", note_id)
    await pull_back(h)
    assert {k: v for k, v in ticket_row(h, str(tid)).items() if k.startswith("status")} == {
        "status": "Paused",
        "status_category": "pending",
    }
    assert note_rows(h, str(tid))[-1] == (
        note_id,
        "note",
        "public",
        "technician:1",
        "Waiting on the user.",
    )


async def test_close_with_a_resolution_note(h: Harness) -> None:
    """Close: the default closed status, the close stamp, and the resolution note."""
    emu = emu_of(h)
    tid = open_ids(emu)[4]
    note_id = await write(
        h,
        WriteOp.CLOSE_TICKET,
        str(tid),
        {
            "body": "Replaced the dock.",
            "note_type": "Ticket Resolution",
            "activity_code": "Completed Work",
        },
    )
    t = emu.store.tickets[tid]
    assert (t.status, t.closed_by, t.notes[-1].note_type, str(t.notes[-1].id)) == (
        2,
        1,
        "Ticket Resolution",
        note_id,
    )
    await pull_back(h)
    assert ticket_row(h, str(tid))["status_category"] == "closed"
    assert h.wh.con.execute(
        "SELECT resolved_at IS NOT NULL FROM tickets WHERE source_id = ?", [str(tid)]
    ).fetchone() == (True,)


async def test_close_without_a_note_returns_the_ticket(h: Harness) -> None:
    """Close with an empty payload sends {} and returns the ticket id."""
    emu = emu_of(h)
    tid = open_ids(emu)[5]
    assert await write(h, WriteOp.CLOSE_TICKET, str(tid), {}) == str(tid)
    assert emu.store.tickets[tid].status == 2
    await pull_back(h)


async def test_delete_removes_the_ticket_and_its_children(h: Harness) -> None:
    """Delete: the ticket is gone at the vendor; the next pull marks it and its notes deleted."""
    emu = emu_of(h)
    tid = open_ids(emu)[0]
    assert await write(h, WriteOp.DELETE_TICKET, str(tid), {}) is None
    assert tid not in emu.store.tickets
    await pull_back(h)
    assert ticket_row(h, str(tid))["deleted_at"] is not None
    assert note_rows(h, str(tid)) == []


@pytest.mark.parametrize(
    ("op", "payload", "error", "message"),
    [
        (WriteOp.ADD_NOTE, {"kind": "reply", "body": "Hi"}, VendorRejected, "cannot send e-mail"),
        (WriteOp.ADD_NOTE, {"body": ""}, VendorRejected, "needs a body or seconds_worked"),
        (
            WriteOp.ADD_NOTE,
            {"body": "x", "note_type": ""},
            VendorRejected,
            "Note Type and an Activity Code",
        ),
        (
            WriteOp.ADD_NOTE,
            {"body": "x", "activity_code": ""},
            VendorRejected,
            "Note Type and an Activity Code",
        ),
        (
            WriteOp.ADD_NOTE,
            {"body": "x", "note_type": "Memo"},
            UnmappedValueError,
            "known values: Technician Note",
        ),
        (
            WriteOp.ADD_NOTE,
            {"body": "x", "author_id": "requestor:3"},
            VendorRejected,
            "connection's technician",
        ),
        (
            WriteOp.CHANGE_STATUS,
            {"status": "Reopened"},
            UnmappedValueError,
            "known values: Cancelled, Closed",
        ),
        (
            WriteOp.CHANGE_STATUS,
            {"body": "why"},
            VendorRejected,
            "needs 'status' or 'status_category'",
        ),
        (
            WriteOp.UPDATE_FIELDS,
            {"subject": "x", "tags": "vip"},
            UnmappedValueError,
            "payload key 'tags'",
        ),
        (WriteOp.UPDATE_FIELDS, {}, VendorRejected, "no ticket field to write"),
        (WriteOp.DELETE_TICKET, {}, VendorRejected, "needs a ticket id"),
    ],
)
async def test_vendor_rules_fail_before_any_request(
    bare: Harness, op: WriteOp, payload: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Payloads breaking Track-It's rules fail with a clear error and send nothing, not even a login."""
    emu = emu_of(bare)
    with pytest.raises(error, match=message):
        await write(bare, op, None if op is WriteOp.DELETE_TICKET else "3", payload)
    assert emu.total_requests == 0


async def test_vendor_refusals_surface_with_the_servers_reason(bare: Harness) -> None:
    """Rules only the server knows (its activity codes) come back as VendorRejected with its message."""
    with pytest.raises(VendorRejected, match="refused: Invalid Activity Code: Juggling"):
        await write(bare, WriteOp.ADD_NOTE, "3", {"body": "x", "activity_code": "Juggling"})


async def test_renamed_display_names_between_runs_keep_reads_and_writes_right(h: Harness) -> None:
    """Summary and Priority renamed: the pull still reads them by sequence and writes use the new names."""
    emu = emu_of(h)
    emu.rename_field(22, "Short Description")
    emu.rename_field(107, "Urgency")
    emu.mutate(10)
    await pull_back(h)
    tid = open_ids(emu)[0]
    await write(
        h,
        WriteOp.UPDATE_FIELDS,
        str(tid),
        {"subject": "Renamed, still written", "priority": "4 - Low"},
    )
    t = emu.store.tickets[tid]
    assert (t.summary, t.priority) == ("Renamed, still written", 4)
    await pull_back(h)
    assert {k: ticket_row(h, str(tid))[k] for k in ("subject", "priority")} == {
        "subject": "Renamed, still written",
        "priority": "4 - Low",
    }


async def test_a_rename_after_names_were_learned_is_caught_by_one_retry(h: Harness) -> None:
    """Names learned, then the field renamed: the refused write refreshes the names once and succeeds."""
    emu = emu_of(h)
    tid = open_ids(emu)[0]
    async with connector(h) as c:
        await c.write(WriteOp.UPDATE_FIELDS, str(tid), {"subject": "First"})
        emu.rename_field(22, "Headline")
        emu.reset_counts()
        await c.write(WriteOp.UPDATE_FIELDS, str(tid), {"subject": "Second"})
    assert emu.store.tickets[tid].summary == "Second"
    assert by_route(emu) == {"ticket": 2, "fields": 1}  # refused, names re-read, resent
