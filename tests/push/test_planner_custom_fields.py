"""The planner over mapped custom fields: a LinkState with field values built by hand, the whole
action list asserted (no warehouse, no HTTP)."""

from __future__ import annotations

from typing import Any

from test_planner_pure import SIDES, T1, T2, linked, ticket

from deskbridge.config import LinkConfig
from deskbridge.push.actions import Action
from deskbridge.push.crosswalk import LinkState
from deskbridge.push.markers import marker_for
from deskbridge.push.planner import plan

TYPES = {"a": {"1": "text", "2": "integer"}, "b": {"85": "text", "83": "text"}}


def link(**overrides: Any) -> LinkConfig:
    return LinkConfig(
        **{
            "name": "pair",
            "a": "left",
            "b": "right",
            "entities": ["tickets"],
            "fields": ["subject"],
            "custom": {"kayako:1": "kayako:85", "kayako:2": {"to": "kayako:83"}},
            **overrides,
        }
    )


def test_a_new_ticket_carries_its_mapped_fields_and_number() -> None:
    """Field values go under ``fields`` by the target's keys, converted to its types; the source
    number goes to the field ``source_number_to`` names; bases hold them by mapping name."""
    state = LinkState(
        tickets={"a": (ticket("1", subject="Printer", number="K-7"),), "b": ()},
        fields={"a": {"1": {"1": "AC-1", "2": 5}}, "b": {}},
        field_types=TYPES,
    )
    marker = marker_for("pair", "tickets", "a", "1")
    payload = {
        "subject": "Printer",
        "requester_name": None,
        "requester_email": None,
        "body": f"Synced from kayako ticket K-7. {marker}",
        "fields": {"85": "AC-1", "83": "5", "87": "K-7"},
    }
    mine = {"subject": "Printer", "kayako:1": "AC-1", "kayako:2": 5, "source_number_to": "K-7"}
    theirs = mine | {"kayako:2": "5"}
    cfg = link(source_number_to="right:87")
    assert plan(state, cfg, SIDES) == [
        Action(
            "create_ticket",
            "tickets",
            "b",
            "a",
            "1",
            marker,
            payload=payload,
            base={"a": mine, "b": theirs},
        )
    ]


def test_a_linked_pair_merges_mapped_fields_like_canonical_ones() -> None:
    """b changed field 85: a gets it; a changed field 2 while b kept 83: b gets it as text; the
    source number, changed by hand on b, is not written back to a's number."""
    base_a = {"kayako:1": "AC-1", "kayako:2": 5, "source_number_to": "K-7"}
    base_b = {"kayako:1": "AC-1", "kayako:2": "5", "source_number_to": "K-7"}
    row = linked("tickets", "1", "9", base_a=base_a, base_b=base_b)
    state = LinkState(
        crosswalk=(row,),
        tickets={"a": (ticket("1", number="K-7"),), "b": (ticket("9", number="R-2"),)},
        fields={
            "a": {"1": {"1": "AC-1", "2": 6}},
            "b": {"9": {"85": "AC-2", "83": "5", "87": "edited"}},
        },
        field_types=TYPES,
    )
    cfg = link(fields=[], source_number_to="right:87")
    assert plan(state, cfg, SIDES) == [
        Action(
            "update_ticket",
            "tickets",
            "a",
            "b",
            "9",
            row["marker"],
            target_id="1",
            payload={"fields": {"1": "AC-2"}},
            base={"b": {"kayako:1": "AC-2"}, "a": {"kayako:1": "AC-2"}},
        ),
        Action(
            "update_ticket",
            "tickets",
            "b",
            "a",
            "1",
            row["marker"],
            target_id="9",
            payload={"fields": {"83": "6"}},
            base={"a": {"kayako:2": 6}, "b": {"kayako:2": "6"}},
        ),
    ]


def test_agreed_values_plan_nothing_and_a_value_map_reads_back() -> None:
    """Both sides hold the mapped value pair the last push wrote: no action (no echo)."""
    mapped = {"kayako:1": {"to": "kayako:85", "values": {"Gold": "Premium"}}}
    base = {"kayako:1": "Gold"}
    row = linked("tickets", "1", "9", base_a=base, base_b={"kayako:1": "Premium"})
    state = LinkState(
        crosswalk=(row,),
        tickets={"a": (ticket("1"),), "b": (ticket("9"),)},
        fields={"a": {"1": {"1": "Gold"}}, "b": {"9": {"85": "Premium"}}},
        field_types=TYPES,
    )
    assert plan(state, link(fields=[], custom=mapped), SIDES) == []


def test_a_conflict_on_a_mapped_field_follows_the_policy_of_its_key() -> None:
    """Both sides changed field 1/85; ``conflict = {"kayako:1" = "b"}`` lets b's value win."""
    base = {"kayako:1": "AC-1"}
    row = linked("tickets", "1", "9", base_a=base, base_b=base)
    state = LinkState(
        crosswalk=(row,),
        tickets={"a": (ticket("1", updated_at=T2),), "b": (ticket("9", updated_at=T1),)},
        fields={"a": {"1": {"1": "AC-a"}}, "b": {"9": {"85": "AC-b"}}},
        field_types=TYPES,
    )
    cfg = link(fields=[], custom={"kayako:1": "kayako:85"}, conflict={"kayako:1": "b"})
    assert plan(state, cfg, SIDES) == [
        Action(
            "update_ticket",
            "tickets",
            "a",
            "b",
            "9",
            row["marker"],
            target_id="1",
            payload={"fields": {"1": "AC-b"}},
            base={"b": {"kayako:1": "AC-b"}, "a": {"kayako:1": "AC-b"}},
        )
    ]


def test_a_value_the_target_type_cannot_hold_is_refused_naming_the_key() -> None:
    """b's text 'many' cannot become a's integer field 2: the ticket's update is refused."""
    base = {"kayako:2": 5}
    row = linked("tickets", "1", "9", base_a=base, base_b={"kayako:2": "5"})
    state = LinkState(
        crosswalk=(row,),
        tickets={"a": (ticket("1"),), "b": (ticket("9"),)},
        fields={"a": {"1": {"2": 5}}, "b": {"9": {"83": "many"}}},
        field_types=TYPES,
    )
    cfg = link(fields=[], custom={"kayako:2": "kayako:83"})
    assert plan(state, cfg, SIDES) == [
        Action(
            "reject",
            "tickets",
            "a",
            "b",
            "9",
            row["marker"],
            reason="links.pair.custom.\"kayako:2\": 'many' cannot be written to the integer "
            "field; map it in values",
        )
    ]
