"""Omnidesk pulls: what each run costs, how deletions and archives are found, and resumes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Harness, make_harness

from deskbridge.sdk.errors import DeskbridgeError
from deskbridge_connectors.omnidesk.emulator import OmnideskEmulator
from deskbridge_connectors.omnidesk.emulator.store import Person, Post

pytestmark = pytest.mark.asyncio
LIST = "/api/v2/ticket"


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    harness = make_harness("omnidesk", tmp_path, tickets=60)
    yield harness
    harness.wh.close()


def emulator(h: Harness) -> OmnideskEmulator:
    assert isinstance(h.emulator, OmnideskEmulator)
    return h.emulator


def item_gets(h: Harness) -> int:
    return sum(n for path, n in h.emulator.requests.items() if path.startswith(f"{LIST}/"))


def last_run(h: Harness) -> tuple[int, int]:
    """(incremental, reconcile) requests of the newest run."""
    run = h.runs()[-1]
    return run[2], run[3]


def with_options(h: Harness, **options: Any) -> None:
    h.config = h.config.model_copy(update={"options": {**h.config.options, **options}})


def lonely_ticket(emu: OmnideskEmulator) -> int:
    """A live, unarchived ticket whose customer has no other ticket."""
    counts: dict[int, int] = {}
    for t in emu.data.tickets.values():
        counts[t.customer_id] = counts.get(t.customer_id, 0) + 1
    return next(
        t.id for t in emu.data.tickets.values() if counts[t.customer_id] == 1 and not t.archived
    )


async def test_first_run_reads_list_and_every_item_then_rerun_costs_one_request(h: Harness) -> None:
    """First run: one list page + one GET per ticket; an unchanged rerun: one list page."""
    await h.sync()
    assert dict(h.emulator.requests) == {LIST: 1} | {
        f"{LIST}/{t}": 1 for t in emulator(h).data.tickets
    }
    assert last_run(h) == (61, 0)
    h.emulator.reset_counts()
    await h.sync()
    assert dict(h.emulator.requests) == {LIST: 1}
    assert last_run(h) == (1, 0)
    h.assert_truth()


def touch(emu: OmnideskEmulator, count: int, at: int) -> list[int]:
    """Change the priority of the ``count`` oldest unarchived tickets at ``at``; their ids."""
    picked = [t for t in emu.data.tickets.values() if not t.archived][:count]
    for t in picked:
        emu.data.set_priority(t, "urgent" if t.priority != "urgent" else "low", "test", at)
    return [t.id for t in picked]


async def test_changed_tickets_cost_one_get_each(h: Harness) -> None:
    """After changes the walk costs one list page plus one GET per changed ticket."""
    await h.sync()
    ids = touch(emulator(h), 3, int(time.time()))
    h.emulator.reset_counts()
    await h.sync()
    assert dict(h.emulator.requests) == {LIST: 1} | {f"{LIST}/{t}": 1 for t in ids}
    assert last_run(h) == (4, 0)
    h.assert_truth()


@pytest.mark.parametrize(("age", "rereads"), [(0, 4), (60, 0)])
async def test_same_second_changes_are_read_once_more(h: Harness, age: int, rereads: int) -> None:
    """Tickets read within ``clock_skew`` of their change are read once more, older ones not."""
    await h.sync()
    ids = touch(emulator(h), 4, int(time.time()) - age)
    await h.sync()
    h.emulator.reset_counts()
    await h.sync()
    assert dict(h.emulator.requests) == {LIST: 1} | {f"{LIST}/{t}": 1 for t in ids[:rereads]}
    h.assert_truth()


async def test_list_walk_pages_until_the_watermark(h: Harness) -> None:
    """With small pages the walk reads the pages down to the watermark minus the lookback only."""
    with_options(h, page_size=10, listing_page_size=25)
    await h.sync()
    assert h.emulator.requests[LIST] == 3  # 60 tickets, 25 a page, overlapping by one
    emu = emulator(h)
    watermark = max(t.last_update for t in emu.data.tickets.values())
    ids = touch(emu, 12, int(time.time()))
    newest_first = list(reversed(emu.data.tickets.values()))
    below = next(i for i, t in enumerate(newest_first) if t.last_update < watermark - 300)
    emu.reset_counts()
    await h.sync()
    pages = 1 + max(0, -(-(below - 9) // 9))  # page k holds positions 9k .. 9k+9
    assert dict(emu.requests) == {LIST: pages} | {f"{LIST}/{t}": 1 for t in ids}
    assert pages >= 2
    h.assert_truth()


async def test_deletion_found_by_total_and_confirmed_with_404(h: Harness) -> None:
    """A deletion makes the list total disagree: a reconcile listing, then a 404 confirms it."""
    await h.sync()
    emu = emulator(h)
    tid = lonely_ticket(emu)
    customer = emu.data.tickets[tid].customer_id
    emu.data.delete(emu.data.tickets[tid])
    emu.reset_counts()
    await h.sync()
    assert dict(emu.requests) == {LIST: 2, f"{LIST}/{tid}": 1}
    assert last_run(h) == (1, 2)
    h.assert_truth()
    gone = h.wh.con.execute(
        "SELECT source_id FROM people WHERE deleted_at IS NOT NULL UNION ALL "
        "SELECT source_id FROM tickets WHERE deleted_at IS NOT NULL ORDER BY 1"
    ).fetchall()
    assert gone == [(str(tid),), (f"customer:{customer}",)]
    notes = h.wh.con.execute(
        "SELECT count(*) FILTER (deleted_at IS NULL) FROM notes WHERE ticket_id = ?", [str(tid)]
    )
    assert notes.fetchone() == (0,)
    emu.reset_counts()
    await h.sync()
    assert dict(emu.requests) == {LIST: 1}


def write_as(post: Post, staff: Person) -> None:
    """Make ``staff`` the author of ``post``, as the emulator's seed writes one."""
    post.user_id, post.user_name, post.sender, post.sender_name = (
        staff.id,
        staff.name,
        staff.email,
        staff.name,
    )


