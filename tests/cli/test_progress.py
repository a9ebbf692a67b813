"""Progress: counts that move per ticket read, against the vendor's own total, with rate and ETA."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import make_harness
from rich.console import Console
from rich.progress import Progress

from deskbridge.cli.progress import columns

# The vendors whose listings say how many tickets there are: Kayako's TicketCount, Omnidesk's
# ``total`` and WHMCS's ``totalresults``.
COUNTED = ("kayako", "omnidesk", "whmcs")


@pytest.mark.parametrize("vendor", COUNTED)
async def test_a_first_sync_counts_every_ticket_against_the_vendors_total(
    vendor: str, tmp_path: Path
) -> None:
    """Each ticket read moves the count by one, and every report carries the vendor's total."""
    h = make_harness(vendor, tmp_path, tickets=60, options={"page_size": 25})
    seen: list[tuple[str, int, int | None]] = []
    try:
        await h.sync(progress=lambda stream, done, total: seen.append((stream, done, total)))
        n = len(h.emulator.ground_truth()["tickets"])
    finally:
        h.wh.close()
    tickets = [report for report in seen if report[0] == "tickets"]
    assert tickets == [("tickets", done, n) for done in range(1, n + 1)]


def _rendered(done: int, total: int | None) -> str:
    console = Console(width=160, record=True, force_terminal=False)
    bar = Progress(*columns(), console=console, auto_refresh=False)
    task = bar.add_task("support: tickets", total=total, unit="tickets")
    bar.update(task, completed=done // 2)
    time.sleep(0.05)
    bar.update(task, completed=done)
    console.print(bar.make_tasks_table(bar.tasks))
    return console.export_text()


def test_the_line_shows_count_total_rate_and_time_left() -> None:
    """With a total: ``done/total tickets``, a rate per second and the time left."""
    line = _rendered(1_200, 3_000)
    assert "support: tickets" in line and "1,200/3,000 tickets" in line
    assert "/s" in line and "–/s" not in line
    assert line.count("0:00:0") == 2  # elapsed, then the time left


def test_without_a_total_the_line_shows_count_and_rate_only() -> None:
    """Without a total there is no bar goal and no time left, only the count and its rate."""
    line = _rendered(1_200, None)
    assert "1,200 tickets" in line and "/3,000" not in line and "/s" in line
    assert line.count("0:00:0") == 1  # elapsed only
