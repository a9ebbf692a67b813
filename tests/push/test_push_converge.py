"""Random edits on both sides over rounds: the sides converge as the policy says, with no echo."""

from __future__ import annotations

import random
from pathlib import Path

from pushkit import Pair, disagreements, labels, linked_pairs, make_pair
from test_push_kayako_pair import duplicated_markers

from deskbridge.sdk.contract import WriteOp
from deskbridge.warehouse.lake import LakeSpec


async def random_edits(pair: Pair, rng: random.Random, n: int) -> None:
    """``n`` edits spread over both sides: field changes on linked tickets and new notes."""
    pairs = linked_pairs(pair)
    for _ in range(n):
        side = rng.choice(["a", "b"])
        name = pair.link.a if side == "a" else pair.link.b
        a_id, b_id = rng.choice(pairs)
        ticket = a_id if side == "a" else b_id
        if {a_id, b_id} & pair.__dict__.get("deleted", set()):
            continue  # deleted by this round: its twin learns it at the next push, not by an edit
        what = rng.choice(
            ["status", "priority", "subject", "note"]
            + (["delete"] if pair.link.deletes == "propagate" else [])
        )
        if what == "delete":
            await delete_something(pair, rng, name)
        elif what == "note":
            await pair.write(
                name,
                WriteOp.ADD_NOTE,
                ticket,
                {
                    "kind": "note",
                    "body": f"note {rng.random():.6f}",
                    "author_id": pair.link.author.get(side),
                },
            )
        elif what == "subject":
            await pair.write(
                name, WriteOp.UPDATE_FIELDS, ticket, {"subject": f"Edited {rng.randint(1, 10**6)}"}
            )
        else:
            await pair.write(
                name, WriteOp.UPDATE_FIELDS, ticket, {what: rng.choice(labels(pair, name, what))}
            )


async def delete_something(pair: Pair, rng: random.Random, name: str) -> None:
    """Delete a staff note (Kayako sees those go; see its README) or, now and then, a whole ticket.

    Only records that are still there: not deleted by this test, nor by a push since the last pull.
    """
    con, done = pair.wh.con, pair.__dict__.setdefault("deleted", set())
    gone = {
        r[0]
        for r in con.execute(
            "SELECT unnest([a_id, b_id]) FROM crosswalk WHERE state = 'deleted'"
        ).fetchall()
    }
    if rng.random() < 0.1:
        live = con.execute(
            "SELECT source_id FROM tickets WHERE connection = ? AND deleted_at IS NULL ORDER BY 1",
            [name],
        ).fetchall()
        ticket = rng.choice(live)[0]
        if ticket not in done | gone:
            done.add(ticket)
            await pair.write(name, WriteOp.DELETE_TICKET, ticket, {})
        return
    notes = con.execute(
        "SELECT n.source_id, n.ticket_id FROM notes n JOIN tickets t ON t.connection = n.connection AND t.source_id = n.ticket_id "
        "AND t.deleted_at IS NULL WHERE n.connection = ? AND n.deleted_at IS NULL AND n.source_id LIKE 'note:%' ORDER BY 1",
        [name],
    ).fetchall()
    note, ticket = rng.choice(notes)
    if not {note, ticket} & (done | gone):
        done.add(note)
        await pair.write(name, WriteOp.DELETE_NOTE, ticket, {"source_id": note})


async def converge(pair: Pair, rounds: int = 10, edits: int = 20) -> list[int]:
    rng = random.Random(42)
    await pair.cycle()
    writes = []
    for _ in range(rounds):
        await random_edits(pair, rng, edits)
        writes.append((await pair.cycle()).writes)
    for _ in range(3):  # settle: pulls catch the last writes, then nothing is left to push
        result = await pair.cycle()
    assert result.actions == [], [a.to_json() for a in result.actions][:3]  # no echo
    assert sum(writes) > 0
    assert disagreements(pair) == []  # converged as the conflict policy says
    assert duplicated_markers(pair) == []
    return writes


async def test_kayako_pair_converges_without_echo(tmp_path: Path, lake: LakeSpec | None) -> None:
    """200 random edits over 10 rounds on two Kayako helpdesks: both converge, the last push is empty."""
    pair = make_pair(
        tmp_path,
        ("kayako", 10),
        ("kayako", 10),
        lake=lake,
        author={"a": "staff:1", "b": "staff:1"},
        conflict={"status": "a"},
    )
    try:
        await converge(pair)
    finally:
        pair.wh.close()


async def test_whmcs_omnidesk_converge_without_echo(tmp_path: Path, lake: LakeSpec | None) -> None:
    """WHMCS <-> Omnidesk: 200 random edits over 10 rounds converge; no echo; no duplicate."""
    pair = make_pair(
        tmp_path,
        ("whmcs", 10),
        ("omnidesk", 10),
        lake=lake,
        author={"a": "admin:1", "b": "staff:1"},
        conflict={"priority": "b"},
        defaults={"a": {"department": "Technical Support"}},
    )
    try:
        await converge(pair)
    finally:
        pair.wh.close()


async def test_kayako_trackit_converge_without_echo(tmp_path: Path, lake: LakeSpec | None) -> None:
    """Kayako <-> Track-It: 200 random edits over 10 rounds converge; no echo; no duplicate."""
    pair = make_pair(
        tmp_path,
        ("kayako", 8),
        ("trackit", 8),
        lake=lake,
        author={"a": "staff:1"},
        conflict={"status": "a"},
    )
    pair.emulators["b_side"].rename_field(22, "Short Description")
    try:
        await converge(pair)
    finally:
        pair.wh.close()


async def test_kayako_pair_converges_with_deletes_propagated(
    tmp_path: Path, lake: LakeSpec | None
) -> None:
    """Edits plus deletions of notes and tickets on both sides: every live record has a live twin."""
    pair = make_pair(
        tmp_path,
        ("kayako", 10),
        ("kayako", 10),
        lake=lake,
        author={"a": "staff:1", "b": "staff:1"},
        conflict={"status": "a"},
        deletes="propagate",
    )
    try:
        await converge(pair)
        orphans = pair.wh.con.execute(
            """SELECT x.entity, x.a_id, x.b_id, x.state, a.deleted_at IS NULL, b.deleted_at IS NULL FROM crosswalk x
               JOIN (SELECT 'tickets' e, connection, source_id, deleted_at FROM tickets UNION ALL
                     SELECT 'notes', connection, source_id, deleted_at FROM notes) a
                 ON a.e = x.entity AND a.connection = 'a_side' AND a.source_id = x.a_id
               JOIN (SELECT 'tickets' e, connection, source_id, deleted_at FROM tickets UNION ALL
                     SELECT 'notes', connection, source_id, deleted_at FROM notes) b
                 ON b.e = x.entity AND b.connection = 'b_side' AND b.source_id = x.b_id
               WHERE (a.deleted_at IS NULL) <> (b.deleted_at IS NULL) OR (x.state = 'deleted') = (a.deleted_at IS NULL)"""
        ).fetchall()
        assert orphans == []
        deleted = pair.wh.con.execute(
            "SELECT entity, count(*) FROM crosswalk WHERE state = 'deleted' GROUP BY 1"
        ).fetchall()
        assert dict(deleted).get("notes", 0) > 0
    finally:
        pair.wh.close()
