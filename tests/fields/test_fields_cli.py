"""``deskbridge fields``: the catalog a pull stored, with counts and the most common values."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import make_harness
from typer.testing import CliRunner

from deskbridge.cli.app import app

pytestmark = pytest.mark.asyncio
RUN = CliRunner()


async def test_fields_lists_the_catalog_with_counts_and_common_values(tmp_path: Path) -> None:
    """Every custom field of the connection, whole rows; a field's samples are its commonest values."""
    h = make_harness("trackit", tmp_path, tickets=60, options={"closed_reconcile_every": "24h"})
    await h.sync()
    h.wh.close()
    truth = h.emulator.ground_truth()["ticket_fields"]
    db = str(tmp_path / "warehouse.duckdb")

    result = RUN.invoke(app, ["fields", h.config.name, "--db", db, "--json", "--samples", "2"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["key"] for r in rows] == [str(s) for s in (81, 82, 83, 84, *range(85, 91))] + [
        str(s) for s in (*range(116, 124), 146, 147)
    ]
    sites = Counter(v["value"] for v in truth.values() if v["field_key"] == "116")
    top = sorted(sites.items(), key=lambda kv: (-kv[1], kv[0]))[:2]
    assert rows[10] == {
        "key": "116",
        "field_id": "116",
        "label": "Custom Look Up 1",
        "type": "choice",
        "writable": True,
        "choices": None,
        "tickets": sum(sites.values()),
        "samples": [value for value, _ in top],
    }
    assert rows[9]["tickets"] == 0 and rows[9]["samples"] == []  # Custom Text 6: never set

    table = RUN.invoke(app, ["fields", h.config.name, "--db", db])
    assert table.exit_code == 0
    assert "│ 116" in table.output and f"ticket_fields_{h.config.name}" in table.output


async def test_fields_of_an_unknown_connection_is_one_line(tmp_path: Path) -> None:
    """A connection the warehouse never synced gets one line naming the ones it has."""
    h = make_harness("trackit", tmp_path, tickets=5)
    await h.sync()
    h.wh.close()
    result = RUN.invoke(app, ["fields", "nope", "--db", str(tmp_path / "warehouse.duckdb")])
    assert result.exit_code == 2
    assert "nope" in result.output and h.config.name in result.output
    assert "Traceback" not in result.output
