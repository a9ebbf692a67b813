"""Custom fields across links over emulators: a migration by field id under renamed display
names, a two-way link converging on a mapped field, and the preflight of the mapping."""

from __future__ import annotations

import random
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pushkit import Pair, linked_pairs, make_pair

from deskbridge.config import LinkConfig
from deskbridge.pull.engine import build_connector
from deskbridge.push.fieldmap import mapped_fields
from deskbridge.push.mapcheck import check_links
from deskbridge.push.migrate import migrate
from deskbridge.push.preflight import preflight
from deskbridge.sdk import VendorRejected, WriteContext, WriteOp


def read_custom_fields(pair: Pair, name: str) -> None:
    """The Kayako connection reads custom fields (off by default: a request per ticket)."""
    conn = pair.settings.connections[name]
    conn.options = {**conn.options, "custom_fields": True}


def with_link(pair: Pair, **link: Any) -> LinkConfig:
    config = LinkConfig.model_validate({"name": "pair", "a": "a_side", "b": "b_side", **link})
    pair.settings.links["pair"] = pair.link = config
    return config


async def test_kayako_to_trackit_migration_carries_custom_fields_by_id(tmp_path: Path) -> None:
    """Two Kayako fields and the ticket number land in Custom Text 1, Custom Look Up 3 and
    Custom Text 3, which this installation renamed; field by field equal; a rerun plans nothing."""
    pair = make_pair(tmp_path, ("kayako", 12), ("trackit", 3), direction="a_to_b")
    read_custom_fields(pair, "a_side")
    trackit = pair.emulators["b_side"]
    renamed = {85: "Contract No.", 118: "Product", 87: "Original ticket"}
    for seq, name in renamed.items():
        trackit.rename_field(seq, name)
    link = with_link(
        pair,
        direction="a_to_b",
        entities=["tickets"],
        custom={"kayako:1": "trackit:85", "kayako:2": {"to": "trackit:118"}},
        source_number_to="trackit:87",
    )
    try:
        dry, _ = await migrate(
            pair.wh, pair.settings, link, transport_for=pair.transport, dry_run=True
        )
        assert [sorted(a.payload["fields"]) for a in dry.actions] == [["118", "85", "87"]] * 12
        assert len(trackit.ground_truth()["tickets"]) == 3  # a dry run writes nothing
        result, report = await migrate(
            pair.wh, pair.settings, link, transport_for=pair.transport, check=True
        )
        assert result.failures == []
        assert report.rows["tickets"]["migrated"] == 12
        source = pair.emulators["a_side"].ground_truth()["ticket_fields"]
        target = trackit.ground_truth()["ticket_fields"]
        numbers = dict(
            pair.wh.con.execute(
                "SELECT source_id, number FROM tickets WHERE connection = 'a_side'"
            ).fetchall()
        )
        carried = 0
        for a_id, b_id in linked_pairs(pair):
            for key, seq in (("1", 85), ("2", 118)):
                mine, theirs = source.get(f"{a_id}:{key}"), target.get(f"{b_id}:{seq}")
                if mine is None:
                    assert theirs is None
                    continue
                assert theirs == {
                    "ticket_id": b_id,
                    "field_key": str(seq),
                    "field_id": str(seq),
                    "label": renamed[seq],
                    "type": "text" if seq == 85 else "choice",
                    "value": mine["value"],
                }
                carried += 1
            assert target[f"{b_id}:87"]["value"] == numbers[a_id]
            assert target[f"{b_id}:87"]["label"] == "Original ticket"
        assert carried >= 6  # the seeded tickets do set these fields
        again, _ = await migrate(pair.wh, pair.settings, link, transport_for=pair.transport)
        assert again.actions == []
    finally:
        pair.wh.close()


async def set_field(pair: Pair, name: str, ticket: str, value: str | None) -> None:
    pair.emulators[name].set_custom_field(int(ticket), 86, value)  # type: ignore[attr-defined]


