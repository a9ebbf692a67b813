"""Kayako Classic custom fields (/Tickets/TicketCustomField, /Base/CustomField) in the warehouse."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
import pytest
from conftest import Harness, make_harness
from fieldkit import catalog, stored_fields

from deskbridge_connectors.kayako.emulator import KayakoEmulator

pytestmark = pytest.mark.asyncio


class Routes(httpx.AsyncBaseTransport):
    """The emulator's transport, counting the Kayako routes asked for (the ``e`` parameter)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.seen = inner, Counter[str]()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        route = request.url.params.get("e", "")
        self.seen["/".join(p for p in route.split("/") if not p.isdigit())] += 1
        return await self.inner.handle_async_request(request)


def counting(h: Harness) -> Routes:
    h.transport = routes = Routes(h.transport)
    return routes


def kayako(tmp_path: Path, **options: object) -> tuple[Harness, KayakoEmulator]:
    h = make_harness(
        "kayako",
        tmp_path,
        tickets=60,
        options={"closed_reconcile_every": "24h", "custom_fields": True, **options},
    )
    assert isinstance(h.emulator, KayakoEmulator)
    return h, h.emulator


async def test_pull_equals_ground_truth_field_by_field(tmp_path: Path) -> None:
    """Every set custom field is one typed ticket_fields row; the catalog has the options."""
    h, emu = kayako(tmp_path)
    await h.sync()
    truth = emu.ground_truth()["ticket_fields"]
    assert {row["type"] for row in truth.values()} == {"text", "choice", "date", "multichoice"}
    assert stored_fields(h.wh.con, h.config.name) == truth
    assert catalog(h.wh.con, h.config.name) == [
        ("1", "Contract number", "text", True, None),
        (
            "2",
            "Product",
            "choice",
            True,
            '["Hosting Basic","Hosting Pro","Dedicated Server","Domain"]',
        ),
        ("3", "Renewal date", "date", True, None),
        ("4", "Affected services", "multichoice", True, '["E-mail","Website","DNS","FTP"]'),
    ]
    h.assert_truth()
    h.wh.close()


async def test_an_agent_edit_is_picked_up_incrementally(tmp_path: Path) -> None:
    """An agent sets a product and clears a contract number: the next run reads both, nothing else."""
    h, emu = kayako(tmp_path)
    await h.sync()
    set_one = next(t for t, v in emu.store.custom.items() if 2 not in v)
    cleared = next(t for t, v in emu.store.custom.items() if 1 in v and t != set_one)
    emu.set_custom_field(set_one, 2, 3)
    emu.set_custom_field(cleared, 1, None)
    routes = counting(h)
    result = await h.sync()
    assert result.counts["tickets.changed"] == 2
    custom = {r: n for r, n in routes.seen.items() if "CustomField" in r}
    assert custom == {  # the catalog with the options of two choice fields, and the two tickets
        "/Base/CustomField": 1,
        "/Base/CustomField/ListOptions": 2,
        "/Tickets/TicketCustomField": 2,
    }
    stored = stored_fields(h.wh.con, h.config.name)
    assert stored == emu.ground_truth()["ticket_fields"]
    assert stored[f"{set_one}:2"]["value"] == "Dedicated Server"
    assert f"{cleared}:1" not in stored
    h.wh.close()


async def test_a_rerun_without_changes_changes_nothing(tmp_path: Path) -> None:
    """Reconciled tickets are read without their fields, yet keep their hash: no change counted."""
    h, _ = kayako(tmp_path, closed_reconcile_every="0s")
    await h.sync()
    result = await h.sync()
    assert {k: v for k, v in result.counts.items() if v and not k.endswith(".read")} == {}
    h.wh.close()


async def test_off_by_default_costs_nothing(tmp_path: Path) -> None:
    """Without the option, no custom field request is made and no field is stored."""
    h = make_harness("kayako", tmp_path, tickets=20)
    routes = counting(h)
    await h.sync()
    assert routes.seen and not [r for r in routes.seen if "CustomField" in r]
    assert h.wh.con.execute("SELECT count(*) FROM ticket_fields").fetchone() == (0,)
    h.wh.close()


async def test_the_emulator_answers_the_custom_field_routes_as_the_server_does(
    tmp_path: Path,
) -> None:
    """POST sets by field name and option id and leaves lastactivity; bad data and bare routes get 400."""
    from deskbridge import registry
    from deskbridge.sdk import FatalError

    h, emu = kayako(tmp_path)
    connector = registry.get("kayako").connector_class()(h.config, transport=h.transport)
    client = connector.client  # type: ignore[attr-defined]
    before = emu.store.tickets[5].lastactivity
    answer = await client._send(
        "POST",
        "/Tickets/TicketCustomField/5",
        "customfields",
        {"k7ns2qv1xwpa": "KC-424242", "q3hd8mz0rbte": "4", "a2pe7tu5gnvi[0]": "7"},
    )
    assert answer.status_code == 200
    fields = {f["title"]: f["value"] for f in await client.custom_fields("5")}
    assert fields["Contract number"] == "KC-424242"
    assert fields["Product"] == "Domain" and fields["Affected services"] == "DNS"
    assert emu.store.tickets[5].lastactivity == before
    with pytest.raises(
        FatalError, match="400: vendor refused the request: Custom Field Data is Invalid: Product"
    ):
        await client._send(
            "POST", "/Tickets/TicketCustomField/5", "customfields", {"q3hd8mz0rbte": "7"}
        )
    assert await client.custom_fields("999999") is None
    options = await client.custom_field_options("2")
    assert [o["optionvalue"] for o in options] == [
        "Hosting Basic",
        "Hosting Pro",
        "Dedicated Server",
        "Domain",
    ]
    await connector.aclose()
    h.wh.close()
