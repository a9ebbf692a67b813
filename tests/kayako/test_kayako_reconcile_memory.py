"""Kayako's reconcile holds what it compares a page by for that page alone, never for the table."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
from conftest import make_harness
from test_kayako_sync import open_ids

from deskbridge.warehouse.store import Warehouse
from deskbridge.warehouse.view import ConnectionView

PAGE = 20

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


async def test_reply_counts_are_asked_a_page_at_a_time(tmp_path: Path) -> None:
    """Run two lists the open backlog again: each page's reply counts come with the page."""
    h = make_harness("kayako", tmp_path, tickets=120, options={"page_size": PAGE})
    h.wh.close()
    h.wh = NotingWarehouse(tmp_path / "warehouse.duckdb")
    await h.sync()
    NotedView.asked.clear()
    await h.sync()
    h.assert_truth()
    asked = NotedView.asked
    assert None not in asked  # no question about every ticket of the table
    assert all(0 < len(ids) <= PAGE for ids in asked if ids is not None)
    listed = {i for ids in asked if ids is not None for i in ids}
    assert listed == {str(t) for t in open_ids(h)}  # every open ticket compared, once listed
    h.wh.close()
