"""WHMCS writes: each operation changes the emulator as expected, and the next pull reads it back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Harness, make_harness

from deskbridge.pull.engine import build_connector
from deskbridge.sdk.contract import WriteOp
from deskbridge.sdk.errors import NotFound, UnmappedValueError, VendorRejected
from deskbridge_connectors.whmcs.emulator.store import STATUS_BY_TITLE, Ticket

NOTE_COLUMNS = "ticket_id, kind, visibility, author_id, author_kind, body"
TICKET_COLUMNS = "subject, status, status_category, priority, priority_level, department, requester_id, assignee_id"


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    harness = make_harness("whmcs", tmp_path, tickets=60)
    yield harness
    harness.wh.close()


async def write(
    h: Harness, op: WriteOp, ticket_id: str | None, payload: dict[str, Any]
) -> str | None:
    async with build_connector(h.config, h.transport) as connector:
        return await connector.write(op, ticket_id, payload)


def pick(h: Harness, status: str = "Open") -> Ticket:
    return next(t for t in h.emulator.store.tickets.values() if t.status == status and t.userid)


def note(h: Harness, source_id: str) -> tuple[Any, ...] | None:
    sql = f"SELECT {NOTE_COLUMNS} FROM notes WHERE source_id = ? AND deleted_at IS NULL"
    return h.wh.con.execute(sql, [source_id]).fetchone()


def ticket(h: Harness, source_id: str) -> tuple[Any, ...] | None:
    sql = f"SELECT {TICKET_COLUMNS} FROM tickets WHERE source_id = ? AND deleted_at IS NULL"
    return h.wh.con.execute(sql, [source_id]).fetchone()


async def pull(h: Harness) -> None:
    await h.sync()
    h.assert_truth()


async def test_reply_as_admin(h: Harness) -> None:
    """A staff reply: AddTicketReply by admin username, id found by re-reading, pulled back as staff."""
    await pull(h)
    t = pick(h)
    created = await write(
        h,
        WriteOp.ADD_NOTE,
        str(t.id),
        {"kind": "reply", "body": "Fixed.\r\nBye", "author_id": "admin:2"},
    )
    r = h.emulator.store.replies[t.replies[-1]]
    assert (created, r.admin, r.message, t.status) == (
        f"reply:{r.id}",
        h.emulator.store.admins[2].full,
        "Fixed.\r\nBye",
        "Answered",
    )
    await pull(h)
    assert note(h, created) == (str(t.id), "reply", "public", "admin:2", "staff", "Fixed.\r\nBye")  # type: ignore[arg-type]


async def test_reply_as_client_and_as_guest_with_status(h: Harness) -> None:
    """Client and guest replies; a canonical status after the reply is sent as its vendor label."""
    await pull(h)
    t = pick(h)
    by_client = await write(
        h,
        WriteOp.ADD_NOTE,
        str(t.id),
        {"kind": "reply", "body": "Still broken", "author_id": f"client:{t.userid}"},
    )
    payload = {
        "kind": "reply",
        "body": "Me too",
        "author_id": "guest:Pat@Example.org",
        "author_name": "Pat",
        "status": "pending",
    }
    by_guest = await write(h, WriteOp.ADD_NOTE, str(t.id), payload)
    assert t.status == "Answered"
    await pull(h)
    assert note(h, by_client) == (
        str(t.id),
        "reply",
        "public",
        f"client:{t.userid}",
        "requester",
        "Still broken",
    )  # type: ignore[arg-type]
    assert note(h, by_guest) == (
        str(t.id),
        "reply",
        "public",
        "guest:pat@example.org",
        "requester",
        "Me too",
    )  # type: ignore[arg-type]


async def test_private_note(h: Harness) -> None:
    """A note: AddTicketNote by the API admin, private, pulled back by the reconcile."""
    await pull(h)
    t = pick(h)
    created = await write(
        h,
        WriteOp.ADD_NOTE,
        str(t.id),
        {"kind": "note", "visibility": "private", "body": "Call back"},
    )
    assert created == f"note:{t.notes[-1]}"
    await pull(h)
    assert note(h, created) == (str(t.id), "note", "private", "admin:1", "staff", "Call back")  # type: ignore[arg-type]


async def test_update_fields_and_flag(h: Harness) -> None:
    """UpdateTicket: canonical status and priority, department by name, flag to an admin and back."""
    await pull(h)
    t = pick(h)
    payload = {
        "subject": "New subject",
        "status": "pending",
        "priority": "high",
        "department": "Billing",
        "assignee_id": "admin:3",
    }
    assert await write(h, WriteOp.UPDATE_FIELDS, str(t.id), payload) == str(t.id)
    assert (t.subject, t.status, t.priority, t.deptid, t.flag) == (
        "New subject",
        "Answered",
        "High",
        2,
        3,
    )
    await pull(h)
    row = (
        "New subject",
        "Answered",
        "pending",
        "High",
        "high",
        "Billing",
        f"client:{t.userid}",
        "admin:3",
    )
    assert ticket(h, str(t.id)) == row
    await write(h, WriteOp.UPDATE_FIELDS, str(t.id), {"assignee_id": None})
    assert t.flag == 0
    await pull(h)
    assert ticket(h, str(t.id)) == (*row[:-1], None)


async def test_change_status_and_close(h: Harness) -> None:
    """CHANGE_STATUS takes a vendor label; CLOSE_TICKET closes; the reconcile reads both back."""
    await pull(h)
    t = pick(h)
    await write(h, WriteOp.CHANGE_STATUS, str(t.id), {"status": "On Hold"})
    assert t.status == "On Hold"
    await pull(h)
    await write(h, WriteOp.CLOSE_TICKET, str(t.id), {})
    assert t.status == "Closed"
    await pull(h)
    assert ticket(h, str(t.id))[1:3] == ("Closed", "closed")  # type: ignore[index]


async def test_create_ticket_for_a_client_with_status(h: Harness) -> None:
    """OpenTicket for a client; a status OpenTicket cannot set follows with UpdateTicket."""
    await pull(h)
    payload = {
        "subject": "VPN down",
        "body": "Since 9am",
        "department": "Technical Support",
        "priority": "low",
        "requester_id": "client:4",
        "status": "In Progress",
    }
    created = await write(h, WriteOp.CREATE_TICKET, None, payload)
    t = h.emulator.store.tickets[int(created)]  # type: ignore[arg-type]
    assert (t.subject, t.message, t.deptid, t.priority, t.userid, t.status) == (
        "VPN down",
        "Since 9am",
        1,
        "Low",
        4,
        "In Progress",
    )
    await pull(h)
    assert ticket(h, created) == (
        "VPN down",
        "In Progress",
        "open",
        "Low",
        "low",
        "Technical Support",
        "client:4",
        None,
    )  # type: ignore[arg-type]
    assert note(h, f"message:{created}") == (
        created,
        "reply",
        "public",
        "client:4",
        "requester",
        "Since 9am",
    )


async def test_create_ticket_for_a_guest(h: Harness) -> None:
    """OpenTicket for a non-client: name and e-mail; the guest shows up in people."""
    await pull(h)
    payload = {
        "subject": "Pre-sales",
        "body": "Prices?",
        "department_id": "3",
        "requester_name": "Lee",
        "requester_email": "lee@shop.test",
    }
    created = await write(h, WriteOp.CREATE_TICKET, None, payload)
    await pull(h)
    assert ticket(h, created)[-2] == "guest:lee@shop.test"  # type: ignore[arg-type,index]


async def test_delete_ticket(h: Harness) -> None:
    """DeleteTicket: the ticket and its notes are marked deleted by the next pull."""
    await pull(h)
    store = h.emulator.store
    t = next(
        t
        for t in store.tickets.values()
        if STATUS_BY_TITLE[t.status].active
        and t.userid
        and sum(o.userid == t.userid for o in store.tickets.values()) > 1
    )
    assert await write(h, WriteOp.DELETE_TICKET, str(t.id), {}) is None
    assert t.id not in store.tickets
    await pull(h)
    assert ticket(h, str(t.id)) is None and note(h, f"message:{t.id}") is None


async def test_delete_reply_and_note(h: Harness) -> None:
    """DELETE_NOTE picks DeleteTicketReply or DeleteTicketNote from the source id prefix."""
    await pull(h)
    store = h.emulator.store
    t = next(t for t in store.tickets.values() if t.replies and t.notes)
    reply_id, note_id = f"reply:{t.replies[0]}", f"note:{t.notes[0]}"
    await write(h, WriteOp.DELETE_NOTE, str(t.id), {"source_id": reply_id})
    await write(h, WriteOp.DELETE_NOTE, str(t.id), {"source_id": note_id})
    await pull(h)
    assert note(h, reply_id) is None and note(h, note_id) is None
    with pytest.raises(VendorRejected, match="deletes the opening message only with its ticket"):
        await write(h, WriteOp.DELETE_NOTE, str(t.id), {"source_id": f"message:{t.id}"})


async def test_edit_reply_and_opening_message(h: Harness) -> None:
    """UPDATE_NOTE: UpdateTicketReply for a reply, UpdateTicket message for the opening one."""
    await pull(h)
    t = next(t for t in h.emulator.store.tickets.values() if t.replies)
    reply_id = f"reply:{t.replies[0]}"
    assert (
        await write(h, WriteOp.UPDATE_NOTE, str(t.id), {"source_id": reply_id, "body": "Edited"})
        == reply_id
    )
    await write(
        h,
        WriteOp.UPDATE_NOTE,
        str(t.id),
        {"source_id": f"message:{t.id}", "body": "Opening, edited"},
    )
    await pull(h)
    assert note(h, reply_id)[-1] == "Edited" and note(h, f"message:{t.id}")[-1] == "Opening, edited"  # type: ignore[index]


async def test_vendor_errors_are_verbatim(h: Harness) -> None:
    """result=error messages reach the caller as WHMCS wrote them."""
    with pytest.raises(NotFound, match="whmcs UpdateTicket record 999999: Ticket ID Not Found"):
        await write(h, WriteOp.CHANGE_STATUS, "999999", {"status": "Closed"})
    with pytest.raises(NotFound, match="Note ID Not Found"):
        await write(h, WriteOp.DELETE_NOTE, "1", {"source_id": "note:999999"})
    other = next(t for t in h.emulator.store.tickets.values() if t.id != 1 and t.replies)
    with pytest.raises(NotFound, match="Reply ID Not Found"):
        await write(h, WriteOp.DELETE_NOTE, "1", {"source_id": f"reply:{other.replies[0]}"})


async def test_rules_checked_before_sending(h: Harness) -> None:
    """Unmapped values, empty bodies and authorless replies fail before any request is sent."""
    t = str(pick(h).id)
    with pytest.raises(UnmappedValueError, match="known values: Answered, Closed, Customer-Reply"):
        await write(h, WriteOp.CHANGE_STATUS, t, {"status": "Waiting"})
    with pytest.raises(UnmappedValueError, match="no mapping for whmcs priority 'urgent'"):
        await write(h, WriteOp.UPDATE_FIELDS, t, {"priority": "urgent"})
    with pytest.raises(VendorRejected, match="Message is required"):
        await write(h, WriteOp.ADD_NOTE, t, {"kind": "note", "body": "  "})
    with pytest.raises(VendorRejected, match="a reply needs author_id"):
        await write(h, WriteOp.ADD_NOTE, t, {"kind": "reply", "body": "Hi"})
    with pytest.raises(VendorRejected, match="replies are always public"):
        await write(
            h,
            WriteOp.ADD_NOTE,
            t,
            {"kind": "reply", "visibility": "private", "body": "Hi", "author_id": "admin:1"},
        )
    assert h.emulator.total_requests == 0
    with pytest.raises(
        UnmappedValueError,
        match="no mapping for whmcs department 'Legal'; known values: Abuse, Billing",
    ):
        await write(h, WriteOp.UPDATE_FIELDS, t, {"department": "Legal"})
