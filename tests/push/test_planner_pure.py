"""The planner as a function of state: a LinkState built by hand, the whole action list asserted.

No warehouse and no HTTP: each test writes down both sides and the crosswalk, then compares
``plan(...)`` with the exact actions a push would carry out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from deskbridge.config import LinkConfig, Side
from deskbridge.push.actions import Action
from deskbridge.push.crosswalk import TICKET_FIELDS, LinkState
from deskbridge.push.markers import digest, marker_for
from deskbridge.push.planner import plan
from deskbridge.push.sides import Sides
from deskbridge.sdk import mappings
from deskbridge.sdk.contract import WriteOp

VOCAB = mappings.load("kayako")
SIDES = Sides(
    conn={"a": "left", "b": "right"},
    vendor={"a": "kayako", "b": "kayako"},
    vocab={s: {f: VOCAB.values(f) for f in ("status", "priority")} for s in ("a", "b")},  # type: ignore[misc]
    write_ops={"a": frozenset(WriteOp), "b": frozenset(WriteOp)},
    note_kinds={"a": frozenset({"note", "reply"}), "b": frozenset({"note", "reply"})},
    public_notes={"a": True, "b": True},
)
T0, T1, T2 = datetime(2026, 1, 1), datetime(2026, 1, 2, 3, 4), datetime(2026, 1, 3)


def link(**overrides: Any) -> LinkConfig:
    return LinkConfig(
        **{"name": "pair", "a": "left", "b": "right", "entities": ["tickets"], **overrides}
    )


def ticket(sid: str, **values: Any) -> dict[str, Any]:
    return {"source_id": sid, **dict.fromkeys(TICKET_FIELDS), "created_at": T0, **values}


def note(sid: str, ticket_id: str, body: str) -> dict[str, Any]:
    return {
        "source_id": sid,
        "ticket_id": ticket_id,
        "kind": "note",
        "visibility": "private",
        "body": body,
        "author_name": "Ann",
        "created_at": T1,
    }


def linked(entity: str, a: str, b: str, origin: Side = "a", **bases: Any) -> dict[str, Any]:
    marker = marker_for("pair", entity, origin, a if origin == "a" else b)
    return {
        "entity": entity,
        "origin": origin,
        "origin_id": a if origin == "a" else b,
        "a": a,
        "b": b,
        "state": "linked",
        "marker": marker,
        "base_a": bases.get("base_a"),
        "base_b": bases.get("base_b"),
    }


def test_a_new_ticket_is_created_on_the_other_side() -> None:
    """A ticket with no crosswalk row is created on the target, carrying its marker."""
    state = LinkState(tickets={"a": (ticket("1", subject="Printer", number="7"),), "b": ()})
    marker = marker_for("pair", "tickets", "a", "1")
    payload = {
        "subject": "Printer",
        "status": None,
        "priority": None,
        "requester_name": None,
        "requester_email": None,
        "body": f"Synced from kayako ticket 7. {marker}",
    }
    bases = {"subject": "Printer", "status": None, "priority": None}
    assert plan(state, link(), SIDES) == [
        Action(
            "create_ticket",
            "tickets",
            "b",
            "a",
            "1",
            marker,
            payload=payload,
            base={"a": bases, "b": bases},
        )
    ]


def test_a_linked_pair_merges_the_field_each_side_changed() -> None:
    """Side a's new subject goes to b and side b's new status goes to a, each as one update."""
    base = {"subject": "Old", "status": "Open"}
    row = linked("tickets", "1", "9", base_a=base, base_b=base)
    state = LinkState(
        crosswalk=(row,),
        tickets={
            "a": (ticket("1", subject="New", status="Open"),),
            "b": (ticket("9", subject="Old", status="Closed"),),
        },
    )
    cfg = link(fields=["subject", "status"])
    assert plan(state, cfg, SIDES) == [
        Action(
            "update_ticket",
            "tickets",
            "a",
            "b",
            "9",
            row["marker"],
            target_id="1",
            payload={"status": "Closed"},
            base={"b": {"status": "Closed"}, "a": {"status": "Closed"}},
        ),
        Action(
            "update_ticket",
            "tickets",
            "b",
            "a",
            "1",
            row["marker"],
            target_id="9",
            payload={"subject": "New"},
            base={"a": {"subject": "New"}, "b": {"subject": "New"}},
        ),
    ]


def test_a_conflict_goes_to_the_side_the_policy_names() -> None:
    """Both sides changed the subject; ``conflict = {subject = "b"}`` lets b's value win, though a's is newer."""
    base = {"subject": "Old"}
    row = linked("tickets", "1", "9", base_a=base, base_b=base)
    state = LinkState(
        crosswalk=(row,),
        tickets={
            "a": (ticket("1", subject="From a", updated_at=T2),),
            "b": (ticket("9", subject="From b", updated_at=T1),),
        },
    )
    cfg = link(fields=["subject"], conflict={"subject": "b"})
    assert plan(state, cfg, SIDES) == [
        Action(
            "update_ticket",
            "tickets",
            "a",
            "b",
            "9",
            row["marker"],
            target_id="1",
            payload={"subject": "From b"},
            base={"b": {"subject": "From b"}, "a": {"subject": "From b"}},
        )
    ]


def test_a_vendor_proven_deletion_propagates_and_a_listing_gap_does_not() -> None:
    """Ticket 1 the vendor answered gone is deleted on b; ticket 2, only missing from a listing, is left alone."""
    rows = (linked("tickets", "1", "9"), linked("tickets", "2", "8"))
    state = LinkState(
        crosswalk=rows,
        tickets={"a": (), "b": (ticket("9"), ticket("8"))},
        gone={"tickets": {"a": {"1": None}, "b": {}}},
    )
    cfg = link(fields=["subject"], deletes="propagate")
    assert plan(state, cfg, SIDES) == [
        Action("delete_ticket", "tickets", "b", "a", "1", rows[0]["marker"], target_id="9")
    ]


def test_an_edited_note_is_rewritten_on_the_other_side() -> None:
    """A linked note whose body changed since the last push becomes one ``update_note`` of its twin."""
    pair = linked("tickets", "1", "9", base_a={"subject": "S"}, base_b={"subject": "S"})
    row = linked("notes", "n1", "m1", base_a={"body": digest("old")})
    state = LinkState(
        crosswalk=(pair, row),
        tickets={"a": (ticket("1", subject="S"),), "b": (ticket("9", subject="S"),)},
        notes={"a": (note("n1", "1", "new"),), "b": (note("m1", "9", "old"),)},
    )
    body = f"new\n\n— Ann, 2026-01-02 03:04 UTC {row['marker']}"
    cfg = link(fields=["subject"], entities=["tickets", "notes"])
    assert plan(state, cfg, SIDES) == [
        Action(
            "update_note",
            "notes",
            "b",
            "a",
            "n1",
            row["marker"],
            parent="1",
            payload={"source_id": "m1", "body": body},
            base={"a": {"body": digest("new")}},
        )
    ]


def test_our_own_write_read_back_produces_nothing() -> None:
    """What the last push wrote (a subject, a note carrying the marker) is read back and nothing moves."""
    pair = linked("tickets", "1", "9", base_a={"subject": "New"}, base_b={"subject": "New"})
    row = linked("notes", "n1", "m1", base_a={"body": digest("hello")})
    copy = f"hello\n\n— Ann, 2026-01-02 03:04 UTC {row['marker']}"
    state = LinkState(
        crosswalk=(pair, row),
        tickets={"a": (ticket("1", subject="New"),), "b": (ticket("9", subject="New"),)},
        notes={"a": (note("n1", "1", "hello"),), "b": (note("m1", "9", copy),)},
        marked={"a": (), "b": (("notes", "m1", "9", copy),)},
    )
    cfg = link(fields=["subject"], entities=["tickets", "notes"])
    assert plan(state, cfg, SIDES) == []
