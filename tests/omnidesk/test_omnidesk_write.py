"""Omnidesk writes: each lands in the emulator as expected and the next pull reads it back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Harness, make_harness

from deskbridge.pull.engine import build_connector
from deskbridge.sdk.connection import ConnectionConfig
from deskbridge.sdk.contract import WriteOp
from deskbridge.sdk.errors import PermissionDenied, UnmappedValueError, VendorRejected
from deskbridge_connectors.omnidesk.connector import OmnideskConnector
from deskbridge_connectors.omnidesk.emulator import PERMISSIONS, OmnideskEmulator

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    """A synced harness for writes that land."""
    harness = make_harness("omnidesk", tmp_path, tickets=20)
    await harness.sync()
    yield harness
    harness.wh.close()


@pytest.fixture(scope="module")
def refused(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """One harness shared by writes that must be refused (they change nothing)."""
    harness = make_harness("omnidesk", tmp_path_factory.mktemp("refused"), tickets=20)
    yield harness
    harness.wh.close()


def emulator(h: Harness) -> OmnideskEmulator:
    assert isinstance(h.emulator, OmnideskEmulator)
    return h.emulator


def connector(h: Harness, config: ConnectionConfig | None = None) -> OmnideskConnector:
    built = build_connector(config or h.config, h.transport)
    assert isinstance(built, OmnideskConnector)
    return built


async def write(h: Harness, op: WriteOp, ticket_id: Any, payload: dict[str, Any]) -> str | None:
    async with connector(h) as c:
        assert isinstance(c, OmnideskConnector)
        return await c.write(op, ticket_id, payload)


def open_ticket(emu: OmnideskEmulator) -> int:
    return next(
        t.id for t in reversed(emu.data.tickets.values()) if t.status == "open" and t.customer_id
    )


def ticket_row(h: Harness, tid: object) -> tuple[Any, ...]:
    return h.wh.con.execute(
        "SELECT subject, status, status_category, priority, priority_level, department, "
        "deleted_at IS NULL FROM tickets WHERE source_id = ?",
        [str(tid)],
    ).fetchone()


async def pulled(h: Harness) -> None:
    """Sync, then the warehouse equals the emulator's truth."""
    await h.sync()
    h.assert_truth()


async def test_change_status_takes_vendor_or_canonical_values(h: Harness) -> None:
    """CHANGE_STATUS goes through setStatus; canonical "resolved" is written as "solved"."""
    emu = emulator(h)
    tid = open_ticket(emu)
    assert await write(h, WriteOp.CHANGE_STATUS, tid, {"status": "holding"}) == str(tid)
    assert emu.data.tickets[tid].status == "holding"
    await pulled(h)
    assert ticket_row(h, tid)[1:3] == ("holding", "pending")
    await write(h, WriteOp.CHANGE_STATUS, str(tid), {"status": "resolved"})
    assert emu.requests["/api/v2/ticket/setStatus"] == 2
    await pulled(h)
    assert ticket_row(h, tid)[1:3] == ("solved", "resolved")


async def test_update_fields_spreads_over_the_endpoints(h: Harness) -> None:
    """Title and closed status by PUT, priority by setPriority, group by batch, in one write."""
    emu = emulator(h)
    tid = open_ticket(emu)
    payload = {
        "subject": "Pakket kwijt",
        "status": "closed",
        "priority": "normal",
        "department": 10002,
    }
    emu.reset_counts()
    await write(h, WriteOp.UPDATE_FIELDS, tid, payload)
    t = emu.data.tickets[tid]
    assert (t.title, t.status, t.priority, t.group_id) == (
        "Pakket kwijt",
        "closed",
        "medium",
        10002,
    )
    assert [
        emu.requests[f"/api/v2/ticket/{p}"] for p in (tid, "setPriority", "setStatus", "batch")
    ] == [1, 1, 0, 1]
    await pulled(h)
    assert ticket_row(h, tid) == (
        "Pakket kwijt",
        "closed",
        "closed",
        "medium",
        "normal",
        "10002",
        True,
    )


