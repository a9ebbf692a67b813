"""``links reset`` and ``state reset`` through the CLI: what they remove, what they print, and after."""

from __future__ import annotations

from pathlib import Path

import pytest
from pushkit import make_pair
from typer.testing import CliRunner

from deskbridge.cli.app import app
from deskbridge.push.migrate import migrate, migration_link
from deskbridge.warehouse.store import Warehouse

runner = CliRunner()


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())


def count(db: Path, sql: str) -> int:
    with Warehouse(db) as wh:
        return int(wh.con.execute(sql).fetchone()[0])  # type: ignore[index]


async def test_links_reset_clears_failures_pending_rows_and_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused rows, then pending rows (a crash) and one record are cleared; the rerun relinks, writing nothing twice."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").touch()  # no links: the link is known from the warehouse
    pair = make_pair(
        tmp_path, ("kayako", 4), ("whmcs", 2), direction="a_to_b", author={"b": "admin:1"}
    )
    db = tmp_path / "push.duckdb"
    link = migration_link(pair.settings, "a_side", "b_side", None)
    result, _ = await migrate(
        pair.wh, pair.settings, link, transport_for=pair.transport
    )  # no department: refused
    failed = len(result.failures)
    pair.wh.close()
    assert (
        failed == count(db, "SELECT count(*) FROM push_failures WHERE resolved_at IS NULL") > 4
    )  # tickets and their children
    assert count(db, "SELECT count(*) FROM crosswalk") == 0  # refused creates leave no pending row
    assert cli("links", "reset", "pair", "--failed", "--db", str(db)) == (
        0,
        f"links reset pair: removed {failed} push_failures rows",
    )
    assert count(db, "SELECT count(*) FROM push_failures") == 0

    pair.wh = Warehouse(db)
    fixed = link.model_copy(update={"defaults": {"b": {"department": "Technical Support"}}})
    result, _ = await migrate(pair.wh, pair.settings, fixed, transport_for=pair.transport)
    assert result.failures == []
    linked = count(db, "SELECT count(*) FROM crosswalk WHERE state = 'linked'")
    a_ticket = pair.wh.con.execute(
        "SELECT min(a_id) FROM crosswalk WHERE entity = 'tickets'"
    ).fetchone()[0]  # type: ignore[index]
    pair.wh.con.execute(
        "UPDATE crosswalk SET state = 'pending', b_id = NULL WHERE entity = 'notes' AND a_id IN "
        "(SELECT a_id FROM crosswalk WHERE entity = 'notes' ORDER BY a_id LIMIT 2)"
    )  # a crash before the answers
    pair.wh.close()
    assert cli("links", "reset", "pair", "--pending", "--db", str(db)) == (
        0,
        "links reset pair: removed 2 crosswalk rows",
    )
    assert cli("links", "reset", "pair", "--record", f"tickets:{a_ticket}", "--db", str(db)) == (
        0,
        "links reset pair: removed 1 crosswalk rows",
    )
    assert cli("links", "reset", "pair", "--pending", "--db", str(db)) == (
        0,
        "links reset pair: removed nothing",
    )
    assert count(db, "SELECT count(*) FROM crosswalk") == linked - 3

    pair.wh = Warehouse(db)
    before = pair.emulators["b_side"].ground_truth()
    again, _ = await migrate(pair.wh, pair.settings, fixed, transport_for=pair.transport)
    assert (
        sorted(a.kind for a in again.actions) == ["relink"] * 3
    )  # found by their markers, not written again
    assert pair.emulators["b_side"].ground_truth() == before
    assert again.failures == []
    assert count(db, "SELECT count(*) FROM crosswalk WHERE state = 'linked'") == linked
    pair.wh.close()

    code, out = cli("links", "reset", "nope", "--db", str(db))
    assert (code, out) == (2, "error: unknown link 'nope'; links in the warehouse: pair")
    code, out = cli("links", "reset", "pair", "--record", "tickets", "--db", str(db))
    assert code == 2 and out.startswith("error: --record 'tickets': expected ENTITY:ID")
    assert cli("links", "reset", "pair", "--db", str(db)) == (
        0,
        f"links reset pair: removed {linked} crosswalk rows",
    )


async def test_state_reset_clears_cursors_by_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One stream's cursor, then the rest; an unknown stream or connection is one error line; the next sync reads all."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").touch()  # no connections: the cursors are known from the warehouse
    pair = make_pair(tmp_path, ("kayako", 5), ("whmcs", 2))
    db = tmp_path / "push.duckdb"
    from deskbridge.pull import engine

    await engine.sync(
        pair.wh, pair.settings.connections["a_side"], transport=pair.transport("a_side")
    )
    streams = [
        r[0]
        for r in pair.wh.con.execute(
            "SELECT stream FROM sync_state WHERE connection = 'a_side' ORDER BY 1"
        ).fetchall()
    ]
    pair.wh.close()
    assert len(streams) == 2, streams
    code, out = cli("state", "reset", "a_side", "--stream", "nope", "--db", str(db))
    assert (code, out) == (
        2,
        f"error: a_side has no cursor for stream 'nope'; cursors held: {', '.join(streams)}",
    )
    assert cli("state", "reset", "a_side", "--stream", streams[-1], "--db", str(db)) == (
        0,
        f"state reset a_side: removed the cursors of {streams[-1]}",
    )
    rest = ", ".join(streams[:-1])
    assert cli("state", "reset", "a_side", "--db", str(db)) == (
        0,
        f"state reset a_side: removed the cursors of {rest}",
    )
    assert count(db, "SELECT count(*) FROM sync_state WHERE connection = 'a_side'") == 0
    assert cli("state", "reset", "ghost", "--db", str(db)) == (
        2,
        "error: unknown connection 'ghost'; configured: none",
    )

    pair.wh = Warehouse(db)
    run = await engine.sync(
        pair.wh, pair.settings.connections["a_side"], transport=pair.transport("a_side")
    )
    assert run.status == "success" and run.counts.get("tickets.read") == 5  # a full read again
    pair.wh.close()
