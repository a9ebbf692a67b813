"""WHMCS re-reads single tickets (GetTicket by id): the capability crash recovery relies on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Harness, make_harness

from deskbridge.pull import engine
from deskbridge.pull.engine import build_connector
from deskbridge.sdk.contract import Capability, WriteOp
from deskbridge.testing import projection, truth_diff
from deskbridge_connectors.whmcs.connector import WhmcsConnector


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    harness = make_harness("whmcs", tmp_path, tickets=30)
    yield harness
    harness.wh.close()


def test_whmcs_declares_read_tickets() -> None:
    """Overriding read_tickets declares the capability; the base connector has none."""
    assert WhmcsConnector.can(Capability.READ_TICKETS)
    assert WhmcsConnector.capabilities == frozenset({Capability.READ_TICKETS})


async def test_reread_brings_single_tickets_up_to_date(h: Harness) -> None:
    """A note and a status change that move no lastreply, and a deleted ticket, land after re-reading just those ids."""
    await h.sync()
    ids = sorted(h.emulator.store.tickets, key=int)
    changed, gone = str(ids[0]), str(ids[1])
    async with build_connector(h.config, h.transport) as connector:
        note = await connector.write(
            WriteOp.ADD_NOTE,
            changed,
            {"kind": "note", "visibility": "private", "body": "Checked the DNS."},
        )
        await connector.write(
            WriteOp.UPDATE_FIELDS, changed, {"status": "On Hold", "priority": "High"}
        )
        await connector.write(WriteOp.DELETE_TICKET, gone, {})
    result = await engine.reread(h.wh, h.config, [changed, gone], transport=h.transport)
    assert result.status == "success"
    truth = h.emulator.ground_truth()
    mine = projection(h.wh.con, h.config.name)
    for entity in (
        "tickets",
        "notes",
    ):  # whole rows of every ticket and note, the two re-read ones included
        assert truth_diff({entity: mine[entity]}, {entity: truth[entity]}) == []
    assert truth["notes"][note]["body"] == "Checked the DNS." and gone not in truth["tickets"]
    assert h.wh.con.execute(
        "SELECT deleted_at IS NOT NULL FROM tickets WHERE source_id = ?", [gone]
    ).fetchone() == (True,)
