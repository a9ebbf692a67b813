"""Through a link with ``deletes = "propagate"``, an interrupted full refresh deletes nothing at
the other side; a ticket really deleted at the source is still deleted at its twin."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CONTRACT_VENDORS
from pushkit import make_pair

from deskbridge.pull import engine
from deskbridge.pull.engine import build_connector
from deskbridge.sdk.contract import WriteOp
from deskbridge.sdk.emulator import Emulator
from deskbridge.testing import CutAfter, assert_matches_truth

TARGET = {"kayako": "trackit"}  # every other source links into Kayako
LINK = {"kayako": {"author": {"b": "staff:1"}, "defaults": {"b": {"subject": "(no subject)"}}}}


def tickets(emulator: Emulator) -> int:
    return len(emulator.ground_truth()["tickets"])


@pytest.mark.parametrize("vendor", CONTRACT_VENDORS)
async def test_interrupted_full_refresh_deletes_nothing_at_the_other_side(
    vendor: str, tmp_path: Path
) -> None:
    """A full refresh of the source cut by an outage, then plain cycles: the target keeps every
    twin; then a ticket deleted at the source (where the vendor can) is deleted at its twin."""
    target = TARGET.get(vendor, "kayako")
    pair = make_pair(
        tmp_path,
        (vendor, 40),
        (target, 3),
        direction="a_to_b",
        deletes="propagate",
        **LINK.get(target, {}),
    )
    try:
        first = await pair.cycle()
        assert first.failures == []
        source, twin = pair.emulators["a_side"], pair.emulators["b_side"]
        held = tickets(twin)
        config = pair.settings.connections["a_side"]
        with pytest.raises(Exception):  # noqa: B017 - any failure will do: the cut ends the run
            await engine.sync(
                pair.wh, config, full_refresh=True, transport=CutAfter(pair.transport("a_side"), 12)
            )
        for _ in range(2):
            result = await pair.cycle()
            assert result.failures == [] and not any(k.startswith("delete_") for k in result.counts)
        assert tickets(twin) == held
        assert_matches_truth(pair.wh.con, "a_side", source.ground_truth())

        async with build_connector(config, pair.transport("a_side")) as connector:
            can_delete = WriteOp.DELETE_TICKET in connector.write_ops
        if not can_delete:
            return
        a_id, _b_id = pair.wh.con.execute(
            "SELECT a_id, b_id FROM crosswalk WHERE entity = 'tickets' AND state = 'linked' ORDER BY a_id LIMIT 1"
        ).fetchone()
        await pair.write("a_side", WriteOp.DELETE_TICKET, a_id, {})
        after = await pair.cycle()
        assert after.counts.get("delete_ticket.done") == 1
        assert tickets(twin) == held - 1
        proof = pair.wh.con.execute(
            "SELECT deleted_proof FROM tickets WHERE connection = 'a_side' AND source_id = ?",
            [a_id],
        ).fetchone()
        assert proof == ("not_found",)  # the vendor answered not found: only that is propagated
    finally:
        pair.wh.close()


async def test_a_deletion_without_the_vendors_not_found_is_not_propagated(tmp_path: Path) -> None:
    """Rows deleted on a listing alone, or by an operator, stay deleted on their side only."""
    pair = make_pair(
        tmp_path,
        ("kayako", 10),
        ("kayako", 3),
        direction="a_to_b",
        deletes="propagate",
        author={"b": "staff:1"},
    )
    try:
        await pair.cycle()
        held = tickets(pair.emulators["b_side"])
        ids = [
            r[0]
            for r in pair.wh.con.execute(
                "SELECT a_id FROM crosswalk WHERE entity = 'tickets' AND state = 'linked' ORDER BY a_id LIMIT 2"
            ).fetchall()
        ]
        pair.wh.con.execute(
            "UPDATE tickets SET deleted_at = now(), deleted_proof = 'listing' WHERE connection = 'a_side' AND source_id = ?",
            [ids[0]],
        )
        pair.wh.con.execute(  # held, then confirmed by an operator: the ticket and its notes
            "INSERT INTO suspected_deletions (connection, entity, source_id, state, reason, listed_from, detected_at) "
            "VALUES ('a_side', 'tickets', ?, 'held', 'test', now(), now())",
            [ids[1]],
        )
        assert pair.wh.resolve_held("a_side", confirm=True) == {"tickets": 1}
        proofs = pair.wh.con.execute(
            "SELECT DISTINCT deleted_proof FROM notes WHERE connection = 'a_side' AND ticket_id = ?",
            [ids[1]],
        ).fetchall()
        assert proofs == [("operator",)]
        result = await pair.cycle(pull=False)
        assert not any(a.kind.startswith("delete") for a in result.actions)
        assert tickets(pair.emulators["b_side"]) == held
    finally:
        pair.wh.close()
