"""Two-way sync between two Kayako helpdesks: twins, no echo, no duplicates, convergence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pushkit import Pair, make_pair


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    p = make_pair(
        tmp_path,
        ("kayako", 15),
        ("kayako", 12),
        direction="both",
        author={"a": "staff:1", "b": "staff:1"},
        conflict={"status": "a"},
    )
    yield p
    p.wh.close()


def live(pair: Pair, entity: str, name: str) -> int:
    return pair.wh.con.execute(
        f"SELECT count(*) FROM {entity} WHERE connection = ? AND deleted_at IS NULL", [name]
    ).fetchone()[0]


async def test_first_cycle_twins_everything_and_second_writes_nothing(pair: Pair) -> None:
    """Every ticket, note and time entry gets a twin; the next cycle pushes nothing (no echo)."""
    first = await pair.cycle()
    assert first.failures == []
    a_tickets, b_tickets = (
        len(pair.emulators["a_side"].store.tickets),
        len(pair.emulators["b_side"].store.tickets),
    )
    assert a_tickets == b_tickets == 15 + 12
    second = await pair.cycle()
    assert second.actions == [] and second.writes == 0
    for entity in ("tickets", "time_entries"):
        assert live(pair, entity, "a_side") == live(pair, entity, "b_side"), entity
    # each side also holds one "Synced from ..." opening post per ticket deskbridge created there
    assert live(pair, "notes", "a_side") - 12 == live(pair, "notes", "b_side") - 15
    assert duplicated_markers(pair) == []


def duplicated_markers(pair: Pair) -> list[tuple[str, str, str, int]]:
    """Markers that occur more than once in one table on one side: a doubled write.

    (On Track-It a note with a duration is both a note and a time entry, so tables count apart.)
    """
    return pair.wh.con.execute(
        "SELECT connection, t, m, count(*) FROM ("
        "SELECT connection, 'notes' AS t, regexp_extract(coalesce(body, ''), '\\[deskbridge:[0-9a-f:]+\\]') AS m "
        "FROM notes WHERE deleted_at IS NULL UNION ALL SELECT connection, 'time_entries', "
        "regexp_extract(coalesce(note, ''), '\\[deskbridge:[0-9a-f:]+\\]') "
        "FROM time_entries WHERE deleted_at IS NULL) WHERE m <> '' GROUP BY ALL HAVING count(*) > 1"
    ).fetchall()
