"""The deletion guard: a mass deletion proven only by a listing is held until an operator decides."""

from __future__ import annotations

from pathlib import Path

from conftest import make_harness
from typer.testing import CliRunner

from deskbridge.cli.app import app
from deskbridge.cli.status import status_tables


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def people(h, deleted: bool) -> int:  # type: ignore[no-untyped-def]
    sql = f"SELECT count(*) FROM people WHERE deleted_at IS {'NOT ' if deleted else ''}NULL AND kind = 'requester'"
    return h.wh.con.execute(sql).fetchone()[0]


async def test_guard_holds_a_mass_deletion_then_reject_and_confirm_work(
    tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """25 requesters vanish from Kayako's full user listing (Kayako has no single-user read to
    confirm it): the run commits everything else and holds the 25; reject keeps them, the next
    run holds them again, confirm deletes them with proof 'operator'."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").touch()  # no connections: --db names the warehouse
    h = make_harness("kayako", tmp_path, tickets=120, options={"closed_reconcile_every": "0s"})
    await h.sync()
    store = h.emulator.store
    live = people(h, deleted=False)
    gone = sorted(store.users)[:25]
    for uid in gone:
        del store.users[uid]
    result = await h.sync()
    assert result.counts["deletions.held"] == 25 and "people.deleted" not in result.counts
    assert people(h, deleted=False) == live  # nothing deleted on a listing alone
    reasons = h.wh.con.execute("SELECT DISTINCT state, reason FROM suspected_deletions").fetchall()
    assert reasons == [
        (
            "held",
            f"guard: this run would delete 25 of {live + 15} live people "
            "(more than 10% and 20 rows) on a listing alone",
        )
    ]
    [held] = [t for t in status_tables(h.wh.con) if t.title == "Deletions held (not applied)"]
    assert held.row_count == 1
    db = str(tmp_path / "warehouse.duckdb")
    h.wh.close()

    code, out = cli("deletes", "list", "kayako_test", "--db", db)
    assert code == 0 and out.strip().endswith("25 held")
    assert cli("deletes", "reject", "kayako_test", "--db", db) == (
        0,
        "kayako_test: 25 people kept (no longer suspected)\n",
    )
    assert cli("deletes", "confirm", "nope", "--db", db)[0] == 2

    h.wh = type(h.wh)(db)
    assert people(h, deleted=False) == live
    again = await h.sync()
    assert again.counts["deletions.held"] == 25  # still absent: suspected again
    h.wh.close()
    assert cli("deletes", "confirm", "kayako_test", "--db", db) == (
        0,
        "kayako_test: 25 people deleted (proof: operator)\n",
    )
    h.wh = type(h.wh)(db)
    proofs = h.wh.con.execute(
        "SELECT DISTINCT deleted_proof FROM people WHERE deleted_at IS NOT NULL"
    ).fetchall()
    assert proofs == [("operator",)]
    h.assert_truth()
    h.wh.close()


async def test_a_small_listing_deletion_goes_through(tmp_path: Path) -> None:
    """Under the guard's threshold a deletion proven by a complete listing is applied at once."""
    h = make_harness("kayako", tmp_path, tickets=120, options={"closed_reconcile_every": "0s"})
    await h.sync()
    for uid in sorted(h.emulator.store.users)[:3]:
        del h.emulator.store.users[uid]
    result = await h.sync()
    assert result.counts["people.deleted"] == 3 and "deletions.held" not in result.counts
    proofs = h.wh.con.execute(
        "SELECT DISTINCT deleted_proof FROM people WHERE deleted_at IS NOT NULL"
    ).fetchall()
    assert proofs == [("listing",)]
    h.assert_truth()
    h.wh.close()