async def test_two_way_link_converges_on_a_mapped_custom_field(tmp_path: Path) -> None:
    """Random edits of Custom Text 2 on both sides, some on one pair at once, after side b
    renamed the field: after each cycle every pair agrees, and the next cycle plans nothing
    (nothing written is echoed back)."""
    pair = make_pair(tmp_path, ("trackit", 6), ("trackit", 6), entities=["tickets"])
    with_link(pair, entities=["tickets"], custom={"trackit:86": "trackit:86"})
    rng = random.Random(15)
    try:
        first = await pair.cycle(check=True)
        assert first.failures == []
        pair.emulators["b_side"].rename_field(86, "Contract")  # type: ignore[attr-defined]
        for _ in range(3):
            for _ in range(8):
                a_id, b_id = rng.choice(linked_pairs(pair))
                side = rng.choice(["a_side", "b_side", "both"])
                value = rng.choice([None, f"CT-{rng.randint(1000, 9999)}"])
                if side in ("a_side", "both"):
                    await set_field(pair, "a_side", a_id, value)
                if side in ("b_side", "both"):
                    await set_field(pair, "b_side", b_id, f"CT-{rng.randint(1000, 9999)}")
            result = await pair.cycle()
            assert result.failures == []
            assert result.counts["update_ticket.done"] > 0
            assert disagreements(pair) == []
            echo = await pair.cycle()
            assert echo.actions == []
    finally:
        pair.wh.close()


def disagreements(pair: Pair) -> list[str]:
    """Linked pairs whose Custom Text 2 differs between the two emulators."""
    a = pair.emulators["a_side"].ground_truth()["ticket_fields"]
    b = pair.emulators["b_side"].ground_truth()["ticket_fields"]
    out = []
    for a_id, b_id in linked_pairs(pair):
        mine, theirs = a.get(f"{a_id}:86"), b.get(f"{b_id}:86")
        if (mine or {}).get("value") != (theirs or {}).get("value"):
            out.append(f"{a_id}~{b_id}: {mine} != {theirs}")
    return out


async def test_preflight_names_the_key_of_each_bad_custom_field(tmp_path: Path) -> None:
    """An unknown id, a read-only target field, a value no look-up choice allows, and types
    that differ with neither a value map nor a transform."""
    pair = make_pair(tmp_path, ("trackit", 20), ("trackit", 20), entities=["tickets"])
    try:
        await pair.cycle(dry_run=True)  # pulls both sides: their field catalogs
        # no emulated vendor has a read-only custom field: the catalog says so for one, as a
        # vendor whose API marks a field read-only would have it stored
        pair.wh.con.execute(
            "UPDATE fields SET writable = false WHERE connection = 'b_side' AND field_key = '89'"
        )
        link = with_link(
            pair,
            direction="a_to_b",
            entities=["tickets"],
            custom={
                "trackit:999": "trackit:85",
                "trackit:88": "trackit:89",
                "trackit:116": {"to": "trackit:116", "values": {"Warehouse": "Moon Base"}},
                "trackit:83": "trackit:117",
            },
        )
        report = preflight(pair.wh, pair.settings, link)
        seen = pair.wh.con.execute(
            "SELECT DISTINCT value_text FROM ticket_fields WHERE connection = 'b_side' "
            "AND field_key = '116' ORDER BY 1"
        ).fetchall()
        sites = ", ".join(r[0] for r in seen)
        assert "Moon Base" not in sites and len(seen) >= 2
        assert [p for p in report.problems if "custom" in p] == [
            f"links.pair.custom.\"trackit:999\": a_side has no custom field '999'; known: "
            f"{report.problems[0].split('known: ')[1]}",
            "links.pair.custom.\"trackit:88\": trackit field '89' (Custom Text 5) of b_side is "
            "read-only; map a writable one",
            "links.pair.custom.\"trackit:116\": 'Moon Base' (from values) is not a choice of "
            f"'116' (Custom Look Up 1); known: {sites}",
            "links.pair.custom.\"trackit:83\": side a's 83 is integer, side b's 117 is choice; "
            "add values = { ... } or transform = 'choice'",
        ]
        assert "81 (Custom Date 1)" in report.problems[0]
        # `deskbridge mappings check` runs the same check over every configured link
        assert check_links(pair.wh, pair.settings)[0] == report.problems
    finally:
        pair.wh.close()