async def test_staff_whose_notes_all_went_with_deleted_tickets_are_closed(h: Harness) -> None:
    """A reconcile closes a staff member whose every note was on a ticket deleted in this run;
    one whose notes are partly there keeps their row, and so does everyone else."""
    emu = emulator(h)
    staff_posts = {t.id: [p for p in t.posts() if p.user_id] for t in emu.data.tickets.values()}
    doomed = next(t for t in emu.data.tickets.values() if len(staff_posts[t.id]) >= 2)
    kept = next(t for t in emu.data.tickets.values() if t is not doomed and staff_posts[t.id])
    only_there = staff_posts[doomed.id][0].user_id
    partly = next(s for s in emu.data.staff if s != only_there)
    others = [s for s in emu.data.staff if s not in (only_there, partly)]
    for t in emu.data.tickets.values():  # only_there writes on doomed alone, partly on both
        for post in t.posts():
            if post.user_id == only_there and t is not doomed:
                write_as(post, emu.data.staff[others[0]])
    for post in (staff_posts[doomed.id][-1], staff_posts[kept.id][0]):
        write_as(post, emu.data.staff[partly])
    await h.sync()
    staff = "SELECT source_id FROM people WHERE kind = 'staff' AND deleted_at IS NULL"
    before = {r[0] for r in h.wh.con.execute(staff).fetchall()}
    assert {f"staff:{only_there}", f"staff:{partly}"} <= before
    emu.data.delete(doomed)
    await h.sync()
    h.assert_truth()
    after = {r[0] for r in h.wh.con.execute(staff).fetchall()}
    assert after == before - {f"staff:{only_there}"}


async def test_ticket_moved_to_another_customer_triggers_a_reconcile(h: Harness) -> None:
    """Relinking a ticket may leave its old customer without tickets: a listing closes them."""
    await h.sync()
    emu = emulator(h)
    tid = lonely_ticket(emu)
    old = emu.data.tickets[tid].customer_id
    other = next(c for c in emu.data.customers.values() if c.id != old and c.external_id)
    emu.data.link_customer(emu.data.tickets[tid], other, "test", 1_800_000_000)
    emu.reset_counts()
    await h.sync()
    assert dict(emu.requests) == {LIST: 2, f"{LIST}/{tid}": 1}
    assert last_run(h) == (2, 1)
    h.assert_truth()
    assert h.wh.con.execute(
        "SELECT deleted_at IS NOT NULL FROM people WHERE source_id = ?", [f"customer:{old}"]
    ).fetchone() == (True,)


async def test_scheduled_reconcile_is_counted_apart(h: Harness) -> None:
    """With ``reconcile_every = 0s`` every run also lists everything, counted as reconcile."""
    with_options(h, reconcile_every="0s")
    await h.sync()
    await h.sync()
    assert last_run(h) == (1, 1)
    h.assert_truth()


async def test_people_the_walk_wrote_stay_live_through_the_same_runs_listing(h: Harness) -> None:
    """A run's walk writes the people of the tickets it reads; its complete listing sees them
    again and must write them again, or its people scope would close them as unseen (the walk's
    first batches commit while its next pages are fetched, before the listing starts)."""
    with_options(h, reconcile_every="0s", page_size=10)
    await h.sync()
    ids = touch(emulator(h), 30, int(time.time()))
    h.emulator.knobs.latency_ms = 30
    await h.sync(commit_rows=1)
    assert last_run(h) == (4 + len(ids), 1)
    h.assert_truth()
    closed = h.wh.con.execute("SELECT count(*) FROM people WHERE deleted_at IS NOT NULL")
    assert closed.fetchone() == (0,)


