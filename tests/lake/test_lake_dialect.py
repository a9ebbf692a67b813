"""The file warehouse's SQL on DuckLake: upserts become merges on the models' keys."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from deskbridge.testing import NO_PG, duplicate_keys, pg_dsn, scratch_lake
from deskbridge.warehouse.dialect import to_ddl, to_merge
from deskbridge.warehouse.lake import LakeWarehouse
from deskbridge.warehouse.locks import WorkLocks, lock_key

needs_pg = pytest.mark.skipif(pg_dsn() is None, reason=NO_PG)


def test_insert_or_replace_becomes_a_merge_on_the_key() -> None:
    assert to_merge("INSERT OR REPLACE INTO meta VALUES (?, ?)") == (
        "MERGE INTO meta USING (SELECT * FROM (VALUES (?, ?)) AS src(key, value) "
        "QUALIFY row_number() OVER (PARTITION BY key) = 1) AS excluded(key, value) "
        "ON meta.key = excluded.key WHEN MATCHED THEN UPDATE SET value = excluded.value "
        "WHEN NOT MATCHED THEN INSERT (key, value) VALUES (excluded.key, excluded.value)"
    )


def test_on_conflict_keeps_its_update_and_ignore_inserts_only() -> None:
    merged = to_merge(
        "INSERT INTO push_failures SELECT * FROM f ON CONFLICT DO UPDATE SET attempts = "
        "push_failures.attempts + 1"
    )
    assert merged is not None
    assert "WHEN MATCHED THEN UPDATE SET attempts = push_failures.attempts + 1 " in merged
    ignored = to_merge(
        "INSERT OR IGNORE INTO ticket_history (connection, source_id) SELECT a, b FROM x"
    )
    assert ignored is not None and "WHEN MATCHED" not in ignored
    assert to_merge("INSERT INTO tickets (a) SELECT a FROM batch_in") is None  # a plain insert


def test_ddl_loses_keys_and_sequences() -> None:
    assert to_ddl("CREATE SEQUENCE IF NOT EXISTS sync_run_ids START 1") == ""
    assert to_ddl(
        "CREATE TABLE IF NOT EXISTS t (\n    a BIGINT NOT NULL DEFAULT nextval('s'),\n"
        "    PRIMARY KEY (a)\n)"
    ) == ("CREATE TABLE IF NOT EXISTS t (\n    a BIGINT NOT NULL\n)")
    assert to_ddl("COMMENT ON COLUMN current_tickets.subject IS 'x'") == ""
    assert to_ddl("COMMENT ON COLUMN tickets.subject IS 'x'") is None


@needs_pg
def test_upserts_on_a_lake_keep_one_row_per_key(tmp_path: Path) -> None:
    """What the file's keys guarantee, the merges keep: the same keys written twice, one row."""
    with scratch_lake(tmp_path / "lake") as spec:
        wh = LakeWarehouse(spec)
        try:
            for value in ("1", "2"):
                with wh.transaction():
                    wh.con.execute(
                        "INSERT OR REPLACE INTO sync_state VALUES (?, ?, ?, ?, now()), "
                        "(?, ?, ?, ?, now())",
                        ["c", "tickets", value, 1, "c", "tickets", value, 1],
                    )
                    wh.con.execute(
                        "INSERT OR IGNORE INTO ticket_history (connection, source_id, "
                        "content_hash, seen_at) VALUES ('c', '1', 'h', '2026-01-01 00:00:00+00')"
                    )
            assert wh.con.execute(
                "SELECT connection, stream, state FROM sync_state"
            ).fetchall() == [("c", "tickets", "2")]
            assert wh.con.execute("SELECT count(*) FROM ticket_history").fetchone() == (1,)
            assert duplicate_keys(wh.con) == {}
        finally:
            wh.close()


@needs_pg
def test_an_advisory_lock_has_one_holder_and_dies_with_its_session() -> None:
    dsn = pg_dsn()
    assert dsn is not None
    one, two = WorkLocks(dsn), WorkLocks(dsn)
    try:
        assert one.try_take("connection", "support")
        assert not two.try_take("connection", "support")
        assert two.try_take("link", "support")  # another name, another lock
        one.close()  # a worker gone: its session's locks go with it, once the server notices
        deadline = time.monotonic() + 10
        while not two.try_take("connection", "support"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        one.close()
        two.close()
    assert lock_key("connection", "support") == lock_key("connection", "support")
    assert lock_key("connection", "support") != lock_key("link", "support")
