"""deskbridge demo: five sandboxes, two syncs, the analysts' queries and a two-way link, from scratch each time."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from rich.console import Console

from deskbridge.cli.demo import run_demo
from deskbridge.sdk.errors import DeskbridgeError


def test_demo_runs_the_whole_pipeline_twice(tmp_path: Path) -> None:
    """Each vendor synced twice; the link twins tickets, carries one edit back, then has nothing to do."""
    db = tmp_path / "demo.duckdb"
    for _ in range(2):  # a second demo starts from a new warehouse, as its sandboxes do
        console = Console(width=200, record=True)
        assert run_demo(db, tickets=20, changes=5, console=console)
        con = duckdb.connect(str(db), read_only=True)
        try:
            runs = con.execute(
                "SELECT connection, count(*), bool_and(status = 'success') FROM sync_runs GROUP BY 1 ORDER BY 1"
            ).fetchall()
            pushes = [
                json.loads(c)
                for (c,) in con.execute("SELECT counts FROM push_runs ORDER BY push_id").fetchall()
            ]
        finally:
            con.close()
        assert runs == [
            (f"{v}_demo", 2 if v not in ("kayako", "trackit") else 4, True)
            for v in ("kayako", "m4", "omnidesk", "trackit", "whmcs")
        ]
        assert len(pushes) == 3 and pushes[0]["create_ticket.done"] > 0
        assert pushes[1].get("update_ticket.done") == 1
        assert not any(k.endswith(".done") for k in pushes[2])
        assert "again (no echo)" in console.export_text()


def test_demo_refuses_a_warehouse_with_real_connections(tmp_path: Path) -> None:
    db = tmp_path / "real.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE sync_runs AS SELECT 'support' AS connection")
    con.close()
    with pytest.raises(DeskbridgeError, match="holds connections support, not a demo's"):
        run_demo(db, tickets=5, changes=1, console=Console())
    assert db.exists()
