"""Kayako's reconcile holds what it compares pages by for a window of ticket ids, never for the table."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
from conftest import make_harness
from test_kayako_sync import open_ids

from deskbridge.warehouse.store import Warehouse
from deskbridge.warehouse.view import ConnectionView
from deskbridge_connectors.kayako.streams import RepliesHeld

PAGE = 10

pytestmark = pytest.mark.asyncio


class NotedView(ConnectionView):
    """The real view, noting the ticket ids each ``child_counts`` asked about (None: all)."""

    asked: ClassVar[list[list[str] | None]] = []

    def child_counts(self, entity: str, **equals: Any) -> dict[str, int]:
        ids = equals.get("ticket_id")
        self.asked.append(None if ids is None else list(ids))
        return super().child_counts(entity, **equals)


class NotingWarehouse(Warehouse):
    def view(self, connection: str) -> ConnectionView:
        return NotedView(self, connection)


async def test_reply_counts_are_asked_a_window_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run two lists the open backlog again: reply counts come a window of ticket ids at a time,
    never for the whole table, fewer questions than pages, and every open ticket compared."""
    monkeypatch.setattr(RepliesHeld, "WINDOW", 60)
    h = make_harness("kayako", tmp_path, tickets=120, options={"page_size": PAGE})
    h.wh.close()
    h.wh = NotingWarehouse(tmp_path / "warehouse.duckdb")
    await h.sync()
    NotedView.asked.clear()
    await h.sync()
    h.assert_truth()
    asked = NotedView.asked
    assert None not in asked  # no question about every ticket of the table
    assert all(0 < len(ids) <= 4 * RepliesHeld.WINDOW for ids in asked if ids is not None)
    opened = {str(t) for t in open_ids(h)}
    pages = -(-len(opened) // PAGE)
    assert 1 <= len(asked) < pages
    listed = {i for ids in asked if ids is not None for i in ids}
    assert opened <= listed  # every open ticket compared
    h.wh.close()


async def test_window_answers_as_exact_questions_would(tmp_path: Path) -> None:
    """Pages answered from a window give the counts asking about exactly their tickets gives;
    ids that are not plain numbers, and a page spread over more than four windows, are asked
    about exactly."""
    from deskbridge.sdk.contract import Batch

    def reply(i: int, ticket: str) -> dict[str, Any]:
        return {"source_id": f"post:{i}", "ticket_id": ticket, "kind": "reply", "raw": {}}

    with NotingWarehouse(tmp_path / "w.duckdb") as wh:
        run_id, started = wh.start_run("c", False)
        tickets = [str(n) for n in range(1, 400, 3)] + ["007", "x-9", "100000"]
        notes = [reply(i, t) for i, t in enumerate(tickets) for _ in range(i % 4)]
        notes = [dict(n, source_id=f"post:{k}") for k, n in enumerate(notes)]
        wh.apply_batch("c", run_id, started, Batch(rows={"notes": notes}), {})
        view = wh.view("c")
        held = RepliesHeld(view)
        held.WINDOW = 100
        NotedView.asked.clear()
        numbered = tickets[:-3]  # 1, 4, ..., 397: a page of 10 spans 28 ticket numbers
        pages = [numbered[i : i + 10] for i in range(0, len(numbered), 10)]
        for page in pages:
            records = [{"id": t} for t in page]
            assert held(records) == ConnectionView(wh, "c").child_counts(
                "notes", kind="reply", ticket_id=page
            )
        assert len(pages) == 14
        assert len(NotedView.asked) == 5  # windows from 1, 91, 181, 271, 361
        NotedView.asked.clear()
        for odd in (["007", "1"], ["x-9"], ["4", "100000"]):
            assert held([{"id": t} for t in odd]) == ConnectionView(wh, "c").child_counts(
                "notes", kind="reply", ticket_id=odd
            )
            assert NotedView.asked[-1] == odd
