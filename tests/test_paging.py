"""The overlapping offset pager, against a small fake vendor listing that changes while read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass, field

import pytest

from deskbridge.sdk import OffsetPage, OffsetPager, PayloadError, WalkState, read_ahead

Record = dict[str, str]


@dataclass
class FakeListing:
    """A vendor list paged by offset: ``rows`` in listing order, changed by ``between`` hooks.

    ``between[n]`` runs just before the n-th request is answered (0-based), as if another
    user changed the helpdesk while the listing ran. ``reports_total``: pages carry the count.
    """

    rows: list[str]
    reports_total: bool = False
    ignores_offset: bool = False
    only_first_page: bool = False
    between: dict[int, Callable[[FakeListing], None]] = field(default_factory=dict)
    asked: list[int] = field(default_factory=list)

    async def fetch(self, start: int, size: int) -> OffsetPage:
        hook = self.between.get(len(self.asked))
        if hook:
            hook(self)
        self.asked.append(start)
        offset = 0 if self.ignores_offset else start
        rows = self.rows[offset : offset + size] if start == 0 or not self.only_first_page else []
        page = [{"id": r} for r in rows]
        return OffsetPage(page, len(self.rows) if self.reports_total else None)

    def pager(self, size: int = 20) -> OffsetPager:
        return OffsetPager(self.fetch, size, lambda r: r["id"], vendor="fake")


def ids(n: int) -> list[str]:
    return [str(i) for i in range(n)]


async def listed(vendor: FakeListing, size: int = 20) -> list[str]:
    return [r["id"] for r in await vendor.pager(size).records()]


async def test_a_still_listing_is_read_in_overlapping_pages_each_record_once() -> None:
    """Pages overlap by size // 20 rows; each record is handed out once, in listing order."""
    vendor = FakeListing(ids(50))
    assert await listed(vendor) == ids(50)
    assert vendor.asked == [0, 19, 38]


async def test_rows_shifting_up_within_the_overlap_lose_nothing() -> None:
    """40-row pages overlap by two: one row deleted above the cursor costs no extra request."""
    vendor = FakeListing(ids(100), between={1: lambda v: v.rows.remove("3")})
    assert await listed(vendor, size=40) == ids(100)
    assert vendor.asked == [0, 38, 76]


async def test_rows_shifting_up_past_the_overlap_make_the_pager_step_back() -> None:
    """Five rows deleted above the cursor: the next page shares nothing read, so it looks again
    half a page earlier and misses no surviving record."""
    gone = ids(5)
    vendor = FakeListing(ids(60), between={1: lambda v: [v.rows.remove(r) for r in gone]})
    assert await listed(vendor) == ids(20) + ids(60)[20:]
    assert vendor.asked == [0, 19, 9, 28, 47]


async def test_rows_shifting_down_are_handed_out_once() -> None:
    """Rows inserted at the top push read rows onto the next page; they are not repeated."""
    vendor = FakeListing(ids(50), between={1: lambda v: v.rows.insert(0, "new")})
    assert await listed(vendor) == ids(50)


async def test_a_vendor_total_ends_the_listing_without_an_empty_page() -> None:
    """With a total the page that reaches it is the last; without, a full page asks once more."""
    counted, uncounted = FakeListing(ids(39), reports_total=True), FakeListing(ids(39))
    assert await listed(counted) == await listed(uncounted) == ids(39)
    assert counted.asked == [0, 19]
    assert uncounted.asked == [0, 19, 38]


async def test_a_vendor_repeating_the_same_page_is_an_error() -> None:
    """A vendor that ignores the offset would page forever: the second identical page raises."""
    vendor = FakeListing(ids(50), ignores_offset=True)
    with pytest.raises(PayloadError, match="repeats itself: offset 19 gave a page already read"):
        await listed(vendor)


async def test_stepping_back_onto_a_page_already_read_is_an_error() -> None:
    """A vendor whose later pages come back empty sends the pager back to offset 0, where it
    answers the page already read: the pager refuses to go round again."""
    vendor = FakeListing(ids(50), only_first_page=True)
    with pytest.raises(PayloadError, match="offset 0 gave a page already read"):
        await listed(vendor)


async def test_a_listing_that_keeps_shifting_gives_up_after_max_step_backs() -> None:
    """Every request finds the rows moved far up: after max_step_backs the pager raises."""

    def shift(vendor: FakeListing) -> None:
        del vendor.rows[:30]

    vendor = FakeListing(ids(2000), between={n: shift for n in range(1, 60)})
    pager = OffsetPager(vendor.fetch, 100, lambda r: r["id"], vendor="fake", max_step_backs=3)
    with pytest.raises(PayloadError, match="keeps shifting"):
        await pager.records()