async def test_update_fields_with_an_open_status_uses_set_status(h: Harness) -> None:
    """PUT item only takes solved or closed; other statuses go through setStatus."""
    emu = emulator(h)
    tid = open_ticket(emu)
    emu.reset_counts()
    await write(h, WriteOp.UPDATE_FIELDS, tid, {"status": "pending"})
    assert emu.data.tickets[tid].status == "pending"
    assert emu.requests[f"/api/v2/ticket/{tid}"] == 0
    await pulled(h)


async def test_add_note_and_reply(h: Harness) -> None:
    """kind note -> a private note (type 0); kind reply -> a message to the ticket's customer."""
    emu = emulator(h)
    tid = open_ticket(emu)
    note = await write(
        h,
        WriteOp.ADD_NOTE,
        tid,
        {"kind": "note", "visibility": "private", "body": "Klant belt terug"},
    )
    reply = await write(
        h, WriteOp.ADD_NOTE, tid, {"kind": "reply", "body": "Het pakket is onderweg."}
    )
    assert note and note.startswith("note:") and reply and reply.startswith("message:")
    posts = emu.data.tickets[tid].posts()[-2:]
    customer = emu.data.customers[emu.data.tickets[tid].customer_id]
    assert [(p.is_note, p.content, p.to) for p in posts] == [
        (True, "Klant belt terug", ""),
        (False, "Het pakket is onderweg.", customer.email),
    ]
    await pulled(h)
    rows = h.wh.con.execute(
        "SELECT source_id, ticket_id, kind, visibility, author_id, author_kind, body "
        "FROM notes WHERE source_id IN (?, ?) ORDER BY 1",
        [reply, note],
    ).fetchall()
    assert rows == [
        (reply, str(tid), "reply", "public", "staff:1", "staff", "Het pakket is onderweg."),
        (note, str(tid), "note", "private", "staff:1", "staff", "Klant belt terug"),
    ]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"kind": "note", "body": "kort"}, "at least 5 characters"),
        (
            {"kind": "note", "visibility": "public", "body": "Zichtbaar voor de klant"},
            "notes are private",
        ),
        ({"kind": "reply", "visibility": "internal", "body": "Interne reactie"}, "replies public"),
        ({"kind": "call", "body": "Klant gebeld"}, "notes are private"),
    ],
)
async def test_note_rules_are_checked_before_sending(
    refused: Harness, payload: dict[str, str], message: str
) -> None:
    """A too short message or an impossible visibility is refused without any request."""
    refused.emulator.reset_counts()
    with pytest.raises(VendorRejected, match=message):
        await write(refused, WriteOp.ADD_NOTE, open_ticket(emulator(refused)), payload)
    assert refused.emulator.total_requests == 0


async def test_private_reply_is_written_as_a_note(h: Harness) -> None:
    """An Omnidesk reply always reaches the customer, so a private reply becomes a note."""
    emu = emulator(h)
    tid = open_ticket(emu)
    payload = {"kind": "reply", "visibility": "private", "body": "Alleen voor collega's"}
    created = await write(h, WriteOp.ADD_NOTE, tid, payload)
    assert created and created.startswith("note:")
    assert emu.data.tickets[tid].posts()[-1].is_note
    await pulled(h)


async def test_update_ignores_bookkeeping_keys_and_refuses_unwritable_fields(h: Harness) -> None:
    """Author ids and timestamps a push adds are ignored; canonical fields Omnidesk lacks fail."""
    emu = emulator(h)
    tid = open_ticket(emu)
    extra = {"author_id": "staff:3", "created_by_id": "staff:3", "created_at": None}
    await write(h, WriteOp.UPDATE_FIELDS, tid, {"priority": "high", **extra})
    assert emu.data.tickets[tid].priority == "high"
    before = emu.ground_truth()
    with pytest.raises(VendorRejected, match="cannot set assignee_id; writable: department"):
        await write(h, WriteOp.UPDATE_FIELDS, tid, {"subject": "Nieuw", "assignee_id": "staff:2"})
    assert emu.ground_truth() == before
    await pulled(h)


