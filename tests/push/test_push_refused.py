"""A refused write never blocks a link: it resolves its pending row, and the next runs go on."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pushkit import Pair, make_pair

from deskbridge.push.actions import Action
from deskbridge.push.crosswalk import load_state
from deskbridge.push.migrate import migrate, migration_link
from deskbridge.push.planner import plan
from deskbridge.push.sides import sides_for

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
        source, target = (
            pair.emulators["a_side"].ground_truth()["notes"],
            pair.emulators["b_side"].ground_truth()["notes"],
        )
        twins = dict(
            pair.wh.con.execute(
                "SELECT a_id, b_id FROM crosswalk WHERE entity = 'notes'"
            ).fetchall()
        )
        private = [
            k for k, n in source.items() if (n["kind"], n["visibility"]) == ("reply", "private")
        ]
        assert len(private) == 4
        for note in private:
            copy = target[twins[note]]
            assert (
                copy["kind"],
                copy["visibility"],
                copy["body"].startswith(source[note]["body"] + "\n\n— "),
            ) == ("note", "private", True)
        entries = pair.emulators["a_side"].ground_truth()[
            "time_entries"
        ]  # carried as private notes
        assert crosswalk_states(pair) == {"linked": 16 + len(source) + len(entries)}
        assert report.rows["notes"]["failed"] == 0
        again, _ = await migrate(pair.wh, pair.settings, link, transport_for=pair.transport)
        assert again.actions == []
        assert (
            await pair.cycle()
        ).actions == []  # sync + push of the same link: nothing left to do
    finally:
        pair.wh.close()


async def test_refused_creates_leave_no_pending_rows(tmp_path: Path) -> None:
    """OpenTicket refused (no department): failures with the reason, no pending row; fixed config, all lands."""
    pair = make_pair(tmp_path, ("kayako", 6), ("whmcs", 2), **WHMCS_LINK)
    try:
        link = migration_link(pair.settings, "a_side", "b_side", None)
        result, _ = await migrate(pair.wh, pair.settings, link, transport_for=pair.transport)
        refused = {(e, r) for e, _, r in result.failures if e == "tickets"}
        assert refused == {
            (
                "tickets",
                "whmcs OpenTicket: a new ticket needs a department (department or department_id)",
            )
        }
        assert "pending" not in crosswalk_states(pair)
        retried = await pair.cycle()  # the next sync + push runs (and refuses again), no crash
        assert len([f for f in retried.failures if f[0] == "tickets"]) == 6
        attempts = pair.wh.con.execute(
            "SELECT DISTINCT attempts FROM push_failures WHERE entity = 'tickets'"
        ).fetchall()
        assert attempts == [(2,)]
        fixed = link.model_copy(update={"defaults": DEPARTMENT})
        result, _ = await migrate(pair.wh, pair.settings, fixed, transport_for=pair.transport)
        assert result.failures == []
        open_failures = pair.wh.con.execute(
            "SELECT count(*) FROM push_failures WHERE resolved_at IS NULL"
        ).fetchone()
        assert open_failures == (0,)
        assert len(pair.emulators["b_side"].ground_truth()["tickets"]) == 2 + 6
        assert "pending" not in crosswalk_states(pair)
    finally:
        pair.wh.close()


async def test_pending_write_on_a_target_without_reread_is_held_back(tmp_path: Path) -> None:
    """Where the target cannot re-read single tickets, a pending write not seen in its pull is a failure, not a second write."""
    pair = make_pair(tmp_path, ("kayako", 3), ("whmcs", 1), defaults=DEPARTMENT, **WHMCS_LINK)
    try:
        link = migration_link(pair.settings, "a_side", "b_side", None)
        await migrate(pair.wh, pair.settings, link, transport_for=pair.transport)
        note, marker = pair.wh.con.execute(
            "SELECT a_id, marker FROM crosswalk WHERE entity = 'notes' ORDER BY a_id LIMIT 1"
        ).fetchone()  # type: ignore[misc]
        lost = marker[:-13] + "000000000000]"  # a write sent before a crash, not seen on the target
        pair.wh.con.execute(
            "UPDATE crosswalk SET state = 'pending', b_id = NULL, marker = ? WHERE a_id = ?",
            [lost, note],
        )
        sides = sides_for(link, {"a": "kayako", "b": "whmcs"})
        ticket = pair.wh.con.execute(
            "SELECT ticket_id FROM notes WHERE connection = 'a_side' AND source_id = ?", [note]
        ).fetchone()[0]  # type: ignore[index]
        reason = (
            "whmcs cannot re-read single tickets, so whether this write landed before a crash is unknown: pull b_side "
            f"in full (deskbridge sync b_side --full-refresh) to find it, or 'deskbridge links reset pair --record notes:{note}' "
            "to write it again"
        )
        held = plan(
            load_state(pair.wh.con, link), link, replace(sides, recheck={"a": True, "b": False})
        )
        assert held == [
            Action("reject", "notes", "b", "a", note, lost, parent=ticket, reason=reason)
        ]
        assert [a.kind for a in plan(load_state(pair.wh.con, link), link, sides)] == [
            "add_note"
        ]  # a target that can re-read: written
    finally:
        pair.wh.close()
