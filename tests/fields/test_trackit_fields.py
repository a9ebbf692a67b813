"""Track-It! custom fields (Custom Text, Date, Integer, Numeric, Look Up by sequence) in the warehouse."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Harness, make_harness
from fieldkit import catalog, stored_fields

from deskbridge_connectors.trackit.emulator import TrackitEmulator

pytestmark = pytest.mark.asyncio
CUSTOM_SEQS = [81, 82, 83, 84, 85, 86, 87, 88, 89, 90, *range(116, 124), 146, 147]


def trackit(tmp_path: Path) -> tuple[Harness, TrackitEmulator]:
    h = make_harness("trackit", tmp_path, tickets=60, options={"closed_reconcile_every": "24h"})
    assert isinstance(h.emulator, TrackitEmulator)
    return h, h.emulator


def open_ticket(emu: TrackitEmulator, without: int) -> int:
    """An open ticket whose field ``without`` has no value."""
    return next(
        t.id
        for t in emu.store.tickets.values()
        if not t.closed_at and (t.own or {}).get(without) is None
    )


async def test_pull_equals_ground_truth_field_by_field(tmp_path: Path) -> None:
    """Every set custom field of every ticket is one ticket_fields row, whole rows equal to the truth."""
    h, emu = trackit(tmp_path)
    await h.sync()
    truth = emu.ground_truth()["ticket_fields"]
    assert {row["type"] for row in truth.values()} == {
        "text",
        "datetime",
        "integer",
        "number",
        "choice",
    }
    assert stored_fields(h.wh.con, h.config.name) == truth
    assert [row[0] for row in catalog(h.wh.con, h.config.name)] == [str(s) for s in CUSTOM_SEQS]
    assert catalog(h.wh.con, h.config.name)[4] == ("85", "Custom Text 1", "text", True, None)
    h.wh.close()


async def test_an_edit_in_the_vendor_is_picked_up_incrementally(tmp_path: Path) -> None:
    """A technician sets a look-up and clears a text field: the next incremental run shows both."""
    h, emu = trackit(tmp_path)
    await h.sync()
    tid = open_ticket(emu, without=116)
    cleared = next(
        t.id for t in emu.store.tickets.values() if not t.closed_at and (t.own or {}).get(86)
    )
    gone = next(
        t.id
        for t in emu.store.tickets.values()
        if not t.closed_at and (t.own or {}).get(83) and t.id not in (tid, cleared)
    )
    emu.set_custom_field(tid, 116, "Branch North")
    emu.set_custom_field(cleared, 86, None)
    had = sum(
        1 for v in emu.ground_truth()["ticket_fields"].values() if v["ticket_id"] == str(gone)
    )
    emu.store.delete(emu.store.tickets[gone])
    result = await h.sync()
    assert result.counts["tickets.changed"] == 2 and result.counts["tickets.deleted"] == 1
    stored = stored_fields(h.wh.con, h.config.name)
    assert stored == emu.ground_truth()["ticket_fields"]
    assert stored[f"{tid}:116"]["value"] == "Branch North"
    assert f"{cleared}:86" not in stored
    dead = h.wh.con.execute(
        "SELECT count(*) FROM ticket_fields WHERE ticket_id = ? AND deleted_at IS NOT NULL",
        [str(gone)],
    ).fetchone()
    assert dead == (had,)  # kept, marked deleted with their ticket
    history = h.wh.con.execute(
        "SELECT count(*) FROM ticket_history WHERE connection = ? AND source_id = ?",
        [h.config.name, str(tid)],
    ).fetchone()
    assert history == (2,)  # the field change is a new version of the ticket
    rewritten = h.wh.con.execute(
        "SELECT ticket_id, field_key FROM ticket_fields WHERE run_id = 2"
    ).fetchall()
    assert rewritten == [(str(tid), "116")]  # the edited tickets' other values stay as written
    h.wh.close()


async def test_a_renamed_field_is_relabelled_and_pivoted_by_its_new_name(tmp_path: Path) -> None:
    """The installation renames Custom Look Up 1: catalog, stored values and the pivot view follow."""
    h, emu = trackit(tmp_path)
    await h.sync()
    emu.rename_field(116, "Site")
    tid = open_ticket(emu, without=116)
    emu.set_custom_field(tid, 116, "Warehouse")
    await h.sync()
    assert catalog(h.wh.con, h.config.name)[10] == ("116", "Site", "choice", True, None)
    labels = h.wh.con.execute(
        "SELECT DISTINCT label FROM ticket_fields WHERE connection = ? AND field_key = '116'",
        [h.config.name],
    ).fetchall()
    assert labels == [("Site",)]
    row = h.wh.con.execute(
        f"SELECT site, custom_integer_1 FROM ticket_fields_{h.config.name} WHERE ticket_id = ?",
        [str(tid)],
    ).fetchone()
    assert row == ("Warehouse", emu.store.tickets[tid].own.get(83))  # type: ignore[union-attr]
    h.wh.close()


async def test_an_unchanged_rerun_writes_nothing(tmp_path: Path) -> None:
    """Fields are hashed with their ticket: a rerun with nothing changed counts no change at all."""
    h, _ = trackit(tmp_path)
    await h.sync()
    result = await h.sync()
    assert {k: v for k, v in result.counts.items() if v} == {}
    h.wh.close()


async def test_a_version_2_warehouse_gains_the_tables_and_fills_them(tmp_path: Path) -> None:
    """Opening a warehouse from before custom fields adds both tables; a run fills those of the
    tickets it reads (every one with --full-refresh or the closed reconcile)."""
    import duckdb

    from deskbridge.sdk import models
    from deskbridge.warehouse.store import Warehouse

    h, emu = trackit(tmp_path)
    await h.sync()
    h.wh.close()
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute(f"DROP VIEW ticket_fields_{h.config.name}")
    con.execute("DROP TABLE ticket_fields")
    con.execute("DROP TABLE fields")
    con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    con.execute("UPDATE tickets SET content_hash = 'hashed by version 2'")  # fields not hashed
    con.close()

    h.wh = Warehouse(path)
    version = h.wh.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert version == (str(models.SCHEMA_VERSION),) == ("4",)
    assert h.wh.con.execute("SELECT count(*) FROM ticket_fields").fetchone() == (0,)
    await h.sync(full_refresh=True)
    assert stored_fields(h.wh.con, h.config.name) == emu.ground_truth()["ticket_fields"]
    assert len(catalog(h.wh.con, h.config.name)) == len(CUSTOM_SEQS)
    h.wh.close()
