"""Note edits: a linked note whose body changed on its own side is rewritten on the other.

A note's body is remembered (as a digest) in the crosswalk when it is pushed. When the body on
the note's own side changes, the twin is rewritten with ``UPDATE_NOTE`` where the target
supports it; where it does not, the edit is recorded as skipped, once. Edits made to
deskbridge's copy are not pushed back: the original is the record of truth.
"""

from __future__ import annotations

from deskbridge.config import LinkConfig, Side
from deskbridge.push.actions import Action, ActionKind, other
from deskbridge.push.children import note_payload
from deskbridge.push.crosswalk import LinkState
from deskbridge.push.markers import digest
from deskbridge.push.sides import Sides
from deskbridge.sdk.contract import WriteOp

K = ActionKind


def note_edits(state: LinkState, link: LinkConfig, sides: Sides) -> list[Action]:
    """``update_note`` for linked notes whose body changed on their own side since the last push."""
    notes = {s: {r["source_id"]: r for r in state.notes[s]} for s in ("a", "b")}
    actions = []
    for row in state.linked("notes"):
        origin: Side = row["origin"]
        target = other(origin)
        rec = notes[origin].get(row[origin])
        if rec is None or target not in link.targets() or row[target] not in notes[target]:
            continue
        body = digest(rec.get("body"))
        known = (row[f"base_{origin}"] or {}).get("body")
        if known == body:
            continue
        base = {origin: {"body": body}}
        if known is None:  # linked before bodies were remembered: remember it now
            actions.append(
                Action(K.REBASE, "notes", target, origin, row[origin], row["marker"], base=base)
            )
        elif WriteOp.UPDATE_NOTE not in sides.write_ops[target]:
            reason = f"{sides.vendor[target]} cannot edit notes: the edit stays on {sides.vendor[origin]}"
            actions.append(
                Action(
                    K.REBASE,
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
                    K.UPDATE_NOTE,
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
