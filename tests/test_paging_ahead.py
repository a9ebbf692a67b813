"""Offset pages requested ahead of their turn: the same listing, fewer round trips."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from deskbridge.sdk import OffsetPage, OffsetPager

pytestmark = pytest.mark.asyncio


@dataclass
class SlowListing:
    """A listing answered after ``delay(start)`` seconds, each answer read from the rows as they
    are when it is sent, so pages asked together can answer in any order. ``between[n]`` changes
    the rows just before the n-th answer (0-based)."""

    rows: list[str]
    delay: Callable[[int], float] = lambda start: 0.01
    between: dict[int, Callable[[list[str]], None]] = field(default_factory=dict)
    asked: list[int] = field(default_factory=list)
    answered: int = 0
    in_flight: int = 0
    most_in_flight: int = 0

    async def fetch(self, start: int, size: int) -> OffsetPage:
        self.asked.append(start)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay(start))
        finally:
            self.in_flight -= 1
        hook = self.between.get(self.answered)
        if hook:
            hook(self.rows)
        self.answered += 1
        return OffsetPage([{"id": r} for r in self.rows[start : start + size]])


def ids(n: int) -> list[str]:
    return [str(i) for i in range(n)]


def pager(vendor: SlowListing, expect: int | None, ahead: int = 8, size: int = 20) -> OffsetPager:
    return OffsetPager(
        vendor.fetch, size, lambda r: r["id"], vendor="fake", expect=expect, ahead=ahead
    )


async def test_pages_below_the_expected_count_are_asked_for_together() -> None:
    """100 rows, 20-row pages, count known: the same pages as one at a time, asked together."""
    vendor = SlowListing(ids(100))
    assert [r["id"] for r in await pager(vendor, expect=100).records()] == ids(100)
    assert sorted(vendor.asked) == [0, 19, 38, 57, 76, 95]
    assert vendor.most_in_flight == 6  # all six at once


async def test_without_a_count_pages_go_one_at_a_time() -> None:
    vendor = SlowListing(ids(100))
    assert [r["id"] for r in await pager(vendor, expect=None).records()] == ids(100)
    assert (vendor.asked, vendor.most_in_flight) == ([0, 19, 38, 57, 76, 95], 1)


async def test_a_count_too_low_only_slows_the_pages_past_it() -> None:
    vendor = SlowListing(ids(100))
    assert [r["id"] for r in await pager(vendor, expect=40).records()] == ids(100)
    assert sorted(vendor.asked) == [0, 19, 38, 57, 76, 95]


async def test_a_count_too_high_costs_at_most_ahead_empty_pages() -> None:
    vendor = SlowListing(ids(30))
    assert [r["id"] for r in await pager(vendor, expect=1000, ahead=3).records()] == ids(30)
    assert sorted(vendor.asked) == [0, 19, 38, 57, 76]  # the last three in vain


def delete_seven(rows: list[str]) -> None:
    del rows[21:28]


def insert_seven(rows: list[str]) -> None:
    rows[0:0] = [f"new{i}" for i in range(7)]


@pytest.mark.parametrize("change", [delete_seven, insert_seven])
@pytest.mark.parametrize("answer_first", ["earliest", "latest"])
async def test_rows_moving_while_pages_are_out_lose_no_record_that_stayed(
    change: Callable[[list[str]], None], answer_first: str
) -> None:
    """Seven rows deleted or inserted above later pages between two answers, with the pages
    answering in listing order or in reverse: every row there throughout is handed out once,
    in order (a gap wider than the overlap makes the pager step back, as one page at a time)."""
    vendor = SlowListing(
        ids(120),
        delay=(lambda s: 0.001 * (1 + s))
        if answer_first == "earliest"
        else lambda s: 0.2 - s / 1000,
        between={2: change},
    )
    out = [r["id"] for r in await pager(vendor, expect=120).records()]
    assert len(out) == len(set(out))
    stayed = [r for r in ids(120) if r in vendor.rows]
    assert [r for r in out if r in stayed] == stayed


async def test_a_listing_left_early_cancels_the_pages_asked_for_ahead() -> None:
    vendor = SlowListing(ids(200), delay=lambda s: 0.05 if s else 0.0)
    assert len(await pager(vendor, expect=200).records(limit=5)) == 5
    await asyncio.sleep(0)
    assert vendor.in_flight == 0
    assert vendor.answered == 1  # the pages asked for ahead were cancelled, not answered
