"""The writer's memory stays flat: DuckDB's cache is cut back after each batch, rows still replace."""

from __future__ import annotations

import os
from pathlib import Path

from deskbridge.sdk.contract import Batch
from deskbridge.warehouse.duckerrors import size_bytes
from deskbridge.warehouse.store import CACHE_LIMIT, Warehouse


def _tickets(first: int, n: int, subject: str) -> list[dict[str, object]]:
    return [  # random text: DuckDB cannot compress it away
        {
            "source_id": str(i),
            "subject": subject,
            "status": "Open",
            "raw": {"pad": os.urandom(2000).hex()},
        }
        for i in range(first, first + n)
    ]


def _cached(wh: Warehouse) -> int:
    (used,) = wh.con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()  # type: ignore[misc]
    return int(used)


def test_the_cache_is_cut_back_after_each_batch_and_the_limit_restored(tmp_path: Path) -> None:
    """~40 MB of rows, all read back (DuckDB caches them, within memory_limit): the next batch
    leaves at most CACHE_LIMIT cached, and the configured memory_limit is back."""
    with Warehouse(tmp_path / "w.duckdb", memory_limit="128MB") as wh:
        run_id, started = wh.start_run("c", False)
        for part in range(4):
            batch = Batch(rows={"tickets": _tickets(part * 2500, 2500, "s")})
            wh.apply_batch("c", run_id, started, batch, {})
        wh.con.execute("SELECT max(raw) FROM tickets").fetchall()
        assert _cached(wh) > size_bytes(CACHE_LIMIT)
        wh.apply_batch("c", run_id, started, Batch(rows={"tickets": _tickets(20_000, 10, "s")}), {})
        assert _cached(wh) <= size_bytes(CACHE_LIMIT)
        assert wh.con.execute("SELECT current_setting('memory_limit')").fetchone() == ("122.0 MiB",)
        assert wh.con.execute("SELECT count(*) FROM tickets").fetchone() == (10_010,)


def test_rows_stored_before_are_replaced_not_doubled(tmp_path: Path) -> None:
    """The upsert deletes only the rows it found stored: a batch mixing stored and new ids
    leaves one row per id, with the new values and the first sighting kept."""
    with Warehouse(tmp_path / "w.duckdb") as wh:
        run_id, started = wh.start_run("c", False)
        wh.apply_batch("c", run_id, started, Batch(rows={"tickets": _tickets(0, 3, "old")}), {})
        first = dict(wh.con.execute("SELECT source_id, first_seen_at FROM tickets").fetchall())
        wh.apply_batch("c", run_id, started, Batch(rows={"tickets": _tickets(1, 3, "new")}), {})
        rows = wh.con.execute(
            "SELECT source_id, subject FROM tickets ORDER BY source_id::INT"
        ).fetchall()
        assert rows == [("0", "old"), ("1", "new"), ("2", "new"), ("3", "new")]
        kept = dict(wh.con.execute("SELECT source_id, first_seen_at FROM tickets").fetchall())
        assert {k: kept[k] for k in first} == first
