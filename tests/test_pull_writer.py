"""The sync's writer: reading goes on while a batch commits; order and failures stay as before."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from test_warehouse import note

from deskbridge.pull.writer import Writer, merge, merge_scopes
from deskbridge.sdk.contract import Batch, Scope
from deskbridge.warehouse.store import Warehouse


class SlowCommits(Warehouse):
    """A warehouse whose commits wait until the test lets them go (or fail after 10 s)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.go = threading.Event()
        self.committed: list[Any] = []

    def apply_batch(self, *args: Any, **kwargs: Any) -> Any:
        assert self.go.wait(10), "the read stopped while a batch committed"
        self.committed.append(args[3].state["tickets"]["page"])
        return super().apply_batch(*args, **kwargs)


def _page(n: int) -> Batch:
    return Batch(state={"tickets": {"page": n}})


def _writer(wh: Warehouse) -> Writer:
    run_id, started = wh.start_run("c", False)
    return Writer(wh, "c", run_id, started, {}, commit_rows=0, commit_interval_s=3600)


def _state(wh: Warehouse) -> str:
    (state,) = wh.con.execute("SELECT state FROM sync_state WHERE connection = 'c'").fetchone()  # type: ignore[misc]
    return str(state)


async def test_the_next_batch_is_read_while_one_commits(tmp_path: Path) -> None:
    wh = SlowCommits(tmp_path / "w.duckdb")
    writer = _writer(wh)

    async def pages() -> AsyncIterator[Batch]:
        yield _page(1)
        yield _page(2)  # read while page 1 waits in its commit
        yield _page(3)
        wh.go.set()

    await writer.consume(pages())
    await writer.flush()
    assert wh.committed == [1, 2, 3]
    assert _state(wh) == '{"page": 3}'
    wh.close()


async def test_a_failed_read_still_hands_over_the_batches_before_it(tmp_path: Path) -> None:
    """As when read one by one: with a commit per batch, each one before the failure is committed."""
    wh = SlowCommits(tmp_path / "w.duckdb")
    wh.go.set()
    writer = _writer(wh)

    async def pages() -> AsyncIterator[Batch]:
        yield _page(1)
        yield _page(2)
        raise RuntimeError("vendor went away")

    with pytest.raises(RuntimeError, match="vendor went away"):
        await writer.consume(pages())
    assert wh.committed == [1, 2]
    assert _state(wh) == '{"page": 2}'
    wh.close()


def _pages() -> list[Batch]:
    """Three listing pages, each re-reading its tickets' notes in full but one."""
    return [
        Batch(rows={"notes": [note(1, 1)]}, complete=[Scope("notes", ("1",))]),
        Batch(rows={"notes": [note(3, 2)]}, complete=[Scope("notes", ("2",))]),
        Batch(
            rows={"notes": [note(6, 3, "note")]},
            complete=[Scope("notes", ("3",), {"kind": "note"}), Scope("notes", ("4",))],
        ),
    ]


async def _suspected_after_pages(path: Path, commit_rows: int) -> list[tuple[Any, ...]]:
    with Warehouse(path) as wh:
        run_id, started = wh.start_run("c", False)
        stored = [note(1, 1), note(2, 1), note(3, 2), note(4, 2), note(5, 3, "note")]
        stored += [note(7, 3), note(8, 4)]
        wh.apply_batch("c", run_id, started, Batch(rows={"notes": stored}), {})
        run_id, started = wh.start_run("c", False)
        writer = Writer(wh, "c", run_id, started, {}, commit_rows, commit_interval_s=3600)

        async def pages() -> AsyncIterator[Batch]:
            for page in _pages():
                yield page

        await writer.consume(pages())
        await writer.flush()
        return wh.con.execute(
            "SELECT source_id, ticket_id FROM suspected_deletions ORDER BY 1"
        ).fetchall()


async def test_coalesced_pages_close_their_scopes_as_they_would_apart(tmp_path: Path) -> None:
    """Pages committed together close one scope per table and match, over all their tickets,
    and the same stored rows become deletion candidates as when each page commits alone."""
    merged = merge(_pages())
    assert merged.complete == [
        Scope("notes", ("1", "2", "4")),
        Scope("notes", ("3",), {"kind": "note"}),
    ]
    apart = await _suspected_after_pages(tmp_path / "apart.duckdb", commit_rows=0)
    together = await _suspected_after_pages(tmp_path / "together.duckdb", commit_rows=100)
    expected = [("post:2", "1"), ("post:4", "2"), ("post:5", "3"), ("post:8", "4")]
    assert apart == together == expected


def test_whole_connection_scopes_stay_apart_and_in_order() -> None:
    """A whole-connection scope keeps its place; ticket scopes of its table after it merge among
    themselves, not with those before it (a row both cover keeps the later close's reading)."""
    scopes = [
        Scope("people", None, {"kind": "requester"}),
        Scope("notes", ("1",)),
        Scope("time_entries", ("1",)),
        Scope("notes", None),
        Scope("notes", ("2",)),
        Scope("time_entries", ("2",)),
        Scope("notes", ("1", "3")),
    ]
    assert merge_scopes(scopes) == [
        scopes[0],
        Scope("notes", ("1",)),
        Scope("time_entries", ("1", "2")),
        scopes[3],
        Scope("notes", ("2", "1", "3")),
    ]


def test_one_batch_closes_a_table_once_over_the_same_tickets() -> None:
    """A Kayako reconcile page closes time entries for its stale tickets and for all its tickets:
    one close over the union, so a missing entry is suspected (and counted) once."""
    page = Batch(
        state={"tickets": {"page": 1}},
        complete=[
            Scope("time_entries", ("2",)),
            Scope("notes", ("1", "2"), {"kind": "note"}),
            Scope("time_entries", ("1", "2")),
        ],
    )
    merged = merge([page])
    assert merged.complete == [
        Scope("time_entries", ("2", "1")),
        Scope("notes", ("1", "2"), {"kind": "note"}),
    ]
    assert merged.state == page.state and len(page.complete) == 3  # the page itself is unchanged
