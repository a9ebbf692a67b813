"""M4 write operations against the emulator: vendor state after each write, and the pull after it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import Harness, make_harness

from deskbridge.pull import engine
from deskbridge.sdk.contract import Connector, WriteOp
from deskbridge.sdk.errors import NotFound, VendorRejected

pytestmark = pytest.mark.asyncio
NOTE_COLUMNS = (
    "ticket_id",
    "kind",
    "visibility",
    "author_id",
    "author_name",
    "author_kind",
    "body",
    "is_html",
)


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    harness = make_harness("m4", tmp_path, tickets=30)
    yield harness
    harness.wh.close()


@pytest.fixture(scope="module")
def idle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """One small emulator for tests that must not reach it."""
    harness = make_harness("m4", tmp_path_factory.mktemp("idle"), tickets=5)
    yield harness
    harness.wh.close()


@pytest.fixture
async def connector(h: Harness) -> AsyncIterator[Connector]:
    async with engine.build_connector(h.config, h.transport) as built:
        yield built


def note_row(h: Harness, source_id: str) -> dict[str, Any]:
    """The warehouse row of a note: canonical columns, created_at and whether it is deleted."""
    columns = ", ".join(NOTE_COLUMNS)
    row = h.wh.con.execute(
        f"SELECT {columns}, created_at, deleted_at IS NOT NULL FROM notes WHERE source_id = ?",
        [source_id],
    ).fetchone()
    assert row is not None
    return dict(zip((*NOTE_COLUMNS, "created_at", "deleted"), row, strict=True))


async def test_add_note_then_pull(h: Harness, connector: Connector) -> None:
    """ADD_NOTE creates a NOTE by the given user; the next pull reads back the same note."""
    await h.sync()
    payload = {
        "kind": "note",
        "visibility": "public",
        "body": "Replaced the NID",
        "author_id": "user:jdoe",
    }
    note_id = await connector.write(WriteOp.ADD_NOTE, "7", payload)
    stored = h.emulator.data.notes[int(str(note_id))]
    assert (stored.ticket_id, stored.note_type, stored.text, stored.user_name) == (
        7,
        "NOTE",
        "Replaced the NID",
        "jdoe",
    )
    assert h.emulator.ground_truth()["notes"][str(note_id)] == {
        "ticket_id": "7",
        "kind": "note",
        "visibility": "public",
        "body": "Replaced the NID",
    }
    await h.sync()
    row = note_row(h, str(note_id))
    assert row.pop("created_at") is not None
    assert row == {
        "ticket_id": "7",
        "kind": "note",
        "visibility": "public",
        "author_id": "user:jdoe",
        "author_name": "jdoe",
        "author_kind": "staff",
        "body": "Replaced the NID",
        "is_html": False,
        "deleted": False,
    }
    h.assert_truth()


async def test_add_private_note_with_time(h: Harness, connector: Connector) -> None:
    """A private note is a LOG; created_at goes out as server-local ts and reads back the same instant."""
    await h.sync()
    when = datetime(2026, 11, 20, 16, 33, 34, 29000, tzinfo=UTC)
    payload = {"kind": "note", "visibility": "private", "body": "En route", "created_at": when}
    note_id = str(await connector.write(WriteOp.ADD_NOTE, "3", payload))
    stored = h.emulator.data.notes[int(note_id)]
    assert (stored.note_type, stored.user_name) == ("LOG", None)
    await h.sync()
    row = note_row(h, note_id)
    assert (row["visibility"], row["author_id"], row["created_at"]) == ("private", None, when)
    h.assert_truth()


async def test_update_note_keeps_its_time(h: Harness, connector: Connector) -> None:
    """UPDATE_NOTE changes text and type, never ts; the next pull reads the edit back."""
    await h.sync()
    note = h.emulator.data.notes[h.emulator.data.notes_by_ticket[5][0]]
    ts, before = note.ts, note_row(h, str(note.id))
    payload = {"source_id": str(note.id), "body": "Corrected reading", "visibility": "private"}
    assert await connector.write(WriteOp.UPDATE_NOTE, "5", payload) == str(note.id)
    assert (note.text, note.note_type, note.ts) == ("Corrected reading", "LOG", ts)
    await h.sync()
    after = note_row(h, str(note.id))
    assert after == {**before, "body": "Corrected reading", "visibility": "private"}
    h.assert_truth()


async def test_delete_note(h: Harness, connector: Connector) -> None:
    """DELETE_NOTE removes the note at M4; the next pull marks it deleted."""
    await h.sync()
    note_id = h.emulator.data.notes_by_ticket[4][-1]
    assert await connector.write(WriteOp.DELETE_NOTE, "4", {"source_id": str(note_id)}) is None
    assert note_id not in h.emulator.data.notes
    await h.sync()
    assert note_row(h, str(note_id))["deleted"] is True
    h.assert_truth()


async def test_note_on_missing_ticket_is_rejected_with_the_rule(
    h: Harness, connector: Connector
) -> None:
    """M4's business rule comes back as VendorRejected carrying the rule text; nothing is stored."""
    before = len(h.emulator.data.notes)
    with pytest.raises(VendorRejected) as info:
        await connector.write(WriteOp.ADD_NOTE, "999999", {"kind": "note", "body": "Hello"})
    assert (
        str(info.value)
        == "m4 notes HTTP 400: M4 refused the request: TicketID: must be an existing Ticket"
    )
    assert (info.value.status, info.value.resource) == (400, "notes")
    assert len(h.emulator.data.notes) == before


