"""Track-It! pulls: what each pass costs in requests, checkpoints, and deletes, against the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from trackit_helpers import (
    add_note,
    by_route,
    closed_ids,
    edit,
    emu_of,
    new_ticket,
    open_ids,
    set_status,
    ticket_row,
    trackit,
)

from deskbridge.pull import engine
from deskbridge.testing import projection, truth_diff

pytestmark = pytest.mark.asyncio
MISSES = 20  # the default max_misses


class Stop(Exception):
    """Raised from the progress callback to end a run mid-walk."""


async def test_first_run_costs_four_requests_per_ticket_and_one_login(tmp_path: Path) -> None:
    """A first run: the walk probes every id plus 20 misses; each ticket costs notes, attachments, assignments."""
    h = trackit(tmp_path, closed_reconcile_every="24h")
    emu = emu_of(h)
    n, high = len(emu.store.tickets), max(emu.store.tickets)
    await h.sync()
    h.assert_truth()
    assert by_route(emu) == {
        "token": 1,
        "ticket": high + MISSES,
        "notes": n,
        "attachments": n,
        "assignments": n,
    }
    assert h.runs()[-1][1:] == ("success", high + MISSES + 3 * n, 0, None)
    assert h.states() == [("tickets", h.states()[0][1])] and f'"high": {high}' in h.states()[0][1]


async def test_incremental_run_reads_new_tickets_and_changed_open_ones(tmp_path: Path) -> None:
    """New ids are found by the walk; open tickets cost one GET each, plus three when they changed."""
    h = trackit(tmp_path, closed_reconcile_every="24h")
    emu = emu_of(h)
    await h.sync()
    stored_open = open_ids(emu)
    for i in range(3):
        new_ticket(emu, f"New laptop {i}")
    add_note(emu, stored_open[0], "Called the user back.", seconds=600)
    edit(emu, stored_open[1], "Printer jams on tray 2")
    emu.reset_counts()
    await h.sync()
    h.assert_truth()
    # walk: a window of 20 ids (3 hits, 17 misses), then the 3 more that make 20 misses in a row
    changed = 3 + 2
    assert by_route(emu) == {
        "token": 1,
        "ticket": len(stored_open) + 23,
        "notes": changed,
        "attachments": changed,
        "assignments": changed,
    }
    assert h.runs()[-1][1:] == ("success", len(stored_open) + 23 + 3 * changed, 0, None)
    assert ticket_row(h, str(stored_open[1]))["subject"] == "Printer jams on tray 2"


async def test_unchanged_rerun_costs_the_open_tickets_and_the_walk_tail(tmp_path: Path) -> None:
    """With nothing changed, a run re-reads each open ticket once and probes 20 ids: nothing else."""
    h = trackit(tmp_path, closed_reconcile_every="24h")
    emu = emu_of(h)
    await h.sync()
    emu.reset_counts()
    result = await h.sync()
    assert by_route(emu) == {"token": 1, "ticket": len(open_ids(emu)) + MISSES}
    assert {k: v for k, v in result.counts.items() if v} == {}


async def test_closed_reconcile_is_counted_apart_and_catches_reopens_and_deletes(
    tmp_path: Path,
) -> None:
    """Closed tickets reopened or deleted show up only in the closed reconcile, whose requests count apart."""
    h = trackit(tmp_path, closed_reconcile_every="24h")
    emu = emu_of(h)
    await h.sync()
    closed, opened = closed_ids(emu), open_ids(emu)
    reopened, gone_closed, gone_open = closed[0], closed[1], opened[0]
    set_status(emu, reopened, 1)
    for tid in (gone_closed, gone_open):
        emu.store.delete(emu.store.tickets[tid])

    await h.sync()  # not due: only the open ticket's deletion is seen
    assert h.runs()[-1][3] == 0
    diff = truth_diff(projection(h.wh.con, h.config.name), emu.ground_truth())
    stale = {line.split(":")[0] for line in diff if line.startswith("tickets")}
    assert stale == {f"tickets {reopened}", f"tickets {gone_closed}"}
    assert (
        ticket_row(h, str(reopened))["status"],
        ticket_row(h, str(gone_closed))["deleted_at"],
    ) == ("Closed", None)
    assert ticket_row(h, str(gone_open))["deleted_at"] is not None

    h.config.options["closed_reconcile_every"] = "0s"
    emu.reset_counts()
    await h.sync()
    h.assert_truth()
    # reconcile: one GET per stored closed ticket, three more for the reopened one
    stored_open = len(opened) - 1
    assert h.runs()[-1][2:4] == (stored_open + MISSES, len(closed) + 3)
    assert ticket_row(h, str(gone_closed))["deleted_at"] is not None
    assert ticket_row(h, str(reopened))["status_category"] == "open"


async def test_killed_first_run_resumes_from_its_last_checkpoint(tmp_path: Path) -> None:
    """A first run stopped mid-walk keeps its committed windows; the next run reads children only for the rest."""
    h = trackit(tmp_path)
    emu = emu_of(h)
    seen: list[int] = []

    def stop_in_second_window(stream: str, done: int, total: int | None) -> None:
        seen.append(done)
        if len(seen) == 2:
            raise Stop

    with pytest.raises(Stop):
        await h.sync(progress=stop_in_second_window, commit_rows=1)
    (stored,) = h.wh.con.execute("SELECT count(*) FROM tickets").fetchone()
    assert h.runs()[-1][1] == "failed" and stored == 20  # the first window of the walk
    assert '"high": 20' in h.states()[0][1]
    emu.reset_counts()
    await h.sync()
    h.assert_truth()
    rest = len(emu.store.tickets) - stored
    routes = by_route(emu)
    assert (routes["notes"], routes["attachments"], routes["assignments"]) == (rest, rest, rest)


async def test_read_tickets_rereads_children_now_and_marks_the_gone_deleted(tmp_path: Path) -> None:
    """Recovery re-read: named tickets come back with all children (4 requests each), a gone one deleted."""
    h = trackit(tmp_path)
    emu = emu_of(h)
    await h.sync()
    kept, gone = open_ids(emu)[:2]
    add_note(emu, kept, "Written while deskbridge was down.")
    emu.store.delete(emu.store.tickets[gone])
    emu.reset_counts()
    await engine.reread(h.wh, h.config, [str(kept), str(gone)], transport=h.transport)
    assert by_route(emu) == {
        "token": 1,
        "ticket": 2,
        "notes": 1,
        "attachments": 1,
        "assignments": 1,
    }
    assert ticket_row(h, str(gone))["deleted_at"] is not None
    (body,) = h.wh.con.execute(
        "SELECT body FROM notes WHERE ticket_id = ? ORDER BY source_id::INT DESC LIMIT 1",
        [str(kept)],
    ).fetchone()
    assert body == "Written while deskbridge was down."
