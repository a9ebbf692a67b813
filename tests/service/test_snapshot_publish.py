"""Publishing the analysts' snapshot, exporting to Parquet, and the data dictionary."""

from __future__ import annotations

from pathlib import Path

import duckdb
from typer.testing import CliRunner

from deskbridge.cli.app import app
from deskbridge.sdk.contract import Batch
from deskbridge.warehouse.export import relations
from deskbridge.warehouse.snapshot import publish, published_at, snapshot_path
from deskbridge.warehouse.store import Warehouse
from deskbridge.warehouse.views import VIEWS

ROOT = Path(__file__).resolve().parents[2]


def add_ticket(wh: Warehouse, source_id: str) -> None:
    run, started = wh.start_run("desk", False)
    row = {"source_id": source_id, "subject": source_id, "status_category": "open", "raw": {}}
    wh.apply_batch("desk", run, started, Batch(rows={"tickets": [row]}), {})
    wh.finish_run(run, "success", {}, {})


def tickets(path: Path) -> list[tuple[str]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT ticket_id FROM current_tickets ORDER BY 1").fetchall()
    finally:
        con.close()


def test_snapshot_carries_views_and_replaces_atomically(tmp_path: Path) -> None:
    """The copy has every view; a reader holding the old copy keeps it until it reconnects."""
    db = tmp_path / "desk.duckdb"
    target = snapshot_path(db)
    assert target.name == "desk.snapshot.duckdb"
    with Warehouse(db) as wh:
        add_ticket(wh, "A")
        first = publish(wh.con, db, target)
        reader = duckdb.connect(str(target), read_only=True)
        add_ticket(wh, "B")
        second = publish(wh.con, db, target)
    assert reader.execute("SELECT ticket_id FROM current_tickets").fetchall() == [("A",)]
    reader.close()
    assert tickets(target) == [("A",), ("B",)]
    assert published_at(target) == second > first
    con = duckdb.connect(str(target), read_only=True)
    views = {
        v
        for (v,) in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal"
        ).fetchall()
    }
    con.close()
    assert views == {v.name for v in VIEWS}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["desk.duckdb", "desk.snapshot.duckdb"]


def test_export_writes_every_table_and_view_as_parquet(tmp_path: Path) -> None:
    """`deskbridge export --format parquet DIR` writes one file per relation with all its rows."""
    db = tmp_path / "desk.duckdb"
    with Warehouse(db) as wh:
        add_ticket(wh, "A")
        add_ticket(wh, "B")
        names = relations(wh.con)
        counts = {n: wh.con.execute(f"SELECT count(*) FROM {n}").fetchone()[0] for n in names}  # type: ignore[index]
    result = CliRunner().invoke(
        app, ["export", "--format", "parquet", "--db", str(db), str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in (tmp_path / "out").iterdir()} == {f"{n}.parquet" for n in names}
    assert {v.name for v in VIEWS} <= set(names) and "tickets" in names
    con = duckdb.connect()
    for name, n in counts.items():
        assert con.execute(
            f"SELECT count(*) FROM '{tmp_path / 'out' / name}.parquet'"
        ).fetchone() == (n,)
    assert con.execute(
        f"SELECT ticket_id FROM '{tmp_path / 'out'}/current_tickets.parquet' ORDER BY 1"
    ).fetchall() == [("A",), ("B",)]


def test_data_dictionary_file_is_current() -> None:
    """docs/data-dictionary.md is exactly what `deskbridge schema` prints."""
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    assert (ROOT / "docs" / "data-dictionary.md").read_text() == result.stdout, (
        "regenerate with: deskbridge schema > docs/data-dictionary.md"
    )


def test_data_dictionary_covers_every_relation(tmp_path: Path) -> None:
    """Every table and view of a new warehouse has a section, and every column a meaning."""
    text = CliRunner().invoke(app, ["schema"]).stdout
    with Warehouse(tmp_path / "desk.duckdb") as wh:
        names = relations(wh.con)
    assert all(f"\n### {name}\n" in text for name in names)
    assert [
        line for line in text.splitlines() if line.startswith("| `") and line.endswith("|  |")
    ] == []
