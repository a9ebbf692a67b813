"""Push rules: rejected rows are listed and retried, dry runs write nothing and predict the run."""

from __future__ import annotations

import json
from pathlib import Path

from pushkit import make_pair

from deskbridge.testing import projection


async def test_rejected_rows_are_recorded_retried_and_resolved(tmp_path: Path) -> None:
    """Notes written as an unknown staff member are refused; tickets still go; a fixed link retries them."""
    pair = make_pair(
        tmp_path, ("kayako", 6), ("kayako", 4), direction="a_to_b", author={"b": "staff:999"}
    )
    try:
        first = await pair.cycle()
        assert first.counts["create_ticket.done"] == 6
        assert first.failures and all(
            entity in ("notes", "time_entries") for entity, _, _ in first.failures
        )
        reasons = {r for _, _, r in first.failures}
        assert any("Invalid" in r or "Staff" in r for r in reasons), reasons
        open_rows = pair.wh.con.execute(
            "SELECT count(*), min(attempts) FROM push_failures WHERE resolved_at IS NULL"
        ).fetchone()
        assert open_rows == (len(first.failures), 1)
        second = await pair.cycle()  # still refused: attempts count up
        assert pair.wh.con.execute("SELECT max(attempts) FROM push_failures").fetchone() == (2,)
        pair.link.author["b"] = "staff:1"
        third = await pair.cycle()
        assert third.failures == [] and len(second.failures) == len(first.failures)
        assert pair.wh.con.execute(
            "SELECT count(*) FROM push_failures WHERE resolved_at IS NULL"
        ).fetchone() == (0,)
    finally:
        pair.wh.close()


async def test_dry_run_writes_nothing_and_its_plan_is_what_runs(tmp_path: Path) -> None:
    """A dry run leaves both helpdesks untouched; the real run then does exactly the planned actions."""
    pair = make_pair(
        tmp_path, ("kayako", 8), ("kayako", 5), author={"a": "staff:1", "b": "staff:1"}
    )
    try:
        truth = {n: e.ground_truth() for n, e in pair.emulators.items()}
        plan_file = tmp_path / "plan.json"
        dry = await pair.cycle(dry_run=True, plan_file=plan_file)
        assert {n: e.ground_truth() for n, e in pair.emulators.items()} == truth
        planned = json.loads(plan_file.read_text())
        assert len(planned) == len(dry.actions) > 0
        real = await pair.cycle(pull=False)
        key = lambda a: (a["kind"], a["entity"], a["target"], a["origin_id"])  # noqa: E731
        assert sorted(map(key, planned)) == sorted(key(a.to_json()) for a in real.actions)
        assert real.failures == []
        assert len(projection(pair.wh.con, "a_side")["tickets"]) == 8
    finally:
        pair.wh.close()


async def test_status_lists_refused_writes(tmp_path: Path) -> None:
    """deskbridge status shows each link's last push and the writes its target refused, with reasons."""
    from rich.console import Console

    from deskbridge.cli.status import push_tables

    pair = make_pair(
        tmp_path, ("kayako", 3), ("kayako", 2), direction="a_to_b", author={"b": "staff:999"}
    )
    try:
        await pair.cycle()
        console = Console(width=200, record=True)
        for table in push_tables(pair.wh.con):
            console.print(table)
        text = console.export_text()
        assert "pair" in text and "partial" in text and "Staff ID is Invalid" in text
    finally:
        pair.wh.close()
