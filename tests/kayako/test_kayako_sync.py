"""Kayako incremental sync: what each run costs, and what each pass catches."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from conftest import Harness, make_harness

from deskbridge.pull.engine import build_connector
from deskbridge.sdk.contract import WriteOp
from deskbridge.sdk.errors import DeskbridgeError

PAGE = 50
OVERLAP = PAGE // 20
LOOKUPS_AND_PEOPLE = (
    4 + 1 + 1 + 1
)  # departments, statuses, priorities, types; ticket counts; staff; new users


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    harness = make_harness("kayako", tmp_path, tickets=300, options={"page_size": PAGE})
    yield harness
    harness.wh.close()


def pages(n: int) -> int:
    """ListAll requests the overlapping pager makes for ``n`` tickets."""
    count, start = 1, 0
    while n - start >= PAGE:
        start += PAGE - OVERLAP
        count += 1
    return count


def open_ids(h: Harness) -> list[int]:
    store = h.emulator.store
    return sorted(t.id for t in store.tickets.values() if not store.is_resolved(t))


def closed_ids(h: Harness) -> list[int]:
    store = h.emulator.store
    return sorted(t.id for t in store.tickets.values() if store.is_resolved(t))


async def write(h: Harness, op: WriteOp, ticket_id: int, payload: dict) -> str | None:
    async with build_connector(h.config, h.transport) as connector:
        return await connector.write(op, str(ticket_id), payload)


def last_run(h: Harness) -> tuple[int, int]:
    return h.wh.con.execute(
        "SELECT requests, reconcile_requests FROM sync_runs ORDER BY run_id DESC LIMIT 1"
    ).fetchone()


async def test_first_run_cost(h: Harness) -> None:
    """A first run: lookups, one ListAll page per page of tickets, one posts request per ticket.
    The walk listed every ticket with its notes and time tracks: no reconcile listing follows."""
    await h.sync()
    n = len(h.emulator.store.tickets)
    requests, reconcile = last_run(h)
    assert requests == LOOKUPS_AND_PEOPLE + pages(n) + n
    assert reconcile == 0
    h.assert_truth()


class DropPostsAfter(httpx.AsyncBaseTransport):
    """Passes requests to the emulator until ``budget`` posts reads, then drops the connection."""

    def __init__(self, inner: httpx.AsyncBaseTransport, budget: int) -> None:
        self.inner, self.budget = inner, budget

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.params.get("e", "").startswith("/Tickets/TicketPost/ListAll/"):
            self.budget -= 1
            if self.budget < 0:
                raise httpx.ConnectError("connection dropped")
        return await self.inner.handle_async_request(request)


async def test_resumed_first_walk_still_reconciles_what_the_killed_run_committed(
    h: Harness,
) -> None:
    """A first walk dies; a staff note lands on an open ticket it had committed (lastactivity
    stays); the resumed walk skips that ticket, so the open reconcile must still run."""
    original = h.transport
    h.transport = DropPostsAfter(original, 120)
    with pytest.raises(DeskbridgeError):
        await h.sync(commit_rows=1)
    h.transport = original
    stored = {int(i) for (i,) in h.wh.con.execute("SELECT source_id FROM tickets").fetchall()}
    tid = next(t for t in open_ids(h) if t in stored)
    note_id = await write(
        h, WriteOp.ADD_NOTE, tid, {"kind": "note", "body": "Seen in logs", "author_id": "staff:2"}
    )
    await h.sync()
    assert last_run(h)[1] == pages(len(open_ids(h)))
    note = h.wh.con.execute("SELECT ticket_id FROM notes WHERE source_id = ?", [note_id])
    assert note.fetchone() == (str(tid),)
    h.assert_truth()


async def test_new_replies_cost_proportional_to_changed_tickets(h: Harness) -> None:
    """Five tickets get a reply: the walk costs one page plus five posts requests."""
    await h.sync()
    targets = open_ids(h)[:5]
    for tid in targets:
        await write(
            h, WriteOp.ADD_NOTE, tid, {"kind": "reply", "body": "Any news?", "author_id": "staff:1"}
        )
    await h.sync()
    requests, reconcile = last_run(h)
    assert requests == LOOKUPS_AND_PEOPLE + 1 + 5
    assert reconcile == pages(len(open_ids(h)))
    h.assert_truth()


async def test_notes_and_time_tracks_hidden_from_lastactivity_are_caught_by_reconcile(
    h: Harness,
) -> None:
    """A staff note and a time track on an open ticket don't move lastactivity; reconcile finds them."""
    await h.sync()
    tid = open_ids(h)[3]
    note_id = await write(
        h,
        WriteOp.ADD_NOTE,
        tid,
        {"kind": "note", "body": "Checked the logs", "author_id": "staff:2"},
    )
    entry_id = await write(
        h,
        WriteOp.ADD_TIME_ENTRY,
        tid,
        {
            "note": "Remote session",
            "seconds_worked": 1800,
            "seconds_billable": 900,
            "worker_id": "staff:2",
            "work_time": datetime(2026, 11, 2, 10, tzinfo=UTC),
            "bill_time": datetime(2026, 11, 2, 10, tzinfo=UTC),
        },
    )
    await h.sync()
    requests, reconcile = last_run(h)
    assert requests == LOOKUPS_AND_PEOPLE + 1  # the walk's first page shows nothing new
    assert reconcile == pages(len(open_ids(h)))
    row = h.wh.con.execute(
        "SELECT ticket_id, seconds_worked, seconds_billable, worker_id, note, work_time FROM time_entries WHERE source_id = ?",
        [entry_id],
    ).fetchone()
    assert row == (
        str(tid),
        1800,
        900,
        "staff:2",
        "Remote session",
        datetime(2026, 11, 2, 10, tzinfo=UTC),
    )
    note = h.wh.con.execute(
        "SELECT ticket_id, kind, visibility, body, author_id FROM notes WHERE source_id = ?",
        [note_id],
    ).fetchone()
    assert note == (str(tid), "note", "private", "Checked the logs", "staff:2")
    h.assert_truth()


