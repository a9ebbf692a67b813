"""Planning what happens to linked records after their first push: deletions and note edits.

Deletions (``deletes = "propagate"``): when a linked record is gone on one side, its twin is
deleted on the other, if that side is a target of the link and its connector can delete
that entity; otherwise the pair is unlinked with the reason recorded in ``push_skips``.
Notes and time entries of a deleted ticket are unlinked, not deleted one by one: they go
with their ticket. With ``deletes = "keep"`` (the default) nothing is deleted and the
surviving twin stays as it is.

Note edits: a note's body is remembered (as a digest) in the crosswalk when it is pushed.
When the body on the note's own side changes, the twin is rewritten with ``UPDATE_NOTE``
where the target supports it; where it does not, the edit is recorded as skipped, once.
Edits made to deskbridge's copy are not pushed back: the original is the record of truth.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from deskbridge.config import Side
from deskbridge.sdk.contract import WriteOp
from deskbridge.warehouse.deletions import VENDOR_PROOFS

if TYPE_CHECKING:
    from deskbridge.push.planner import Planner

DELETE_OPS = {
    "tickets": ("delete_ticket", WriteOp.DELETE_TICKET),
    "notes": ("delete_note", WriteOp.DELETE_NOTE),
    "time_entries": ("delete_time_entry", WriteOp.DELETE_TIME_ENTRY),
}


def other(side: Side) -> Side:
    return "b" if side == "a" else "a"


def digest(text: str | None) -> str:
    return hashlib.blake2b((text or "").encode(), digest_size=8).hexdigest()


def linked_rows(planner: Planner, entity: str) -> list[dict[str, Any]]:
    unique = {
        id(row): row
        for (e, _, _), row in planner.xw.items()
        if e == entity and row["state"] == "linked"
    }
    return list(unique.values())


def deletions(planner: Planner) -> tuple[list[Any], dict[Side, set[str]]]:
    """Actions for linked records deleted on one side, and the tickets (per side) going away."""
    doomed: dict[Side, set[str]] = {"a": set(), "b": set()}
    if planner.link.deletes != "propagate":
        return [], doomed
    entities = {
        *planner.link.entities,
        "tickets",
        "notes",
    }  # time entries copied as notes are notes there
    gone = {e: {s: _deleted(planner, e, s) for s in ("a", "b")} for e in entities}
    actions = []
    for entity in planner.link.entities:
        for row in linked_rows(planner, entity):
            action = _deletion(planner, entity, row, gone)
            if action is not None:
                actions.append(action)
                if entity == "tickets":
                    doomed["a"].add(row["a"])
                    doomed["b"].add(row["b"])
    return actions, doomed


def _deleted(planner: Planner, entity: str, side: Side) -> dict[str, str | None]:
    parent = "NULL" if entity == "tickets" else "ticket_id"
    rows = planner.con.execute(
        f"SELECT source_id, {parent} FROM {entity} WHERE connection = ? AND deleted_at IS NOT NULL "
        "AND deleted_proof IN (SELECT unnest(?::VARCHAR[]))",  # only what the vendor itself answered gone
        [planner.sides.conn[side], list(VENDOR_PROOFS)],
    ).fetchall()
    return dict(rows)


def _deletion(
    planner: Planner, entity: str, row: dict[str, Any], gone: dict[str, dict[Side, dict[str, Any]]]
) -> Any:
    from deskbridge.push.planner import Action

    dead = [s for s in ("a", "b") if row[s] in gone[_held_as(planner, entity, row, s)][s]]
    if not dead:
        return None
    origin: Side = dead[0]  # type: ignore[assignment]
    target = other(origin)
    unlink = Action(
        "unlink", entity, target, origin, row[origin], row["marker"], target_id=row[target]
    )
    if len(dead) == 2:
        return unlink  # gone on both sides
    parent = gone[_held_as(planner, entity, row, origin)][origin][row[origin]]
    if entity != "tickets" and parent in gone["tickets"][origin]:
        return unlink  # went with its ticket; the twin goes with the twin ticket
    if target not in planner.link.targets():
        return None  # a one-way link does not delete on the side it reads from
    kind, op = DELETE_OPS[_held_as(planner, entity, row, target)]
    if op not in planner.sides.write_ops[target]:
        held = _held_as(planner, entity, row, target)
        unlink.reason = f"{planner.sides.vendor[target]} cannot delete {held}: {row[target]} stays there, unlinked"
        return unlink
    if entity == "tickets":
        return Action(
            kind, entity, target, origin, row[origin], row["marker"], target_id=row[target]
        )
    return Action(
        kind,
        entity,
        target,
        origin,
        row[origin],
        row["marker"],
        parent=parent,
        payload={"source_id": row[target]},
    )


def _held_as(planner: Planner, entity: str, row: dict[str, Any], side: Side) -> str:
    """The table a linked record lives in on ``side``: a time entry copied where there are none is a note."""
    if (
        entity == "time_entries"
        and side != row["origin"]
        and WriteOp.ADD_TIME_ENTRY not in planner.sides.write_ops[side]
    ):
        return "notes"
    return entity


def note_edits(planner: Planner, notes: dict[Side, dict[str, dict[str, Any]]]) -> list[Any]:
    """``update_note`` for linked notes whose body changed on their own side since the last push."""
    from deskbridge.push.planner import Action, note_payload

    actions = []
    for row in linked_rows(planner, "notes"):
        origin: Side = row["origin"]
        target = other(origin)
        rec = notes[origin].get(row[origin])
        if rec is None or target not in planner.link.targets() or row[target] not in notes[target]:
            continue
        body = digest(rec.get("body"))
        known = (row[f"base_{origin}"] or {}).get("body")
        if known == body:
            continue
        base = {origin: {"body": body}}
        if known is None:  # linked before bodies were remembered: remember it now
            actions.append(
                Action("rebase", "notes", target, origin, row[origin], row["marker"], base=base)
            )
        elif WriteOp.UPDATE_NOTE not in planner.sides.write_ops[target]:
            reason = f"{planner.sides.vendor[target]} cannot edit notes: the edit stays on {planner.sides.vendor[origin]}"
            actions.append(
                Action(
                    "rebase",
                    "notes",
                    target,
                    origin,
                    row[origin],
                    row["marker"],
                    base=base,
                    reason=reason,
                )
            )
        else:
            payload = {"source_id": row[target], "body": note_payload(rec, row["marker"])["body"]}
            actions.append(
                Action(
                    "update_note",
                    "notes",
                    target,
                    origin,
                    row[origin],
                    row["marker"],
                    parent=rec["ticket_id"],
                    payload=payload,
                    base=base,
                )
            )
    return actions
