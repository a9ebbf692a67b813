"""Propagating deletions (``deletes = "propagate"``), on the vendor's own word only.

When a linked record is gone on one side, and that side's vendor itself answered it gone
(:data:`~deskbridge.warehouse.deletions.VENDOR_PROOFS`; absence from a listing is not enough),
its twin is deleted on the other, if that side is a target of the link and its connector can
delete that entity; otherwise the pair is unlinked with the reason recorded in ``push_skips``.
Notes and time entries of a deleted ticket are unlinked, not deleted one by one: they go
with their ticket. With ``deletes = "keep"`` (the default) nothing is deleted and the
surviving twin stays as it is.
"""

from __future__ import annotations

from typing import Any

from deskbridge.config import LinkConfig, Side
from deskbridge.push.actions import DELETE_OF, DELETES, Action, ActionKind, other
from deskbridge.push.crosswalk import LinkState
from deskbridge.push.sides import Sides
from deskbridge.sdk.contract import WriteOp

Gone = dict[str, dict[Side, dict[str, Any]]]


def deletions(
    state: LinkState, link: LinkConfig, sides: Sides
) -> tuple[list[Action], dict[Side, set[str]]]:
    """Actions for linked records deleted on one side, and the tickets (per side) going away."""
    doomed: dict[Side, set[str]] = {"a": set(), "b": set()}
    if link.deletes != "propagate":
        return [], doomed
    actions = []
    for entity in link.entities:
        for row in state.linked(entity):
            action = _deletion(state, link, sides, entity, row)
            if action is not None:
                actions.append(action)
                if entity == "tickets":
                    doomed["a"].add(row["a"])
                    doomed["b"].add(row["b"])
    return actions, doomed


def _deletion(
    state: LinkState, link: LinkConfig, sides: Sides, entity: str, row: dict[str, Any]
) -> Action | None:
    def held(side: Side) -> str:
        return _held_as(sides, entity, row, side)

    gone = state.gone
    dead = [s for s in ("a", "b") if row[s] in gone.get(held(s), {}).get(s, {})]
    if not dead:
        return None
    origin: Side = dead[0]  # type: ignore[assignment]
    target = other(origin)
    unlink = Action(
        ActionKind.UNLINK, entity, target, origin, row[origin], row["marker"], target_id=row[target]
    )
    if len(dead) == 2:
        return unlink  # gone on both sides
    parent = gone[held(origin)][origin][row[origin]]
    if entity != "tickets" and parent in gone.get("tickets", {}).get(origin, {}):
        return unlink  # went with its ticket; the twin goes with the twin ticket
    if target not in link.targets():
        return None  # a one-way link does not delete on the side it reads from
    kind = DELETE_OF[held(target)]
    if DELETES[kind] not in sides.write_ops[target]:
        unlink.reason = f"{sides.vendor[target]} cannot delete {held(target)}: {row[target]} stays there, unlinked"
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


def _held_as(sides: Sides, entity: str, row: dict[str, Any], side: Side) -> str:
    """The table a linked record lives in on ``side``: a time entry copied where there are none is a note."""
    if (
        entity == "time_entries"
        and side != row["origin"]
        and WriteOp.ADD_TIME_ENTRY not in sides.write_ops[side]
    ):
        return "notes"
    return entity
