"""The analysts' views return hand-checked numbers on a small, hand-made warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from deskbridge.sdk.contract import Batch
from deskbridge.warehouse import service_state
from deskbridge.warehouse.store import Warehouse
from deskbridge.warehouse.views import VIEWS


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, minute, tzinfo=UTC)


def ticket(source_id: str, created: datetime, category: str, **fields: Any) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "subject": f"Subject {source_id}",
        "status": category.title(),
        "status_category": category,
        "priority": "High",
        "priority_level": "high",
        "created_at": created,
        "updated_at": created,
        "raw": {},
        **fields,
    }


def note(
    source_id: str, ticket_id: str, kind: str, author_kind: str, created: datetime
) -> dict[str, Any]:
    visibility = "private" if kind == "note" else "public"
    return {
        "source_id": source_id,
        "ticket_id": ticket_id,
        "kind": kind,
        "visibility": visibility,
        "author_kind": author_kind,
        "created_at": created,
        "body": "text",
        "raw": {},
    }


def entry(
    source_id: str, ticket_id: str, worker: str, worked: int, billable: int, when: datetime
) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "ticket_id": ticket_id,
        "worker_id": worker,
        "seconds_worked": worked,
        "seconds_billable": billable,
        "work_time": when,
        "raw": {},
    }


ACME = Batch(
    rows={
        "people": [
            {"source_id": "p1", "kind": "staff", "name": "Ann Agent", "raw": {}},
            {"source_id": "p2", "kind": "staff", "name": "Bob Agent", "raw": {}},
            {"source_id": "u1", "kind": "requester", "name": "Cat Customer", "raw": {}},
        ],
        "tickets": [
            ticket("T1", at(4, 9), "open", requester_id="u1", assignee_id="p1"),
            ticket("T2", at(4, 10), "resolved", resolved_at=at(5, 10), updated_at=at(5, 10)),
            ticket(
                "T3", at(5, 8), "closed", updated_at=at(6, 8, 30)
            ),  # no resolved_at: closed at its update
            ticket("T4", at(5, 12), "pending"),  # deleted below
        ],
        "notes": [
            note("N1", "T1", "reply", "staff", at(4, 9, 30)),
            note("N2", "T1", "reply", "requester", at(4, 9, 10)),
            note("N3", "T1", "note", "staff", at(4, 9, 5)),
            note("N4", "T2", "reply", "staff", at(4, 10)),  # the opening message, not a response
            note("N5", "T2", "reply", "staff", at(4, 12)),
            note("N6", "T4", "reply", "staff", at(5, 13)),
        ],
        "time_entries": [
            entry("E1", "T1", "p1", 3600, 1800, at(4, 15)),
            entry("E2", "T2", "p1", 5400, 5400, at(6, 11)),
            entry("E3", "T3", "p2", 900, 0, at(11, 9)),
            entry("E4", "T4", "p2", 7200, 7200, at(5, 14)),
        ],
    }
)
BETA = Batch(rows={"tickets": [ticket("B1", at(5, 0, 30), "new")]})


@pytest.fixture
def wh(tmp_path: Path) -> Iterator[Warehouse]:
    with Warehouse(tmp_path / "views.duckdb") as wh:
        run, started = wh.start_run("acme", False)
        wh.apply_batch("acme", run, started, ACME, {})
        wh.apply_batch("acme", run, started, Batch(deleted={"tickets": ["T4"]}), {})
        wh.finish_run(run, "success", {}, {})
        failed, _ = wh.start_run("acme", False)
        wh.finish_run(failed, "failed", {}, {}, error="boom")
        service_state.save(wh.con, "acme", None, at(20, 12), datetime.now(UTC))
        run, started = wh.start_run("beta", False)
        wh.apply_batch("beta", run, started, BETA, {})
        wh.finish_run(run, "success", {}, {})
        yield wh


def rows(wh: Warehouse, sql: str) -> list[tuple[Any, ...]]:
    return wh.con.execute(sql).fetchall()


def test_current_tickets(wh: Warehouse) -> None:
    """Live tickets only, with people's names, open flag and when closed tickets closed."""
    assert rows(
        wh,
        "SELECT connection, ticket_id, status_category, requester_name, assignee_name, is_open, "
        "closed_at FROM current_tickets ORDER BY 1, 2",
    ) == [
        ("acme", "T1", "open", "Cat Customer", "Ann Agent", True, None),
        ("acme", "T2", "resolved", None, None, False, at(5, 10)),
        ("acme", "T3", "closed", None, None, False, at(6, 8, 30)),
        ("beta", "B1", "new", None, None, True, None),
    ]


