"""What a push does, as values: an :class:`Action` per write or bookkeeping step.

Plans are lists of actions, stored as JSON (``--plan-file``); the executor runs them in phases.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from deskbridge.config import Side
from deskbridge.sdk.contract import WriteOp


class ActionKind(StrEnum):
    """What an action does; a ``str``, so plans and counts read as plain text."""

    CREATE_TICKET = "create_ticket"
    UPDATE_TICKET = "update_ticket"
    ADD_NOTE = "add_note"
    ADD_TIME_ENTRY = "add_time_entry"
    UPDATE_NOTE = "update_note"
    DELETE_TICKET = "delete_ticket"
    DELETE_NOTE = "delete_note"
    DELETE_TIME_ENTRY = "delete_time_entry"
    LINK = "link"  # an existing twin found (correlated), linked without a write
    RELINK = "relink"  # a write that landed before a crash, found by its marker
    SKIP = "skip"
    REBASE = "rebase"  # remember new bases, write nothing
    REJECT = "reject"  # recorded as a failure without a write
    UNLINK = "unlink"


K = ActionKind
CREATES: dict[str, WriteOp] = {
    K.CREATE_TICKET: WriteOp.CREATE_TICKET,
    K.ADD_NOTE: WriteOp.ADD_NOTE,
    K.ADD_TIME_ENTRY: WriteOp.ADD_TIME_ENTRY,
}
DELETES: dict[str, WriteOp] = {
    K.DELETE_TICKET: WriteOp.DELETE_TICKET,
    K.DELETE_NOTE: WriteOp.DELETE_NOTE,
    K.DELETE_TIME_ENTRY: WriteOp.DELETE_TIME_ENTRY,
}
OPS: dict[str, WriteOp] = {
    **CREATES,
    **DELETES,
    K.UPDATE_TICKET: WriteOp.UPDATE_FIELDS,
    K.UPDATE_NOTE: WriteOp.UPDATE_NOTE,
}  # the one table kind -> vendor write; a kind not in it writes nothing but the crosswalk
DELETE_OF = {
    "tickets": K.DELETE_TICKET,
    "notes": K.DELETE_NOTE,
    "time_entries": K.DELETE_TIME_ENTRY,
}
ORPHAN = "written by link "  # a skip of the link's own write whose crosswalk row is gone (a reset)


@dataclass
class Action:
    """One write (or link) the push will do; plans are lists of these, stored as JSON."""

    kind: str  # an ActionKind
    entity: str
    target: Side
    origin: Side
    origin_id: str  # source id on the origin side
    marker: str
    parent: str | None = None  # origin-side ticket id of a child record
    target_id: str | None = None  # twin id, for updates and links
    payload: dict[str, Any] = field(default_factory=dict)
    base: dict[Any, Any] = field(default_factory=dict)  # bases to record: {"a": {...}, "b": {...}}
    reason: str = ""

    def key(self) -> tuple[str, str, str, str]:
        return (self.kind, self.entity, self.target, self.origin_id)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def orphan(
    link: str, entity: str, origin: Side, target: Side, sid: str, parent: str | None, marker: str
) -> Action:
    """A skip of the link's own write whose crosswalk row is gone: never pushed back."""
    reason = (
        f"{ORPHAN}{link} (its marker ends the text) and no crosswalk row holds it: not pushed back"
    )
    return Action(K.SKIP, entity, target, origin, sid, marker, parent=parent, reason=reason)


def other(side: Side) -> Side:
    return "b" if side == "a" else "a"