async def test_a_pass_writes_each_person_once(h: Harness) -> None:
    """Every ticket read carries its customer and staff again: a first sync writes each person
    once (60 tickets read 10 at a time here, each batch committed alone), and its rows equal
    the emulator's."""
    with_options(h, page_size=10)
    result = await h.sync(commit_rows=1)  # a commit per batch: the writer merges nothing
    h.assert_truth()
    people = h.wh.con.execute("SELECT count(*) FROM people").fetchone()
    assert people is not None
    assert result.counts["people.read"] == people[0]


async def test_archived_tickets_are_pulled(h: Harness) -> None:
    """Closed tickets in the archive come along (searchArchived=yes) with their timelines."""
    await h.sync()
    archived = [str(t.id) for t in emulator(h).data.tickets.values() if t.archived]
    stored = {
        r[0]
        for r in h.wh.con.execute(
            "SELECT source_id FROM tickets WHERE deleted_at IS NULL"
        ).fetchall()
    }
    assert archived and set(archived) <= stored
    h.assert_truth()


async def test_datetimes_land_in_utc(h: Harness) -> None:
    """Naive Amsterdam times from the wire equal the emulator's instants once stored (UTC)."""
    await h.sync()
    emu = emulator(h)
    rows = dict(h.wh.con.execute("SELECT source_id, created_at FROM tickets").fetchall())
    for t in emu.data.tickets.values():
        assert rows[str(t.id)] == datetime.fromtimestamp(t.created, UTC)
    months = {datetime.fromtimestamp(t.created, UTC).month for t in emu.data.tickets.values()}
    assert {1, 7} <= months  # both winter (UTC+1) and summer (UTC+2) times were checked


async def test_full_refresh_rereads_everything(h: Harness) -> None:
    """--full-refresh reads every ticket again and closes staff and customers nobody references."""
    await h.sync()
    emulator(h).mutate(15)
    h.emulator.reset_counts()
    await h.sync(full_refresh=True)
    assert item_gets(h) >= len(emulator(h).data.tickets)
    h.assert_truth()


class FailAfter(httpx.AsyncBaseTransport):
    """Passes requests to the emulator until ``budget`` ticket GETs, then drops the connection."""

    def __init__(self, inner: httpx.AsyncBaseTransport, budget: int) -> None:
        self.inner, self.budget = inner, budget

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith(f"{LIST}/"):
            self.budget -= 1
            if self.budget < 0:
                raise httpx.ConnectError("connection dropped")
        return await self.inner.handle_async_request(request)


async def test_interrupted_first_run_resumes_without_rereading(h: Harness) -> None:
    """A first run that dies after 50 ticket reads: the next run reads only the rest."""
    with_options(h, page_size=10)
    original = h.transport
    h.transport = FailAfter(original, 50)
    with pytest.raises(DeskbridgeError):
        await h.sync(commit_rows=1)
    kept = h.wh.con.execute("SELECT count(*) FROM tickets").fetchone()[0]
    assert 40 <= kept <= 50
    h.transport = original
    h.emulator.reset_counts()
    await h.sync()
    assert item_gets(h) == len(emulator(h).data.tickets) - kept
    h.assert_truth()


class DeleteOnSecondPage(httpx.AsyncBaseTransport):
    """Deletes tickets listed on the first page just before the second page is served."""

    def __init__(self, inner: httpx.AsyncBaseTransport, emu: OmnideskEmulator, n: int) -> None:
        self.inner, self.emu, self.n, self.deleted = inner, emu, n, []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if (
            request.url.path == LIST
            and request.url.params.get("itemStart") not in (None, "0")
            and not self.deleted
        ):
            newest = list(reversed(self.emu.data.tickets.values()))[: self.n]
            for ticket in newest:
                self.emu.data.delete(ticket)
            self.deleted = [t.id for t in newest]
        return await self.inner.handle_async_request(request)


async def test_rows_shifting_up_under_the_paginator_lose_nothing(h: Harness) -> None:
    """Deletions above the cursor shift the list up; the listing steps back and misses no ticket."""
    with_options(h, listing_page_size=20)
    emu = emulator(h)
    before = {str(t) for t in emu.data.tickets}
    original = h.transport
    h.transport = deleting = DeleteOnSecondPage(original, emu, 4)
    await h.sync()
    stored = {r[0] for r in h.wh.con.execute("SELECT source_id FROM tickets").fetchall()}
    # the deleted tickets may be read before or after they go (item reads run ahead of the list)
    assert before - {str(t) for t in deleting.deleted} <= stored <= before
    assert emu.requests[LIST] > 60 // 19 + 1  # at least one step back
    h.transport = original
    await h.sync()
    h.assert_truth()
