"""A refused write never blocks a link: it resolves its pending row, and the next runs go on."""

from __future__ import annotations

from pathlib import Path

from deskbridge.migrate import migrate, migration_link
from pushkit import Pair, make_pair

WHMCS_LINK = {"direction": "a_to_b", "author": {"b": "admin:1"}}
DEPARTMENT = {"b": {"department": "Technical Support"}}


def crosswalk_states(pair: Pair) -> dict[str, int]:
    return dict(pair.wh.con.execute("SELECT state, count(*) FROM crosswalk GROUP BY 1").fetchall())


async def test_private_kayako_replies_land_on_whmcs_as_private_notes(tmp_path: Path) -> None:
    """WHMCS replies are public, so a private Kayako reply becomes a private note; nothing stays pending."""
    pair = make_pair(tmp_path, ("kayako", 16), ("whmcs", 2), defaults=DEPARTMENT, **WHMCS_LINK)
    try:
        link = migration_link(pair.settings, "a_side", "b_side", None)
        result, report = await migrate(pair.wh, pair.settings, link, transport_for=pair.transport)
        assert result.failures == []
        source, target = pair.emulators["a_side"].ground_truth()["notes"], pair.emulators["b_side"].ground_truth()["notes"]
        twins = dict(pair.wh.con.execute("SELECT a_id, b_id FROM crosswalk WHERE entity = 'notes'").fetchall())
        private = [k for k, n in source.items() if (n["kind"], n["visibility"]) == ("reply", "private")]
        assert len(private) == 4
        for note in private:
            copy = target[twins[note]]
            assert (copy["kind"], copy["visibility"], copy["body"].startswith(source[note]["body"] + "\n\n— ")) == ("note", "private", True)
        entries = pair.emulators["a_side"].ground_truth()["time_entries"]  # carried as private notes
        assert crosswalk_states(pair) == {"linked": 16 + len(source) + len(entries)}
        assert report.rows["notes"]["failed"] == 0
        again, _ = await migrate(pair.wh, pair.settings, link, transport_for=pair.transport)
        assert again.actions == []
        assert (await pair.cycle()).actions == []  # sync + push of the same link: nothing left to do
    finally:
        pair.wh.close()


async def test_refused_creates_leave_no_pending_rows(tmp_path: Path) -> None:
    """OpenTicket refused (no department): failures with the reason, no pending row; fixed config, all lands."""
    pair = make_pair(tmp_path, ("kayako", 6), ("whmcs", 2), **WHMCS_LINK)
    try:
        link = migration_link(pair.settings, "a_side", "b_side", None)
        result, _ = await migrate(pair.wh, pair.settings, link, transport_for=pair.transport)
        refused = {(e, r) for e, _, r in result.failures if e == "tickets"}
        assert refused == {("tickets", "whmcs OpenTicket: a new ticket needs a department (department or department_id)")}
        assert "pending" not in crosswalk_states(pair)
        retried = await pair.cycle()  # the next sync + push runs (and refuses again), no crash
        assert len([f for f in retried.failures if f[0] == "tickets"]) == 6
        attempts = pair.wh.con.execute("SELECT DISTINCT attempts FROM push_failures WHERE entity = 'tickets'").fetchall()
        assert attempts == [(2,)]
        fixed = link.model_copy(update={"defaults": DEPARTMENT})
        result, _ = await migrate(pair.wh, pair.settings, fixed, transport_for=pair.transport)
        assert result.failures == []
        open_failures = pair.wh.con.execute("SELECT count(*) FROM push_failures WHERE resolved_at IS NULL").fetchone()
        assert open_failures == (0,)
        assert len(pair.emulators["b_side"].ground_truth()["tickets"]) == 2 + 6
        assert "pending" not in crosswalk_states(pair)
    finally:
        pair.wh.close()
