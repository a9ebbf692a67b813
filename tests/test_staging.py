"""Arrow rows handed to DuckDB, streamed or as a temporary table (warehouse/staging.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pytest

from deskbridge.warehouse.staging import staged, streamed

ROWS = pa.table(
    {
        "source_id": ["1", "2", "3"],
        "raw": ['{"a": 1}', None, '{"b": "ü"}'],
        "seen": pa.array([datetime(2026, 12, 6, 10, tzinfo=UTC)] * 3, pa.timestamp("us", tz="UTC")),
    }
)


def test_staged_rows_are_read_by_every_statement_of_the_block_then_dropped() -> None:
    """Each statement of the block reads all rows with their types; the table is gone after."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE t (source_id VARCHAR, raw JSON, seen TIMESTAMPTZ)")
    with staged(con, "rows_in", ROWS):
        con.execute("INSERT INTO t SELECT * FROM rows_in WHERE source_id <> '2'")
        con.execute("INSERT INTO t SELECT * FROM rows_in WHERE source_id = '2'")
        assert con.execute("SELECT count(*) FROM rows_in").fetchone() == (3,)
    assert con.execute("SELECT source_id, raw::VARCHAR, seen FROM t ORDER BY 1").fetchall() == [
        ("1", '{"a": 1}', datetime(2026, 12, 6, 10, tzinfo=UTC)),
        ("2", None, datetime(2026, 12, 6, 10, tzinfo=UTC)),
        ("3", '{"b": "ü"}', datetime(2026, 12, 6, 10, tzinfo=UTC)),
    ]
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone() == (0,)


def test_a_failing_statement_keeps_its_error_and_the_transaction_rolls_the_table_back() -> None:
    """The statement's own error reaches the caller; nothing staged outlives the rollback."""
    con = duckdb.connect()
    con.execute("BEGIN")
    with (
        pytest.raises(duckdb.CatalogException, match="no_such_table"),
        staged(con, "rows_in", ROWS),
    ):
        con.execute("INSERT INTO no_such_table SELECT * FROM rows_in")
    con.execute("ROLLBACK")
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone() == (0,)


def test_streamed_rows_are_read_whole_by_each_statement_then_unregistered() -> None:
    """Each ``scan()`` gives the next statement every row with its types, without a copy in
    DuckDB; after the block the name reads nothing."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE t (source_id VARCHAR, raw JSON, seen TIMESTAMPTZ)")
    with streamed(con, "rows_in", ROWS) as scan:
        con.execute(f"INSERT INTO t SELECT * FROM {scan()} WHERE source_id <> '2'")
        con.execute(f"INSERT INTO t SELECT * FROM {scan()} WHERE source_id IN (SELECT '2')")
        assert con.execute(f"SELECT count(*) FROM {scan()}").fetchone() == (3,)
    assert con.execute("SELECT source_id, raw::VARCHAR, seen FROM t ORDER BY 1").fetchall() == [
        ("1", '{"a": 1}', datetime(2026, 12, 6, 10, tzinfo=UTC)),
        ("2", None, datetime(2026, 12, 6, 10, tzinfo=UTC)),
        ("3", '{"b": "ü"}', datetime(2026, 12, 6, 10, tzinfo=UTC)),
    ]
    with pytest.raises(duckdb.CatalogException, match="rows_in"):
        con.execute("SELECT count(*) FROM rows_in")
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone() == (0,)


def test_a_failing_streamed_statement_keeps_its_error_and_leaves_nothing_registered() -> None:
    con = duckdb.connect()
    con.execute("BEGIN")
    with (
        pytest.raises(duckdb.CatalogException, match="no_such_table"),
        streamed(con, "rows_in", ROWS) as scan,
    ):
        con.execute(f"INSERT INTO no_such_table SELECT * FROM {scan()}")
    con.execute("ROLLBACK")
    with pytest.raises(duckdb.CatalogException, match="rows_in"):
        con.execute("SELECT count(*) FROM rows_in")
