"""After the first push: deletions propagate (when the link says so), note edits follow, people match."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pushkit import Pair, make_pair

from deskbridge.sdk.contract import WriteOp


def linked(pair: Pair, entity: str, origin: str) -> list[tuple[str, str]]:
    """(a id, b id) of linked records of ``entity`` first seen on ``origin``."""
    return pair.wh.con.execute(
        "SELECT a_id, b_id FROM crosswalk WHERE link = ? AND entity = ? AND origin = ? AND state = 'linked' ORDER BY 1",
        [pair.link.name, entity, origin],
    ).fetchall()


def parent(pair: Pair, entity: str, connection: str, source_id: str) -> str:
    return pair.wh.con.execute(
        f"SELECT ticket_id FROM {entity} WHERE connection = ? AND source_id = ?",
        [connection, source_id],
    ).fetchone()[0]


def xw_state(pair: Pair, entity: str, a_id: str) -> str:
    return pair.wh.con.execute(
        "SELECT state FROM crosswalk WHERE link = ? AND entity = ? AND a_id = ?",
        [pair.link.name, entity, a_id],
    ).fetchone()[0]


async def test_deletes_propagate_to_twins_and_then_nothing_is_left_to_do(tmp_path: Path) -> None:
    """A ticket deleted on a, a note deleted on b and a time entry deleted on a: each twin is deleted too."""
    pair = make_pair(
        tmp_path,
        ("kayako", 10),
        ("kayako", 8),
        deletes="propagate",
        author={"a": "staff:1", "b": "staff:1"},
    )
    try:
        first = await pair.cycle()
        assert first.failures == []
        unhashed = "SELECT count(*) FROM crosswalk WHERE state = 'linked' AND (hash_a IS NULL OR hash_b IS NULL)"
        assert pair.wh.con.execute(unhashed).fetchone() == (0,)
        a_store, b_store = pair.emulators["a_side"].store, pair.emulators["b_side"].store
        gone_ticket_a, gone_ticket_b = linked(pair, "tickets", "a")[0]
        note_a, note_b = next(p for p in linked(pair, "notes", "b") if p[1].startswith("note:"))
        time_a, time_b = linked(pair, "time_entries", "a")[-1]
        assert parent(pair, "time_entries", "a_side", time_a) != gone_ticket_a
        await pair.write("a_side", WriteOp.DELETE_TICKET, gone_ticket_a, {})
        await pair.write(
            "b_side",
            WriteOp.DELETE_NOTE,
            parent(pair, "notes", "b_side", note_b),
            {"source_id": note_b},
        )
        await pair.write(
            "a_side",
            WriteOp.DELETE_TIME_ENTRY,
            parent(pair, "time_entries", "a_side", time_a),
            {"source_id": time_a},
        )

        second = await pair.cycle()
        assert second.failures == []
        assert {
            k: v
            for k, v in second.counts.items()
            if k.startswith("delete_") and k.endswith(".done")
        } == {"delete_ticket.done": 1, "delete_note.done": 1, "delete_time_entry.done": 1}
        assert int(gone_ticket_b) not in b_store.tickets
        assert int(note_a.partition(":")[2]) not in a_store.notes
        assert int(time_b) not in b_store.timetracks
        assert [
            xw_state(pair, e, i)
            for e, i in (("tickets", gone_ticket_a), ("notes", note_a), ("time_entries", time_a))
        ] == ["deleted"] * 3
        third = await pair.cycle()
        fourth = await pair.cycle()
        assert third.failures == [] and third.writes == 0
        assert fourth.actions == []
    finally:
        pair.wh.close()


async def test_deletes_are_kept_by_default(tmp_path: Path) -> None:
    """Without ``deletes = "propagate"`` a deletion stays on its side and plans nothing."""
    pair = make_pair(
        tmp_path, ("kayako", 5), ("kayako", 4), author={"a": "staff:1", "b": "staff:1"}
    )
    try:
        await pair.cycle()
        a_id, b_id = linked(pair, "tickets", "a")[0]
        await pair.write("a_side", WriteOp.DELETE_TICKET, a_id, {})
        after = await pair.cycle()
        assert after.actions == []
        assert int(b_id) in pair.emulators["b_side"].store.tickets
    finally:
        pair.wh.close()


def active_reply(pair: Pair, side: str, origin: str) -> tuple[str, str, str, str]:
    """A linked reply first seen on ``origin`` whose ticket is active: (a id, b id, a ticket, b ticket)."""
    rows = pair.wh.con.execute(
        """SELECT x.a_id, x.b_id, na.ticket_id, nb.ticket_id FROM crosswalk x
           JOIN notes na ON na.connection = 'a_side' AND na.source_id = x.a_id
           JOIN notes nb ON nb.connection = 'b_side' AND nb.source_id = x.b_id
           JOIN tickets t ON t.connection = ? AND t.source_id = (CASE WHEN ? = 'a' THEN na.ticket_id ELSE nb.ticket_id END)
           WHERE x.link = ? AND x.entity = 'notes' AND x.origin = ? AND x.state = 'linked'
             AND x.a_id LIKE 'reply:%' AND x.b_id LIKE 'reply:%' AND t.status_category <> 'closed' ORDER BY 1""",
        [side, origin, pair.link.name, origin],
    ).fetchall()
    assert rows, "the sandbox should hold a reply on an active ticket"
    return rows[0]


async def test_note_edits_reach_the_twin_and_are_not_echoed(tmp_path: Path) -> None:
    """A reply edited on WHMCS a is rewritten on its WHMCS b copy, marker kept; the next push is empty."""
    pair = make_pair(
        tmp_path,
        ("whmcs", 8),
        ("whmcs", 6),
        author={"a": "admin:1", "b": "admin:1"},
        defaults={s: {"department": "Technical Support"} for s in ("a", "b")},
    )
    try:
        assert (await pair.cycle()).failures == []
        await pair.cycle()  # pulls the copies the first push wrote
        reply_a, reply_b, ticket_a, _ = active_reply(pair, "a_side", "a")
        await pair.write(
            "a_side",
            WriteOp.UPDATE_NOTE,
            ticket_a,
            {"source_id": reply_a, "body": "Edited: reboot fixed it."},
        )
        edited = await pair.cycle()
        assert edited.counts["update_note.done"] == 1 and edited.failures == []
        copy = pair.emulators["b_side"].store.replies[int(reply_b.partition(":")[2])].message
        assert copy.startswith("Edited: reboot fixed it.") and "[deskbridge:" in copy
        assert (await pair.cycle()).actions == []
    finally:
        pair.wh.close()


async def test_note_edits_a_target_cannot_take_are_recorded_once(tmp_path: Path) -> None:
    """Kayako cannot edit notes: the edit made on WHMCS is recorded in push_skips, not retried forever."""
    pair = make_pair(
        tmp_path, ("whmcs", 8), ("kayako", 4), direction="a_to_b", author={"b": "staff:1"}
    )
    try:
        assert (await pair.cycle()).failures == []
        reply_a, _, ticket_a, _ = pair.wh.con.execute(
            "SELECT x.a_id, x.b_id, n.ticket_id, NULL FROM crosswalk x JOIN notes n ON n.connection = 'a_side' "
            "AND n.source_id = x.a_id JOIN tickets t ON t.connection = 'a_side' AND t.source_id = n.ticket_id "
            "WHERE x.entity = 'notes' AND x.a_id LIKE 'reply:%' AND t.status_category <> 'closed' ORDER BY 1 LIMIT 1"
        ).fetchone()
        await pair.write(
            "a_side",
            WriteOp.UPDATE_NOTE,
            ticket_a,
            {"source_id": reply_a, "body": "Edited on WHMCS."},
        )
        edited = await pair.cycle()
        assert edited.writes == 0 and edited.counts["rebase.done"] == 1
        skip = pair.wh.con.execute(
            "SELECT reason FROM push_skips WHERE source_id = ?", [reply_a]
        ).fetchone()
        assert skip == ("kayako cannot edit notes: the edit stays on whmcs",)
        assert (await pair.cycle()).actions == []
    finally:
        pair.wh.close()


def _owner(pair: Pair, name: str, ticket_id: str) -> int:
    return pair.emulators[name].store.tickets[int(ticket_id)].ownerstaffid


async def test_assignees_are_matched_by_explicit_table_email_and_name(tmp_path: Path) -> None:
    """Staff ids differ between the desks: the link maps them by its table, then e-mail, then unique name."""
    pair = make_pair(
        tmp_path,
        ("kayako", 15),
        ("kayako", 1),
        direction="a_to_b",
        author={"b": "staff:1"},
        fields=["subject", "status", "priority", "assignee_id"],
        people={"staff:13": "staff:2"},
    )
    a_staff, b_staff = (
        pair.emulators["a_side"].store.lookups.staff,
        pair.emulators["b_side"].store.lookups.staff,
    )
    for sid, row in a_staff.items():  # b's staff j has the address of a's staff 16 - j
        b_staff[16 - sid]["email"] = row["email"]
    b_staff[10].update(email="nobody@example.invalid")  # a's staff 6 matches no one
    b_staff[9].update(email="", fullname=a_staff[7]["fullname"])  # a's staff 7 matches by name only
    expected: dict[int, Any] = {
        0: 0,
        13: 2,
        6: 0,
        **{j: 16 - j for j in range(1, 16) if j not in (6, 13)},
    }
    try:
        first = await pair.cycle()
        assert first.failures == []
        pairs = linked(pair, "tickets", "a")
        owners = {(_owner(pair, "a_side", a), _owner(pair, "b_side", b)) for a, b in pairs}
        assert owners == {(a, expected[a]) for a, _ in owners} and {6, 7, 13} <= {
            a for a, _ in owners
        }
        unmatched = next(a for a, _ in pairs if _owner(pair, "a_side", a) == 6)
        reason = pair.wh.con.execute(
            "SELECT reason FROM push_skips WHERE source_id = ?", [unmatched]
        ).fetchone()[0]
        assert "staff:6 (Timothy Mayer, tmayer6@schmidt.com)" in reason and "people table" in reason

        from rich.console import Console

        from deskbridge.cli.links import print_people

        console = Console(width=250, record=True)
        assert print_people(pair.link, pair.wh.path, False, console) == 1  # a's staff 6
        text = console.export_text()
        row = {
            line.split("│")[2].strip(): [c.strip() for c in line.split("│")[3:-1]]
            for line in text.splitlines()
            if "│ staff:" in line
        }
        assert row["staff:13"][1:] == [
            "staff:2",
            f"{b_staff[2]['fullname']}, {b_staff[2]['email']}",
            "table",
        ]  # before e-mail
        assert row["staff:7"][1:] == ["staff:9", "Brooke Baker", "name"]
        assert (row["staff:3"][1], row["staff:3"][3]) == ("staff:13", "email")
        assert row["staff:6"][1:] == ["-", "-", "none"]
        assert "14 matched, 1 unmatched (add them to links.pair.people)" in text

        moved, twin = pairs[0]
        await pair.write("a_side", WriteOp.UPDATE_FIELDS, moved, {"assignee_id": "staff:5"})
        await pair.write("a_side", WriteOp.UPDATE_FIELDS, pairs[1][0], {"assignee_id": "staff:6"})
        await pair.write(
            "a_side", WriteOp.UPDATE_FIELDS, pairs[1][0], {"subject": "Still goes through"}
        )
        second = await pair.cycle()
        assert _owner(pair, "b_side", twin) == 11 and second.failures == []
        assert (
            pair.emulators["b_side"].store.tickets[int(pairs[1][1])].subject == "Still goes through"
        )
        reason = pair.wh.con.execute(
            "SELECT reason FROM push_skips WHERE source_id = ?", [pairs[1][0]]
        ).fetchone()[0]
        assert reason.startswith(
            "assignee_id: no staff person on side b matches staff:6 (Timothy Mayer"
        )
        assert (await pair.cycle()).actions == []  # recorded once, not retried every run
    finally:
        pair.wh.close()


async def test_a_delete_already_done_on_the_target_counts_as_done(tmp_path: Path) -> None:
    """A delete that landed before a crash (or was done by hand) answers 404 on the rerun: that is success."""
    from deskbridge.pull import engine

    pair = make_pair(
        tmp_path,
        ("kayako", 4),
        ("kayako", 3),
        deletes="propagate",
        author={"a": "staff:1", "b": "staff:1"},
    )
    try:
        await pair.cycle()
        a_id, b_id = linked(pair, "tickets", "a")[0]
        await pair.write("a_side", WriteOp.DELETE_TICKET, a_id, {})
        await pair.write(
            "b_side", WriteOp.DELETE_TICKET, b_id, {}
        )  # the warehouse has not seen this one yet
        await engine.sync(
            pair.wh, pair.settings.connections["a_side"], transport=pair.transport("a_side")
        )
        rerun = await pair.cycle(pull=False)
        assert rerun.failures == [] and rerun.counts["delete_ticket.done"] == 1
        assert xw_state(pair, "tickets", a_id) == "deleted"
    finally:
        pair.wh.close()


async def test_a_time_entry_copied_as_a_note_is_deleted_as_a_note(tmp_path: Path) -> None:
    """WHMCS has no time entries: a Kayako time track lands as a note, and its deletion deletes that note."""
    pair = make_pair(
        tmp_path,
        ("kayako", 5),
        ("whmcs", 1),
        direction="a_to_b",
        deletes="propagate",
        author={"b": "admin:1"},
        defaults={"b": {"department": "Technical Support"}},
    )
    try:
        assert (await pair.cycle()).failures == []
        time_a, note_b = linked(pair, "time_entries", "a")[0]
        assert note_b.startswith("note:")
        await pair.write(
            "a_side",
            WriteOp.DELETE_TIME_ENTRY,
            parent(pair, "time_entries", "a_side", time_a),
            {"source_id": time_a},
        )
        after = await pair.cycle()
        assert after.failures == [] and after.counts["delete_note.done"] == 1
        assert int(note_b.partition(":")[2]) not in pair.emulators["b_side"].store.notes
        assert (await pair.cycle()).actions == []
    finally:
        pair.wh.close()


async def test_an_edit_the_target_refuses_for_that_kind_of_note_is_recorded_once(
    tmp_path: Path,
) -> None:
    """M4 notes copied into WHMCS as internal notes: WHMCS cannot edit those, so the edit is a skip, not a retry."""
    pair = make_pair(
        tmp_path,
        ("m4", 4),
        ("whmcs", 1),
        direction="a_to_b",
        author={"b": "admin:1"},
        defaults={
            "b": {
                "department": "Technical Support",
                "subject": "(no subject on M4)",
                "requester_name": "Field Service",
                "requester_email": "field@example.com",
            }
        },
    )
    try:
        assert (await pair.cycle()).failures == []
        note_a, _note_b = next(p for p in linked(pair, "notes", "a") if p[1].startswith("note:"))
        ticket = parent(pair, "notes", "a_side", note_a)
        await pair.write(
            "a_side", WriteOp.UPDATE_NOTE, ticket, {"source_id": note_a, "body": "Edited on M4."}
        )
        edited = await pair.cycle()
        assert edited.failures == [] and edited.counts["rebase.done"] == 1
        skip = pair.wh.con.execute(
            "SELECT reason FROM push_skips WHERE source_id = ?", [note_a]
        ).fetchone()[0]
        assert "WHMCS edits replies and opening messages only" in skip
        assert (await pair.cycle()).actions == []
    finally:
        pair.wh.close()