async def test_read_tickets_rereads_one_ticket_now(h: Harness) -> None:
    """read_tickets GETs the given tickets with their timelines; a gone one comes back deleted."""
    emu = emulator(h)
    tid, gone = open_ticket(emu), 849999
    h.emulator.reset_counts()
    async with connector(h) as c:
        batch = await c.read_tickets([str(tid), gone])
    assert [r["source_id"] for r in batch.rows["tickets"]] == [str(tid)]
    assert {n["source_id"] for n in batch.rows["notes"]} == {
        f"{'note' if p.is_note else 'message'}:{p.id}" for p in emu.data.tickets[tid].posts()
    }
    assert batch.deleted == {"tickets": [str(gone)]}
    assert h.emulator.total_requests == 2


async def test_create_ticket_with_priority_and_first_note(h: Harness) -> None:
    """CREATE_TICKET posts an empty ticket, then its priority and its body as a note."""
    emu = emulator(h)
    payload = {
        "subject": "Vraag over levering",
        "requester_email": "nieuw@example.com",
        "requester_name": "Nina Nieuw",
        "department": "10004",
        "priority": "high",
        "body": "Klant vraagt naar de levertijd.",
    }
    tid = await write(h, WriteOp.CREATE_TICKET, None, payload)
    assert tid is not None
    t = emu.data.tickets[int(tid)]
    assert (t.title, t.sender, t.priority, t.group_id, t.status) == (
        "Vraag over levering",
        "nieuw@example.com",
        "high",
        10004,
        "new",
    )
    assert [(p.is_note, p.content) for p in t.posts()] == [
        (True, "Klant vraagt naar de levertijd.")
    ]
    await pulled(h)
    assert ticket_row(h, tid) == (
        "Vraag over levering",
        "new",
        "new",
        "high",
        "high",
        "10004",
        True,
    )
    person = h.wh.con.execute(
        "SELECT p.name, p.email FROM tickets t JOIN people p ON p.source_id = t.requester_id "
        "WHERE t.source_id = ?",
        [tid],
    ).fetchone()
    assert person == ("Nina Nieuw", "nieuw@example.com")


async def test_delete_ticket_is_pulled_as_deleted(h: Harness) -> None:
    """DELETE_TICKET removes the ticket; the next pull marks it and its notes deleted."""
    emu = emulator(h)
    tid = open_ticket(emu)
    assert await write(h, WriteOp.DELETE_TICKET, tid, {}) is None
    assert tid not in emu.data.tickets
    await pulled(h)
    assert ticket_row(h, tid)[-1] is False


async def test_batch_changes_several_tickets_then_deletes_them(h: Harness) -> None:
    """``batch`` sets status and priority of several tickets in one call, or deletes them."""
    emu = emulator(h)
    ids = [t.id for t in list(emu.data.tickets.values())[-3:]]
    async with connector(h) as c:
        await c.batch([ids[0], str(ids[1]), ids[2]], status="pending", priority="urgent")
    assert emu.requests["/api/v2/ticket/batch"] == 1
    assert {(emu.data.tickets[i].status, emu.data.tickets[i].priority) for i in ids} == {
        ("pending", "urgent")
    }
    await pulled(h)
    async with connector(h) as c:
        await c.batch(ids[:2], delete=True)
        with pytest.raises(VendorRejected, match="either deletes tickets or changes them"):
            await c.batch(ids[2:], delete=True, status="open")
    assert emu.requests["/api/v2/ticket/multi"] == 1
    await pulled(h)
    assert [ticket_row(h, i)[-1] for i in ids] == [False, False, True]


async def test_unmapped_status_lists_known_values(refused: Harness) -> None:
    """A status Omnidesk and the canonical model both lack fails before sending, listing both."""
    refused.emulator.reset_counts()
    with pytest.raises(UnmappedValueError) as info:
        await write(
            refused, WriteOp.CHANGE_STATUS, open_ticket(emulator(refused)), {"status": "waiting"}
        )
    assert "holding" in str(info.value) and "resolved" in str(info.value)
    assert refused.emulator.total_requests == 0


def readonly(h: Harness) -> ConnectionConfig:
    refs = h.config.credentials
    return h.config.model_copy(update={"credentials": {"api_key": refs["readonly_api_key"]}})


