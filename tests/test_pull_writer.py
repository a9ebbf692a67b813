"""The sync's writer: reading goes on while a batch commits; order and failures stay as before."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from deskbridge.pull.writer import Writer
from deskbridge.sdk.contract import Batch
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