def test_backlog_daily(wh: Warehouse) -> None:
    """Opened, closed and open at the end of each day, per connection, continuing to today."""
    got = rows(
        wh,
        "SELECT connection, day, opened, closed, open_tickets FROM backlog_daily "
        "WHERE day <= DATE '2024-03-07' ORDER BY 1, 2",
    )
    assert got == [
        ("acme", date(2024, 3, 4), 2, 0, 2),
        ("acme", date(2024, 3, 5), 1, 1, 2),
        ("acme", date(2024, 3, 6), 0, 1, 1),
        ("acme", date(2024, 3, 7), 0, 0, 1),
        ("beta", date(2024, 3, 5), 1, 0, 1),
        ("beta", date(2024, 3, 6), 0, 0, 1),
        ("beta", date(2024, 3, 7), 0, 0, 1),
    ]
    today = datetime.now(UTC).date()
    assert rows(
        wh,
        "SELECT connection, max(day), arg_max(open_tickets, day) FROM backlog_daily "
        "GROUP BY 1 ORDER BY 1",
    ) == [
        ("acme", today, 1),
        ("beta", today, 1),
    ]


def test_ticket_response_times(wh: Warehouse) -> None:
    """First public staff reply after creation, and creation to close, in seconds."""
    assert rows(
        wh,
        "SELECT ticket_id, first_response_at, first_response_s, closed_at, resolution_s "
        "FROM ticket_response_times ORDER BY connection, ticket_id",
    ) == [
        ("T1", at(4, 9, 30), 1800, None, None),
        ("T2", at(4, 12), 7200, at(5, 10), 86400),
        ("T3", None, None, at(6, 8, 30), 88200),
        ("B1", None, None, None, None),
    ]


def test_agent_hours_weekly(wh: Warehouse) -> None:
    """Hours per agent per Monday-based UTC week; the deleted ticket's entry is gone."""
    assert rows(wh, "SELECT * FROM agent_hours_weekly ORDER BY week, agent_id") == [
        ("acme", date(2024, 3, 4), "p1", "Ann Agent", 2, 2.5, 2.0),
        ("acme", date(2024, 3, 11), "p2", "Bob Agent", 1, 0.25, 0.0),
    ]


def test_notes_per_ticket(wh: Warehouse) -> None:
    """Replies by side and internal notes per live ticket, zeros included."""
    assert rows(wh, "SELECT * FROM notes_per_ticket ORDER BY connection, ticket_id") == [
        ("acme", "T1", "Subject T1", 2, 1, 1, 1, at(4, 9, 30)),
        ("acme", "T2", "Subject T2", 2, 2, 0, 0, at(4, 12)),
        ("acme", "T3", "Subject T3", 0, 0, 0, 0, None),
        ("beta", "B1", "Subject B1", 0, 0, 0, 0, None),
    ]


def test_sync_freshness(wh: Warehouse) -> None:
    """Last run and success, failures in a row and backoff per connection; lag from the success."""
    got = rows(
        wh,
        "SELECT connection, last_run_id, last_status, consecutive_failures, backoff_until, "
        "last_success_at, lag_s FROM sync_freshness ORDER BY 1",
    )
    ended = dict(rows(wh, "SELECT run_id, ended_at FROM sync_runs"))
    assert [r[:6] for r in got] == [
        ("acme", 2, "failed", 1, at(20, 12), ended[1]),
        ("beta", 3, "success", 0, None, ended[3]),
    ]
    now = datetime.now(UTC)
    for *_, success, lag in got:
        assert timedelta(0) <= now - success - timedelta(seconds=lag) < timedelta(seconds=5)


def test_every_view_has_described_columns(wh: Warehouse) -> None:
    """Each view has exactly the documented columns, with their descriptions in the catalog."""
    for view in VIEWS:
        got = rows(
            wh,
            f"SELECT column_name, comment FROM duckdb_columns() WHERE table_name = '{view.name}' "
            "ORDER BY column_index",
        )
        assert got == list(view.columns.items())
        assert rows(wh, f"SELECT comment FROM duckdb_views() WHERE view_name = '{view.name}'") == [
            (view.description,)
        ]
