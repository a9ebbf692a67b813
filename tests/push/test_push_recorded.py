"""A push that stops (preflight, cancellation) is recorded as failed with its cause: status says why."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from pushkit import make_pair

from deskbridge.push.preflight import PreflightError
from deskbridge.warehouse import metrics, status


def push_runs(pair) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    return pair.wh.con.execute(
        "SELECT status, dry_run, error, ended_at IS NOT NULL FROM push_runs ORDER BY push_id"
    ).fetchall()


async def test_a_push_stopped_by_preflight_is_a_failed_run_naming_the_problem(
    tmp_path: Path,
) -> None:
    pair = make_pair(
        tmp_path, ("kayako", 2), ("whmcs", 2), direction="a_to_b", author={"b": "admin:77"},
        defaults={"b": {"department": "Technical Support"}},
    )  # fmt: skip
    try:
        with pytest.raises(PreflightError):
            await pair.cycle(check=True)
        problem = "links.pair.author.b: 'admin:77' is not a whmcs staff of b_side"
        [(state, dry, error, ended)] = push_runs(pair)
        assert (state, dry, ended) == ("failed", False, True)
        assert error.startswith(f"PreflightError: {problem}")
        [last] = status.last_pushes(pair.wh.con)
        assert last[0] == "pair" and last[2] == "failed" and last[6] == error
        figures = metrics.read(pair.wh.con, [], {"pair": ("a_side", "b_side")}, frozenset())
        assert (figures.links["pair"].last_status, figures.links["pair"].last_error) == (
            "failed",
            error,
        )
        assert pair.wh.con.execute("SELECT count(*) FROM crosswalk").fetchone() == (0,)
    finally:
        pair.wh.close()


async def test_a_cancelled_push_ends_failed_with_its_counts_not_running(tmp_path: Path) -> None:
    """serve stopping mid-push: the run ends 'failed' ('interrupted'), keeping what it counted."""
    pair = make_pair(tmp_path, ("kayako", 30), ("kayako", 2), direction="a_to_b")
    target = pair.emulators["b_side"]
    target.knobs.latency_ms = 20
    try:
        task = asyncio.ensure_future(pair.cycle())
        while len(target.store.tickets) < 4:  # type: ignore[attr-defined]  # creates are landing
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        [(state, dry, error, ended)] = push_runs(pair)
        assert (state, dry, error, ended) == ("failed", False, "interrupted", True)
        counts = json.loads(pair.wh.con.execute("SELECT counts FROM push_runs").fetchone()[0])
        assert counts["create_ticket.planned"] == 30 and counts["mode"] == "sync"
    finally:
        pair.wh.close()