async def test_records_stops_at_the_limit() -> None:
    """records(limit) returns the first records and asks no further page."""
    vendor = FakeListing(ids(100))
    assert [r["id"] for r in await vendor.pager().records(25)] == ids(25)
    assert vendor.asked == [0, 19]


def test_walk_state_loads_a_checkpoint_and_derives_full_for_old_ones() -> None:
    """No checkpoint: None; one from before ``full`` existed: full exactly when it had no floor."""
    assert WalkState.load(None) is None
    assert WalkState.load({"high": 9, "floor": None}) == WalkState(high=9, full=True)
    assert WalkState.load({"floor": 5, "done_below": 7}) == WalkState(floor=5, done_below=7)


# -- read_ahead: the work of the next pages runs while the caller handles one --------------------


async def _numbers(n: int, read: list[int]) -> AsyncIterator[int]:
    for i in range(n):
        read.append(i)
        yield i


async def test_read_ahead_keeps_order_and_starts_the_next_work_before_the_caller_is_done() -> None:
    """Item 1's work starts while the caller still holds item 0; results come in item order."""
    read: list[int] = []
    started: list[int] = []

    async def work(i: int) -> int:
        started.append(i)
        await asyncio.sleep(0.001 * (5 - i))  # later items finish first
        return i * 10

    out = []
    async for item, result in read_ahead(_numbers(5, read), work, depth=2):
        await asyncio.sleep(0.01)  # the caller commits, say
        if item == 0:
            assert started[:3] == [0, 1, 2]
        out.append((item, result))
    assert out == [(0, 0), (1, 10), (2, 20), (3, 30), (4, 40)]


async def test_read_ahead_reads_no_item_past_the_last_one_wanted() -> None:
    read: list[int] = []

    async def work(i: int) -> int:
        return i

    got = [i async for i, _ in read_ahead(_numbers(100, read), work, last=lambda i: i == 3)]
    assert got == [0, 1, 2, 3]
    assert read == [0, 1, 2, 3]


async def test_read_ahead_raises_a_failure_after_the_items_before_it_and_cancels_the_rest() -> None:
    """The caller gets items 0 and 1, then item 2's error; the work of later items is cancelled."""
    read: list[int] = []
    cancelled: list[int] = []

    async def work(i: int) -> int:
        if i == 2:
            raise PayloadError("bad page", vendor="v", resource="tickets")
        try:
            await asyncio.sleep(0 if i < 2 else 10)
        except asyncio.CancelledError:
            cancelled.append(i)
            raise
        return i

    got = []
    with pytest.raises(PayloadError, match="bad page"):
        async for i, _ in read_ahead(_numbers(10, read), work, depth=3):
            got.append(i)
    assert got == [0, 1]
    assert cancelled and all(i > 2 for i in cancelled)
    assert all(not t.get_coro().__name__.startswith("work") for t in _unfinished())


async def test_read_ahead_left_early_cancels_the_work_in_flight() -> None:
    read: list[int] = []

    async def work(i: int) -> int:
        await asyncio.sleep(0 if i == 0 else 10)
        return i

    async with aclosing(read_ahead(_numbers(10, read), work, depth=2)) as pairs:
        async for i, _ in pairs:
            assert i == 0
            break
    assert _unfinished() == []
    assert len(read) <= 4


def _unfinished() -> list[asyncio.Task[object]]:
    me = asyncio.current_task()
    return [t for t in asyncio.all_tasks() if t is not me and not t.done()]


async def test_what_a_long_listing_keeps_stays_small() -> None:
    """A listing of 200,000 records keeps a bit per id it handed out, not the ids themselves.

    Its loop checks (ids seen, pages answered) once kept every id string and every page's ids:
    ~20 MB here, ~90 MB at a million tickets, held to the end of a full sync.
    """
    import tracemalloc

    total, size = 200_000, 1_000

    async def fetch(start: int, size: int) -> OffsetPage:  # new id strings on every request
        return OffsetPage([{"id": str(i)} for i in range(start, min(start + size, total))], total)

    pager = OffsetPager(fetch, size, lambda r: r["id"], vendor="fake")
    tracemalloc.start()
    try:
        handed_out, kept = 0, 0
        async with aclosing(pager.__aiter__()) as pages:
            async for page in pages:
                handed_out += len(page.records)
                if page.last:  # the listing's state is all still held here
                    del page
                    kept = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert handed_out == total
    assert kept < 1_000_000, f"{kept / 1e6:.1f} MB kept"