async def test_update_of_missing_note_is_not_found(h: Harness, connector: Connector) -> None:
    """Updating a note M4 does not have is NotFound with M4's message."""
    with pytest.raises(NotFound, match="Object Not Found") as info:
        await connector.write(WriteOp.UPDATE_NOTE, "1", {"source_id": "999999", "body": "x"})
    assert info.value.record_id == "999999"


@pytest.mark.parametrize(
    ("op", "ticket_id", "payload", "message"),
    [
        (WriteOp.ADD_NOTE, "1", {"kind": "note", "body": "  "}, "Note: is required"),
        (WriteOp.ADD_NOTE, "1", {"kind": "reply", "body": "Hi"}, "kind 'reply' is not supported"),
        (
            WriteOp.ADD_NOTE,
            "1",
            {"body": "Hi", "visibility": "internal"},
            "visibility must be 'public'",
        ),
        (
            WriteOp.ADD_NOTE,
            "1",
            {"body": "Hi", "author_id": "staff:4"},
            "user name ('user:<name>')",
        ),
        (WriteOp.ADD_NOTE, None, {"body": "Hi"}, "TicketID: is required"),
        (
            WriteOp.ADD_NOTE,
            "1",
            {"body": "Hi", "created_at": datetime(2026, 1, 1)},
            "needs a time zone",
        ),
        (WriteOp.UPDATE_NOTE, "1", {"body": "Hi"}, "ID: is required"),
        (WriteOp.DELETE_NOTE, "1", {"source_id": "note:3"}, "ID: is required"),
    ],
)
async def test_rules_checked_before_sending(
    idle: Harness, op: WriteOp, ticket_id: str | None, payload: dict[str, Any], message: str
) -> None:
    """Payloads M4 would refuse fail locally with the reason, without a request."""
    async with engine.build_connector(idle.config, idle.transport) as connector:
        with pytest.raises(VendorRejected, match=re.escape(message)):
            await connector.write(op, ticket_id, payload)
    assert idle.emulator.total_requests == 0


async def test_unsupported_op(idle: Harness) -> None:
    """Ticket writes are not offered: M4 documents no bodies for them."""
    async with engine.build_connector(idle.config, idle.transport) as connector:
        assert connector.write_ops == {WriteOp.ADD_NOTE, WriteOp.UPDATE_NOTE, WriteOp.DELETE_NOTE}
        with pytest.raises(NotImplementedError, match="m4 does not support"):
            await connector.write(WriteOp.CLOSE_TICKET, "1", {})