def test_the_readme_custom_field_example_is_a_valid_link() -> None:
    """The README's mapping section example loads and names a field on each side rightly."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = next(b for b in re.findall(r"```toml\n(.+?)```", readme, re.S) if "custom =" in b)
    table = tomllib.loads(block)["links"]["helpdesk_to_servicedesk"]
    link = LinkConfig.model_validate({"name": "x", "a": "support", "b": "servicedesk", **table})
    vendors = {"a": "kayako", "b": "trackit"}
    maps, problems = mapped_fields(link, {"a": "support", "b": "servicedesk"}, vendors)
    assert problems == []
    assert [(m.name, m.keys) for m in maps] == [
        ("kayako:1", {"a": "1", "b": "85"}),
        ("kayako:2", {"a": "2", "b": "116"}),
        ("source_number_to", {"a": None, "b": "87"}),
    ]


async def test_preflight_says_what_it_could_not_check_and_why_a_catalog_is_empty(
    tmp_path: Path,
) -> None:
    """Before any pull the fields are a limit; a Kayako connection that does not read custom
    fields (its default) stored no catalog, and the problem says where that is turned on."""
    pair = make_pair(tmp_path, ("kayako", 3), ("trackit", 3), direction="a_to_b")
    key = 'links.pair.custom."kayako:1"'
    link = with_link(
        pair, direction="a_to_b", entities=["tickets"], custom={"kayako:1": "trackit:85"}
    )
    try:
        before = preflight(pair.wh, pair.settings, link)
        assert [line for line in before.limits if key in line] == [
            f"{key}: a_side has not been pulled yet, so its field '1' was not checked; run "
            "`deskbridge sync a_side` to check it"
        ]
        await pair.cycle(dry_run=True)
        after = preflight(pair.wh, pair.settings, link)
        assert after.problems == [
            f"{key}: a_side has no custom field '1'; its last pull stored no custom field "
            "catalog (see the kayako connector's README: some read custom fields only when an "
            "option turns them on)"
        ]
    finally:
        pair.wh.close()


async def test_trackit_refuses_a_custom_field_that_carries_the_recovery_marker(
    tmp_path: Path,
) -> None:
    """A create whose mapped field is the connection's recovery_field (Custom Text 6) would
    lose the value under the marker: refused, nothing created; another field lands by name."""
    pair = make_pair(tmp_path, ("trackit", 1), ("trackit", 1))
    trackit = pair.emulators["b_side"]
    before = len(trackit.ground_truth()["tickets"])
    payload = {"subject": "Printer", "status": "Open", "priority": "3 - Medium"}
    try:
        async with build_connector(
            pair.settings.connections["b_side"], pair.transport("b_side")
        ) as connector:
            ctx = WriteContext("[deskbridge:test]")
            with pytest.raises(VendorRejected, match="custom field 90 carries this connection"):
                await connector.write(
                    WriteOp.CREATE_TICKET, None, payload | {"fields": {"90": "x"}}, ctx
                )
            assert len(trackit.ground_truth()["tickets"]) == before
            trackit.rename_field(89, "Asset tag")
            new_id = await connector.write(
                WriteOp.CREATE_TICKET, None, payload | {"fields": {"89": "AT-7"}}, ctx
            )
        assert trackit.ground_truth()["ticket_fields"][f"{new_id}:89"]["label"] == "Asset tag"
        assert trackit.ground_truth()["ticket_fields"][f"{new_id}:89"]["value"] == "AT-7"
    finally:
        pair.wh.close()
