"""The writer's memory stays flat: DuckDB's cache is cut back after each batch, rows still replace."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from deskbridge.sdk.contract import Batch
from deskbridge.warehouse.attached import ROW_GROUP_ROWS
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


def _row_groups(con: object, table: str) -> list[int]:
    """Rows in each row group of ``table``, in order."""
    return [
        n
        for (n,) in con.execute(  # type: ignore[attr-defined]
            f"SELECT sum(count) FROM pragma_storage_info('{table}') "
            "WHERE column_name = 'source_id' AND segment_type = 'VARCHAR' "
            "GROUP BY row_group_id ORDER BY row_group_id"
        ).fetchall()
    ]


def test_a_writer_stores_small_row_groups_so_a_checkpoint_rewrites_little(tmp_path: Path) -> None:
    """20,000 tickets in eight batches: row groups of ROW_GROUP_ROWS, not DuckDB's 122,880, so
    each commit's checkpoint rewrites at most one small, partly filled group. The file opened
    again, by a second writer, keeps every row and the small groups."""
    path = tmp_path / "w.duckdb"
    with Warehouse(path) as wh:
        run_id, started = wh.start_run("c", False)
        for part in range(8):
            batch = Batch(rows={"tickets": _tickets(part * 2500, 2500, "s")})
            wh.apply_batch("c", run_id, started, batch, {})
        wh.con.execute("CHECKPOINT")
        assert _row_groups(wh.con, "tickets") == [ROW_GROUP_ROWS, ROW_GROUP_ROWS, 3616]
    assert not Path(f"{path}.wal").exists()  # the last writer's close checkpointed the file
    with Warehouse(path) as wh:
        assert wh.con.execute("SELECT count(DISTINCT source_id) FROM tickets").fetchone() == (
            20_000,
        )
        assert _row_groups(wh.con, "tickets")[:2] == [ROW_GROUP_ROWS, ROW_GROUP_ROWS]


def test_two_writers_in_one_process_share_the_file_until_the_last_closes(tmp_path: Path) -> None:
    """As two ``duckdb.connect`` of one file would: a second Warehouse sees the first's commits,
    closing either leaves the other working, and once both are closed another DuckDB opens the
    file (its lock is gone) and finds every row."""
    path = tmp_path / "w.duckdb"
    first, second = Warehouse(path), Warehouse(path)
    run_id, started = first.start_run("c", False)
    first.apply_batch("c", run_id, started, Batch(rows={"tickets": _tickets(0, 3, "a")}), {})
    assert second.con.execute("SELECT count(*) FROM tickets").fetchone() == (3,)
    first.close()
    second.apply_batch("c", run_id, started, Batch(rows={"tickets": _tickets(3, 2, "b")}), {})
    second.close()
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute(
            "SELECT subject, count(*) FROM tickets GROUP BY ALL ORDER BY 1"
        ).fetchall() == [
            ("a", 3),
            ("b", 2),
        ]
    finally:
        con.close()


def test_looking_up_new_ids_reads_no_stored_payload(tmp_path: Path) -> None:
    """~40 MB of payloads stored, the file opened again (nothing cached): the upsert's lookup of
    ids not stored yet (every slice of a first sync) reads the ids alone, so DuckDB caches a few
    MB, not the payloads; ids that are stored still bring back what the upsert keeps."""
    with Warehouse(tmp_path / "w.duckdb", memory_limit="128MB") as wh:
        run_id, started = wh.start_run("c", False)
        for part in range(4):
            batch = Batch(rows={"tickets": _tickets(part * 2500, 2500, "s")})
            wh.apply_batch("c", run_id, started, batch, {})
    with Warehouse(tmp_path / "w.duckdb", memory_limit="128MB") as wh:
        assert wh._kept("tickets", "c", [str(i) for i in range(20_000, 22_000)]) == {}
        assert _cached(wh) < 6 * 10**6  # 2.4 MB; the payloads: 11 MB
        kept = wh._kept("tickets", "c", ["5", "20000"])
        assert list(kept) == ["5"] and kept["5"][2] is not None  # its hash


def test_stored_ids_are_looked_up_in_one_query_while_slices_find_them(tmp_path: Path) -> None:
    """A reconcile's slices are mostly rows already stored: once a slice finds most of its ids,
    the next one reads what the upsert keeps at once, without the id-only lookup first, and
    gets the same answer; a slice of new ids turns the id-only lookup back on."""
    with Warehouse(tmp_path / "w.duckdb") as wh:
        run_id, started = wh.start_run("c", False)
        wh.apply_batch("c", run_id, started, Batch(rows={"tickets": _tickets(0, 3000, "s")}), {})
        wh.con.execute("UPDATE tickets SET deleted_at = now() WHERE source_id = '7'")
        ids = [str(i) for i in range(0, 2000)] + ["new-1"]
        wh._stored_share.clear()
        looked_up_first = wh._kept("tickets", "c", ids)
        assert wh._stored_share["tickets"] > 0.99
        assert looked_up_first["7"][2] is None and looked_up_first["8"][2] is not None
        statements: list[str] = []
        con = wh.con
        wh.con = Counting(con, statements)  # type: ignore[assignment]
        try:
            at_once = wh._kept("tickets", "c", ids)
            assert len(statements) == 1
            assert at_once == looked_up_first and len(at_once) == 2000
            assert wh._kept("tickets", "c", [f"new-{i}" for i in range(50)]) == {}
            assert wh._stored_share["tickets"] == 0.0
            statements.clear()
            assert wh._kept("tickets", "c", ["5", "new-2"]).keys() == {"5"}
            assert len(statements) == 2  # ids first, then the payloads of the one found
        finally:
            wh.con = con


class Counting:
    """A DuckDB connection that notes each statement it runs."""

    def __init__(self, con: duckdb.DuckDBPyConnection, statements: list[str]) -> None:
        self.con, self.statements = con, statements

    def execute(self, sql: str, params: object = None) -> duckdb.DuckDBPyConnection:
        self.statements.append(sql)
        return self.con.execute(sql, params)