async def test_deletes_are_marked_not_dropped(h: Harness) -> None:
    """A deleted time track and note get deleted_at on the next run; the rows stay."""
    await h.sync()
    tid = open_ids(h)[5]
    entry_id = await write(
        h,
        WriteOp.ADD_TIME_ENTRY,
        tid,
        {
            "note": "x",
            "seconds_worked": 60,
            "seconds_billable": 60,
            "worker_id": "staff:1",
            "work_time": 1_700_000_000,
        },
    )
    note_id = await write(
        h, WriteOp.ADD_NOTE, tid, {"kind": "note", "body": "temp", "author_id": "staff:1"}
    )
    await h.sync()
    await write(h, WriteOp.DELETE_TIME_ENTRY, tid, {"source_id": entry_id})
    await write(h, WriteOp.DELETE_NOTE, tid, {"source_id": note_id})
    await h.sync()
    assert h.wh.con.execute(
        "SELECT deleted_at IS NOT NULL FROM time_entries WHERE source_id = ?", [entry_id]
    ).fetchone() == (True,)
    assert h.wh.con.execute(
        "SELECT deleted_at IS NOT NULL FROM notes WHERE source_id = ?", [note_id]
    ).fetchone() == (True,)
    h.assert_truth()


async def test_deleted_open_ticket_is_found_by_one_extra_request(h: Harness) -> None:
    """An open ticket deleted at the vendor: the reconcile misses it, one GET gets 404, it is marked."""
    await h.sync()
    tid = open_ids(h)[7]
    await write(h, WriteOp.DELETE_TICKET, tid, {})
    await h.sync()
    _, reconcile = last_run(h)
    assert reconcile == pages(len(open_ids(h))) + 1
    gone = h.wh.con.execute(
        "SELECT count(*) FROM notes WHERE ticket_id = ? AND deleted_at IS NULL", [str(tid)]
    ).fetchone()
    assert gone == (0,)
    assert h.wh.con.execute(
        "SELECT deleted_at IS NOT NULL FROM tickets WHERE source_id = ?", [str(tid)]
    ).fetchone() == (True,)
    h.assert_truth()


async def test_closed_tickets_are_reconciled_on_their_schedule(h: Harness) -> None:
    """A time track on a closed ticket waits for the closed reconcile, which is counted apart."""
    await h.sync()
    tid = closed_ids(h)[0]
    entry_id = await write(
        h,
        WriteOp.ADD_TIME_ENTRY,
        tid,
        {
            "note": "late",
            "seconds_worked": 120,
            "seconds_billable": 0,
            "worker_id": "staff:1",
            "work_time": 1_700_000_000,
        },
    )
    await h.sync()
    assert h.wh.con.execute(
        "SELECT count(*) FROM time_entries WHERE source_id = ?", [entry_id]
    ).fetchone() == (0,)
    h.config.options["closed_reconcile_every"] = "0s"
    await h.sync()
    _, reconcile = last_run(h)
    users = len(h.emulator.store.users)
    assert reconcile == pages(len(open_ids(h))) + pages(len(closed_ids(h))) + users // 1000 + 1
    assert h.wh.con.execute(
        "SELECT seconds_worked FROM time_entries WHERE source_id = ?", [entry_id]
    ).fetchone() == (120,)
    h.assert_truth()


async def test_reply_deleted_by_an_agent_is_caught_by_reply_count(h: Harness) -> None:
    """An agent deletes a reply in the staff panel: the reply count drops, so reconcile re-reads posts."""
    await h.sync()
    store = h.emulator.store
    tid = next(t for t in open_ids(h) if len(store.tickets[t].posts) > 1)
    post_id = max(store.tickets[tid].posts)
    store.delete_post(store.posts[post_id])
    store.rebuild(store.tickets[tid])
    await h.sync()
    _, reconcile = last_run(h)
    assert (
        reconcile == pages(len(open_ids(h))) + 1 + 1
    )  # its posts, then the ticket read that confirms the deletion
    deleted = "SELECT deleted_at IS NOT NULL, deleted_proof FROM notes WHERE source_id = ?"
    assert h.wh.con.execute(deleted, [f"post:{post_id}"]).fetchone() == (True, "not_found")
    h.assert_truth()


async def test_first_walk_reports_progress_against_the_ticket_count(h: Harness) -> None:
    """A full walk's progress carries the total from TicketCount and moves with every ticket read,
    not once per page of listing."""
    seen: list[tuple[str, int, int | None]] = []
    await h.sync(progress=lambda stream, done, total: seen.append((stream, done, total)))
    n = len(h.emulator.store.tickets)
    assert seen == [("tickets", done, n) for done in range(1, n + 1)]


async def test_open_reconcile_skips_statuses_nobody_has_tickets_in(h: Harness) -> None:
    """With no open ticket in the helpdesk's count nor the warehouse, the open reconcile lists nothing."""
    store = h.emulator.store
    closed = min(
        int(s)
        for s in h.emulator.store.lookups.statuses
        if store.lookups.statuses[s]["markasresolved"]
    )
    for ticket in list(store.tickets.values()):
        store.set_status(ticket, closed, ticket.lastactivity)
    await h.sync()
    assert last_run(h)[1] == 0  # without the count: one empty ListAll over the open statuses
    h.assert_truth()