WRITES = [
    (WriteOp.CHANGE_STATUS, {"status": "closed"}, "SET_STATUS"),
    (
        WriteOp.UPDATE_FIELDS,
        {"subject": "Nieuw", "status": "open", "priority": "low"},
        "TICKET_UPDATE",
    ),
    (WriteOp.ADD_NOTE, {"kind": "note", "body": "Een interne notitie"}, "MESSAGE_CREATE"),
    (
        WriteOp.CREATE_TICKET,
        {"subject": "Nieuw ticket", "requester_email": "a@example.com"},
        "TICKET_CREATE",
    ),
    (WriteOp.DELETE_TICKET, {}, "TICKET_DELETE"),
]


@pytest.mark.parametrize(("op", "payload", "permission"), WRITES)
async def test_readonly_key_gets_a_permission_error_and_nothing_changes(
    refused: Harness, op: WriteOp, payload: dict[str, Any], permission: str
) -> None:
    """A TICKET_READ-only key: PermissionDenied naming the permission; the truth is unchanged."""
    before = refused.emulator.ground_truth()
    tid = None if op is WriteOp.CREATE_TICKET else open_ticket(emulator(refused))
    async with connector(refused, readonly(refused)) as c:
        with pytest.raises(PermissionDenied) as info:
            await c.write(op, tid, payload)
    assert f"does not have the {permission} permission" in str(info.value)
    assert "HTTP 403" in str(info.value)
    assert refused.emulator.ground_truth() == before


async def test_update_without_ticket_update_writes_nothing(tmp_path: Path) -> None:
    """A key lacking TICKET_UPDATE fails on the first call, before setStatus could run."""
    emu = OmnideskEmulator(tickets=20, keys={"k": set(PERMISSIONS) - {"TICKET_UPDATE"}})
    config = ConnectionConfig(
        name="o",
        type="omnidesk",
        base_url="http://testserver",
        credentials={"api_key": "env:OMNIDESK_NO_UPDATE"},
    )
    before = emu.ground_truth()
    tid = open_ticket(emu)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OMNIDESK_NO_UPDATE", "k")
        async with OmnideskConnector(config, transport=httpx.ASGITransport(app=emu.app)) as c:
            with pytest.raises(PermissionDenied, match="TICKET_UPDATE"):
                await c.write(WriteOp.UPDATE_FIELDS, tid, {"subject": "Nieuw", "status": "pending"})
    assert emu.ground_truth() == before
    assert emu.requests["/api/v2/ticket/setStatus"] == 0


async def test_partial_update_says_what_was_applied(tmp_path: Path) -> None:
    """When a later call of an update is refused, the error names what the earlier ones did."""
    emu = OmnideskEmulator(tickets=20, keys={"k": set(PERMISSIONS) - {"SET_STATUS"}})
    config = ConnectionConfig(
        name="o",
        type="omnidesk",
        base_url="http://testserver",
        credentials={"api_key": "env:OMNIDESK_NO_STATUS"},
    )
    tid = open_ticket(emu)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OMNIDESK_NO_STATUS", "k")
        async with OmnideskConnector(config, transport=httpx.ASGITransport(app=emu.app)) as c:
            with pytest.raises(PermissionDenied) as info:
                await c.write(WriteOp.UPDATE_FIELDS, tid, {"subject": "Nieuw", "status": "pending"})
    assert str(info.value).endswith(
        "does not have the SET_STATUS permission.; check connections.o.credentials.api_key"
        " (already applied: title)"
    )
    assert (emu.data.tickets[tid].title, emu.data.tickets[tid].status) == ("Nieuw", "open")


@pytest.mark.parametrize("bad", ["abc", "", None, "12-3"])
async def test_non_numeric_ticket_ids_are_refused(refused: Harness, bad: object) -> None:
    """Ticket ids may be numbers or numeric strings; anything else is refused before sending."""
    refused.emulator.reset_counts()
    with pytest.raises(VendorRejected):
        await write(refused, WriteOp.CHANGE_STATUS, bad, {"status": "open"})
    assert refused.emulator.total_requests == 0
