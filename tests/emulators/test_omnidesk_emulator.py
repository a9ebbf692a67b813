"""The Omnidesk API v2 emulator against its protocol reference (vendors/omnidesk.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from deskbridge.sdk.emulator import Knobs
from deskbridge_connectors.omnidesk.emulator import PERMISSIONS, OmnideskEmulator
from deskbridge_connectors.omnidesk.emulator.wire import php_fields

TICKET_KEYS = [
    "id",
    "title",
    "status",
    "priority",
    "direction",
    "from",
    "from_name",
    "to",
    "to_name",
    "created_at",
    "last_update",
    "last_update_agent",
    "last_update_customer",
    "closed_at",
    "assigned_group_id",
    "assigned_user_id",
    "customer_id",
    "channel_id",
    "channel_account_id",
    "channel_name",
    "channel_icon",
    "brand_id",
    "brand_name",
    "form_id",
    "icon",
    "show_timeline",
    "external_id",
    "external_gui_url",
    "grade_by_customer",
    "sla_policy_id",
    "sla_next_breach",
    "sla_next_breach_current_status",
    "sla_breach_first_reply_time",
    "sla_breach_next_reply_time",
    "sla_breach_customer_wait_time",
    "sla_breach_user_work_time",
    "snooze_time",
    "snooze_time_sent",
]
NOTE_KEYS = [
    "type",
    "id",
    "ticket_id",
    "content",
    "user_id",
    "user_name",
    "user_avatar",
    "status_new",
    "pinned",
    "channel_id",
    "channel_name",
    "channel_icon",
    "direction",
    "from",
    "from_name",
    "to",
    "to_name",
    "image",
    "external_id",
    "meta_data",
    "created_at",
    "in_queue",
]
EVENT_KEYS = [
    "type",
    "id",
    "ticket_id",
    "item_type",
    "item_type_id",
    "description",
    "initiated_by",
    "created_at",
]


def err(message: str) -> dict[str, str]:
    return {"status": "error", "message": message}


def result(message: str) -> dict[str, str]:
    return {"type": "result", "message": message}


def client(emu: OmnideskEmulator) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=emu.app)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def key(emu: OmnideskEmulator, name: str = "api_key") -> dict[str, str]:
    return {"apiKey": emu.credentials()[name]}


def just_now(stamp: str) -> bool:
    local = datetime.now(ZoneInfo("Europe/Amsterdam")).replace(tzinfo=None)
    return abs(datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S") - local) < timedelta(seconds=10)


@pytest.fixture(scope="module")
def shared() -> OmnideskEmulator:
    """A default emulator that read-only tests share (never written to)."""
    return OmnideskEmulator()


@pytest.fixture
def emu() -> OmnideskEmulator:
    return OmnideskEmulator(seed=11, tickets=60)


async def get_item(c: httpx.AsyncClient, emu: OmnideskEmulator, tid: Any, **params: str) -> Any:
    r = await c.get(f"/api/v2/ticket/{tid}", params={**key(emu), **params})
    assert r.status_code == 200
    return r.json()["item"]


def open_ticket(emu: OmnideskEmulator) -> int:
    return next(t.id for t in reversed(emu.data.tickets.values()) if t.status == "open")


# -- auth -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({}, 401, "No API key given."),
        ({"apiKey": ""}, 401, "No API key given."),
        ({"apiKey": "0" * 32}, 401, "This API key is invalid."),
    ],
)
async def test_bad_or_missing_key_is_refused(
    shared: OmnideskEmulator, params: dict[str, str], status: int, message: str
) -> None:
    """A missing, empty or unknown apiKey gets the error envelope with 401."""
    async with client(shared) as c:
        r = await c.get("/api/v2/ticket", params=params)
    assert (r.status_code, r.json()) == (status, err(message))
    assert r.headers["content-type"] == "application/json"


async def test_key_in_body_is_not_read(emu: OmnideskEmulator) -> None:
    """The key must be the apiKey query parameter, even on writes."""
    async with client(emu) as c:
        r = await c.post("/api/v2/ticket", data={"apiKey": emu.credentials()["api_key"]})
    assert (r.status_code, r.json()) == (401, err("No API key given."))


ENDPOINTS = [
    ("GET", "/api/v2/ticket", "TICKET_READ"),
    ("GET", "/api/v2/ticket/850001", "TICKET_READ"),
    ("POST", "/api/v2/ticket", "TICKET_CREATE"),
    ("PUT", "/api/v2/ticket/850001", "TICKET_UPDATE"),
    ("POST", "/api/v2/ticket/setPriority", "TICKET_UPDATE"),
    ("POST", "/api/v2/ticket/unlinkCustomerFromTicket", "TICKET_UPDATE"),
    ("DELETE", "/api/v2/ticket/850001", "TICKET_DELETE"),
    ("DELETE", "/api/v2/ticket/multi", "TICKET_DELETE"),
    ("POST", "/api/v2/ticket/setStatus", "SET_STATUS"),
    ("PUT", "/api/v2/ticket/solveUnfinishedTickets", "SET_STATUS"),
    ("POST", "/api/v2/ticket/batch", "TICKET_BATCH"),
    ("POST", "/api/v2/message", "MESSAGE_CREATE"),
]


@pytest.mark.parametrize(("method", "path", "permission"), ENDPOINTS)
async def test_each_endpoint_needs_its_permission(method: str, path: str, permission: str) -> None:
    """A key lacking the endpoint's permission gets 403 naming it; nothing changes."""
    emu = OmnideskEmulator(seed=3, tickets=20, keys={"k": set(PERMISSIONS) - {permission}})
    before = emu.ground_truth()
    async with client(emu) as c:
        r = await c.request(method, path, params={"apiKey": "k"})
    message = f"This API key does not have the {permission} permission."
    assert (r.status_code, r.json()) == (403, err(message))
    assert emu.ground_truth() == before


async def test_readonly_key_reads_but_cannot_write(shared: OmnideskEmulator) -> None:
    """The default read-only key lists tickets and is refused on create."""
    async with client(shared) as c:
        ok = await c.get("/api/v2/ticket", params=key(shared, "readonly_api_key"))
        refused = await c.post("/api/v2/ticket", params=key(shared, "readonly_api_key"))
    assert ok.status_code == 200
    assert (refused.status_code, refused.json()) == (
        403,
        err("This API key does not have the TICKET_CREATE permission."),
    )


def test_credentials_are_deterministic_and_custom_keys_replace_them() -> None:
    """Same seed, same keys; custom keys give api_key as the first of them."""
    a, b, other = (
        OmnideskEmulator(tickets=10),
        OmnideskEmulator(tickets=10),
        OmnideskEmulator(seed=8, tickets=10),
    )
    assert a.credentials() == b.credentials() != other.credentials()
    assert set(a.credentials()) == {"api_key", "readonly_api_key"}
    custom = OmnideskEmulator(tickets=10, keys={"abc": {"TICKET_READ"}, "def": set()})
    assert custom.credentials() == {"api_key": "abc"}


# -- list -----------------------------------------------------------------------------------
async def test_list_envelope_default_page_and_order(shared: OmnideskEmulator) -> None:
    """GET index gives 15 tickets (no timeline), newest last_update first, with the total."""
    async with client(shared) as c:
        body = (await c.get("/api/v2/ticket", params=key(shared))).json()
        first = await get_item(c, shared, body["list"][0]["id"])
    live = [t for t in shared.data.tickets.values() if not t.archived]
    assert (body["type"], body["total"], len(body["list"])) == ("list", len(live), 15)
    assert [list(t) for t in body["list"]] == [TICKET_KEYS] * 15
    stamps = [t["last_update"] for t in body["list"]]
    assert stamps == sorted(stamps, reverse=True)
    del first["timeline"]
    assert body["list"][0] == first


async def test_paging_with_archive_walks_every_ticket_once(shared: OmnideskEmulator) -> None:
    """itemStart/itemLimit pages with searchArchived=yes cover all tickets exactly once."""
    seen: list[str] = []
    async with client(shared) as c:
        for start in range(0, 400, 70):
            params = {
                **key(shared),
                "itemStart": str(start),
                "itemLimit": "70",
                "searchArchived": "yes",
            }
            page = (await c.get("/api/v2/ticket", params=params)).json()["list"]
            seen += [str(t["id"]) for t in page]
    assert sorted(seen) == sorted(shared.ground_truth()["tickets"])


async def test_archived_tickets_only_with_search_archived(shared: OmnideskEmulator) -> None:
    """Closed tickets closed before July 2026 sit in the archive, outside the default list."""
    async with client(shared) as c:
        plain = (await c.get("/api/v2/ticket", params={**key(shared), "itemLimit": "9999"})).json()
        both = (
            await c.get(
                "/api/v2/ticket",
                params={**key(shared), "itemLimit": "9999", "searchArchived": "yes"},
            )
        ).json()
    archived = {t["id"] for t in both["list"]} - {t["id"] for t in plain["list"]}
    assert archived and both["total"] == 300
    assert all(
        t["status"] == "closed" and t["closed_at"] < "2026-07-01"
        for t in both["list"]
        if t["id"] in archived
    )


@pytest.mark.parametrize(
    ("params", "check"),
    [
        ({"status": "pending"}, lambda t, emu: t["status"] == "pending"),
        ({"applyView": "urgent"}, lambda t, emu: t["priority"] == "urgent"),
        ({"applyView": "unassigned"}, lambda t, emu: t["assigned_user_id"] == 0),
        ({"query": "ORDER"}, lambda t, emu: "order" in t["title"].lower()),
    ],
)
async def test_list_filters(shared: OmnideskEmulator, params: dict[str, str], check: Any) -> None:
    """status, applyView and query narrow the list and its total."""
    async with client(shared) as c:
        body = (
            await c.get("/api/v2/ticket", params={**key(shared), "itemLimit": "9999", **params})
        ).json()
    assert body["total"] == len(body["list"]) > 0
    assert all(check(t, shared) for t in body["list"])


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"itemLimit": "0"}, 400, "The field itemLimit is invalid."),
        ({"itemLimit": "10000"}, 400, "The field itemLimit is invalid."),
        ({"itemStart": "-1"}, 400, "The field itemStart is invalid."),
        ({"searchArchived": "maybe"}, 400, "The field searchArchived is invalid."),
        ({"status": "waiting"}, 400, "The field status is invalid."),
        ({"applyView": "x"}, 400, "The field applyView is invalid."),
        ({"applyView": "my view"}, 400, "The field applyView is invalid."),
        ({"applyView": "nosuchview"}, 400, "This view does not exist."),
    ],
)
async def test_list_parameter_errors(
    shared: OmnideskEmulator, params: dict[str, str], status: int, message: str
) -> None:
    """Bad list parameters give 400 with the error envelope."""
    async with client(shared) as c:
        r = await c.get("/api/v2/ticket", params={**key(shared), **params})
    assert (r.status_code, r.json()) == (status, err(message))


# -- item -----------------------------------------------------------------------------------
async def test_item_timeline_shapes_and_history(shared: OmnideskEmulator) -> None:
    """Item timelines hold notes and messages; events only with getTicketHistory."""
    tid = next(
        t.id
        for t in shared.data.tickets.values()
        if any(getattr(e, "is_note", False) for e in t.timeline)
    )
    async with client(shared) as c:
        plain = await get_item(c, shared, tid)
        full = await get_item(c, shared, tid, getTicketHistory="true")
    assert list(plain) == [*TICKET_KEYS, "timeline"]
    assert {e["type"] for e in plain["timeline"]} == {"note", "message"}
    assert all(
        list(e) == NOTE_KEYS and isinstance(e["id"], str) and e["meta_data"] == "[]"
        for e in plain["timeline"]
    )
    note = next(e for e in plain["timeline"] if e["type"] == "note")
    assert (note["channel_id"], note["direction"], note["to"]) == (0, "", "")
    events = [e for e in full["timeline"] if e["type"] == "event"]
    assert events and all(
        list(e) == EVENT_KEYS and isinstance(e["item_type_id"], str) for e in events
    )
    assert [e for e in full["timeline"] if e["type"] != "event"] == plain["timeline"]
    assert plain["channel_account_id"] == "0" and isinstance(plain["id"], int)


@pytest.mark.parametrize("path", ["/api/v2/ticket/1", "/api/v2/ticket/abc"])
async def test_unknown_ticket_is_404(shared: OmnideskEmulator, path: str) -> None:
    """An unknown ticket id answers 404 with the error envelope."""
    async with client(shared) as c:
        r = await c.get(path, params=key(shared))
    assert (r.status_code, r.json()) == (404, err("This ticket does not exist."))


async def test_unknown_endpoint_and_method(shared: OmnideskEmulator) -> None:
    """Unknown paths and methods answer the JSON error envelope too."""
    async with client(shared) as c:
        missing = await c.get("/api/v2/nothing", params=key(shared))
        method = await c.post("/api/v2/ticket/850001", params=key(shared))
    assert (missing.status_code, missing.json()) == (404, err("This endpoint does not exist."))
    assert (method.status_code, method.json()) == (
        405,
        err("This method is not allowed on this endpoint."),
    )


# -- create and update ----------------------------------------------------------------------
async def test_create_returns_the_whole_empty_ticket(emu: OmnideskEmulator) -> None:
    """POST index creates an empty ticket and links (or creates) its customer by address."""
    fields = {
        "brandID": "2",
        "channelID": "1",
        "direction": "inbound",
        "from": "thomas@test.com",
        "fromName": "Thomas",
        "to": "service@mybrand.com",
        "title": "vraag van Thomas",
        "assignedGroupID": "10003",
    }
    async with client(emu) as c:
        r = await c.post("/api/v2/ticket", params=key(emu), data=fields)
    item = r.json()["item"]
    stamp = item["created_at"]
    assert r.status_code == 200 and just_now(stamp)
    assert r.json() == {
        "type": "item",
        "item": {
            "id": 850061,
            "title": "vraag van Thomas",
            "status": "new",
            "priority": "medium",
            "direction": "inbound",
            "from": "thomas@test.com",
            "from_name": "Thomas",
            "to": "service@mybrand.com",
            "to_name": "",
            "created_at": stamp,
            "last_update": stamp,
            "last_update_agent": None,
            "last_update_customer": stamp,
            "closed_at": None,
            "assigned_group_id": 10003,
            "assigned_user_id": 0,
            "customer_id": item["customer_id"],
            "channel_id": 1,
            "channel_account_id": "0",
            "channel_name": "e-mail",
            "channel_icon": "e-mail",
            "brand_id": 2,
            "brand_name": emu.data.brands[2].name,
            "form_id": None,
            "icon": "e-mail",
            "show_timeline": 1,
            "external_id": None,
            "external_gui_url": None,
            "grade_by_customer": None,
            "sla_policy_id": None,
            "sla_next_breach": None,
            "sla_next_breach_current_status": None,
            "sla_breach_first_reply_time": None,
            "sla_breach_next_reply_time": None,
            "sla_breach_customer_wait_time": None,
            "sla_breach_user_work_time": None,
            "snooze_time": None,
            "snooze_time_sent": None,
            "timeline": [],
        },
    }
    truth = emu.ground_truth()
    assert truth["tickets"]["850061"] == {
        "subject": "vraag van Thomas",
        "status": "new",
        "priority": "medium",
    }
    assert truth["people"][f"customer:{item['customer_id']}"] == {
        "kind": "requester",
        "name": "Thomas",
        "email": "thomas@test.com",
    }


async def test_create_defaults_and_outbound(emu: OmnideskEmulator) -> None:
    """fromName defaults to one space; outbound tickets link the customer by ``to``."""
    known = emu.data.customers[626001]
    async with client(emu) as c:
        bare = (await c.post("/api/v2/ticket", params=key(emu), data={"from": "a@b.nl"})).json()
        out = (
            await c.post(
                "/api/v2/ticket",
                params=key(emu),
                data={"direction": "outbound", "to": known.email, "title": "Uw retour"},
            )
        ).json()
    assert (bare["item"]["from_name"], bare["item"]["brand_id"]) == (" ", 1)
    assert out["item"]["customer_id"] == known.id
    assert (out["item"]["to_name"], out["item"]["last_update_customer"]) == (known.name, None)
    assert out["item"]["last_update_agent"] == out["item"]["created_at"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"direction": "inbound|outbound"}, "The field direction is invalid."),
        ({"brandID": "two"}, "The field brandID is invalid."),
        ({"brandID": "9"}, "This brand does not exist."),
        ({"channelID": "9"}, "This channel does not exist."),
        ({"assignedGroupID": "5"}, "This group does not exist."),
        ({"formID": "x"}, "The field formID is invalid."),
    ],
)
async def test_create_validation(
    emu: OmnideskEmulator, fields: dict[str, str], message: str
) -> None:
    """Invalid create fields give 400 and create nothing."""
    async with client(emu) as c:
        r = await c.post("/api/v2/ticket", params=key(emu), data=fields)
    assert (r.status_code, r.json()) == (400, err(message))
    assert len(emu.ground_truth()["tickets"]) == 60


async def test_put_item_updates_title_status_and_customer(emu: OmnideskEmulator) -> None:
    """PUT item sets title, solved/closed status and the customer by external primary id."""
    tid = open_ticket(emu)
    linked = emu.data.tickets[tid].customer_id
    other = next(c for c in emu.data.customers.values() if c.id != linked)
    async with client(emu) as c:
        r = await c.put(
            f"/api/v2/ticket/{tid}",
            params=key(emu),
            data={
                "title": "Nieuwe titel",
                "status": "closed",
                "externalPrimaryID": other.external_id,
            },
        )
        item = await get_item(c, emu, tid, getTicketHistory="1")
    assert (r.status_code, r.json()) == (200, result("Ticket updated."))
    assert (item["title"], item["status"]) == ("Nieuwe titel", "closed")
    assert item["customer_id"] == other.id
    assert (item["from"], item["from_name"]) == (other.email, other.name)
    assert just_now(item["last_update"]) and item["closed_at"] == item["last_update"]
    assert [e["item_type"] for e in item["timeline"][-3:]] == ["customer_id", "title", "status"]
    assert item["timeline"][-1]["initiated_by"] == "API"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"status": "open"}, "The field status is invalid."),
        ({"externalPrimaryID": "nobody"}, "This customer does not exist."),
    ],
)
async def test_put_item_errors(emu: OmnideskEmulator, fields: dict[str, str], message: str) -> None:
    """PUT accepts only solved/closed and known external primary ids."""
    tid = open_ticket(emu)
    async with client(emu) as c:
        r = await c.put(f"/api/v2/ticket/{tid}", params=key(emu), data=fields)
    assert (r.status_code, r.json()) == (400, err(message))


async def test_reads_and_no_op_writes_do_not_move_last_update(emu: OmnideskEmulator) -> None:
    """GETs, an unchanged title and a status set again leave last_update alone."""
    tid = open_ticket(emu)
    ticket = emu.data.tickets[tid]
    async with client(emu) as c:
        before = await get_item(c, emu, tid)
        await c.get("/api/v2/ticket", params=key(emu))
        await c.put(f"/api/v2/ticket/{tid}", params=key(emu), data={"title": ticket.title})
        await c.post(
            "/api/v2/ticket/setStatus",
            params=key(emu),
            data={"status": "open", "ticketIDs[]": str(tid)},
        )
        after = await get_item(c, emu, tid)
    assert after == before


# -- delete, status, priority, unlink, batch ------------------------------------------------
async def test_delete_item_and_multi(emu: OmnideskEmulator) -> None:
    """DELETE item and DELETE multi (ticketIDs[]) remove tickets and their notes."""
    async with client(emu) as c:
        one = await c.delete("/api/v2/ticket/850001", params=key(emu))
        many = await c.request(
            "DELETE",
            "/api/v2/ticket/multi",
            params=key(emu),
            data={"ticketIDs[]": ["850002", "850003"]},
        )
        gone = await c.get("/api/v2/ticket/850002", params=key(emu))
        again = await c.delete("/api/v2/ticket/850001", params=key(emu))
    assert (one.json(), many.json()) == (result("Ticket deleted."), result("Tickets deleted."))
    assert (gone.status_code, again.status_code) == (404, 404)
    truth = emu.ground_truth()
    assert not {"850001", "850002", "850003"} & set(truth["tickets"])
    assert not [n for n in truth["notes"].values() if n["ticket_id"] in {"850001", "850002"}]


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({}, 400, "The field ticketIDs[] is required."),
        ({"ticketIDs[]": "x1"}, 400, "The field ticketIDs[] is invalid."),
        ({"ticketIDs": "850004"}, 400, "The field ticketIDs[] is invalid."),
        ({"ticketIDs[]": ["850004", "999"]}, 404, "This ticket does not exist."),
    ],
)
async def test_delete_multi_errors_delete_nothing(
    emu: OmnideskEmulator, data: dict[str, Any], status: int, message: str
) -> None:
    """DELETE multi validates every id before deleting any."""
    async with client(emu) as c:
        r = await c.request("DELETE", "/api/v2/ticket/multi", params=key(emu), data=data)
    assert (r.status_code, r.json()) == (status, err(message))
    assert "850004" in emu.ground_truth()["tickets"]


async def test_set_status_and_priority_on_several_tickets(emu: OmnideskEmulator) -> None:
    """setStatus and setPriority change every listed ticket and move last_update."""
    ids = [str(t) for t in list(emu.data.tickets)[-2:]]
    async with client(emu) as c:
        sides = [
            (i["last_update_agent"], i["last_update_customer"])
            for i in [await get_item(c, emu, i) for i in ids]
        ]
        s = await c.post(
            "/api/v2/ticket/setStatus",
            params=key(emu),
            data={"status": "holding", "ticketIDs[]": ids},
        )
        p = await c.post(
            "/api/v2/ticket/setPriority",
            params=key(emu),
            data={"priority": "urgent", "ticketIDs[]": ids},
        )
        bad = await c.post(
            "/api/v2/ticket/setPriority",
            params=key(emu),
            data={"priority": "normal", "ticketIDs[]": ids},
        )
        items = [await get_item(c, emu, i) for i in ids]
    assert (s.json(), p.json()) == (result("Status updated."), result("Priority updated."))
    assert (bad.status_code, bad.json()) == (400, err("The field priority is invalid."))
    assert [(i["status"], i["priority"]) for i in items] == [("holding", "urgent")] * 2
    assert all(just_now(i["last_update"]) for i in items)
    assert [(i["last_update_agent"], i["last_update_customer"]) for i in items] == sides


async def test_solve_unfinished_tickets(emu: OmnideskEmulator) -> None:
    """PUT solveUnfinishedTickets solves the empty open tickets and nothing else."""
    async with client(emu) as c:
        empty = (await c.post("/api/v2/ticket", params=key(emu), data={"title": "leeg"})).json()
        before = {k: v["status"] for k, v in emu.ground_truth()["tickets"].items()}
        r = await c.put("/api/v2/ticket/solveUnfinishedTickets", params=key(emu))
    after = {k: v["status"] for k, v in emu.ground_truth()["tickets"].items()}
    assert r.json() == result("Unfinished tickets solved.")
    assert {k for k in after if after[k] != before[k]} == {str(empty["item"]["id"])}
    assert after[str(empty["item"]["id"])] == "solved"


async def test_unlink_customer(emu: OmnideskEmulator) -> None:
    """unlinkCustomerFromTicket sets customer_id to 0; a second call changes nothing."""
    tid = open_ticket(emu)
    async with client(emu) as c:
        r = await c.post(
            "/api/v2/ticket/unlinkCustomerFromTicket", params=key(emu), data={"ticketID": str(tid)}
        )
        first = await get_item(c, emu, tid)
        await c.post(
            "/api/v2/ticket/unlinkCustomerFromTicket", params=key(emu), data={"ticketID": str(tid)}
        )
        second = await get_item(c, emu, tid)
        missing = await c.post("/api/v2/ticket/unlinkCustomerFromTicket", params=key(emu))
    assert r.json() == result("Customer unlinked from ticket.")
    assert first["customer_id"] == 0 and just_now(first["last_update"]) and second == first
    assert (missing.status_code, missing.json()) == (400, err("The field ticketID is required."))


async def test_batch_actions(emu: OmnideskEmulator) -> None:
    """batch applies every actions[n] to the comma-separated TicketIDs."""
    a, b = list(emu.data.tickets)[-2:]
    async with client(emu) as c:
        r = await c.post(
            "/api/v2/ticket/batch",
            params=key(emu),
            data={
                "TicketIDs": f"{a}, {b}",
                "actions[0][actionType]": "status",
                "actions[0][value]": "solved",
                "actions[1][actionType]": "assignedGroupID",
                "actions[1][value]": "10004",
                "actions[2][actionType]": "priority",
                "actions[2][value]": "low",
            },
        )
        items = [await get_item(c, emu, i) for i in (a, b)]
    assert r.json() == result("Batch actions performed.")
    assert [(i["status"], i["assigned_group_id"], i["priority"]) for i in items] == [
        ("solved", 10004, "low")
    ] * 2


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (
            {"actions[0][actionType]": "status", "actions[0][value]": "open"},
            400,
            "The field TicketIDs is required.",
        ),
        (
            {"TicketIDs": "12;13", "actions[0][actionType]": "status"},
            400,
            "The field TicketIDs is invalid.",
        ),
        ({"TicketIDs": "850001"}, 400, "The field actions is required."),
        (
            {"TicketIDs": "850001", "actions[0][actionType]": "tag", "actions[0][value]": "x"},
            400,
            "The field actions[0][actionType] is invalid.",
        ),
        (
            {"TicketIDs": "850001", "actions[0][actionType]": "status", "actions[0][value]": "x"},
            400,
            "The field actions[0][value] is invalid.",
        ),
        (
            {
                "TicketIDs": "850001",
                "actions[0][actionType]": "assignedGroupID",
                "actions[0][value]": "7",
            },
            400,
            "This group does not exist.",
        ),
        (
            {
                "TicketIDs": "850001, 1",
                "actions[0][actionType]": "status",
                "actions[0][value]": "open",
            },
            404,
            "This ticket does not exist.",
        ),
    ],
)
async def test_batch_errors(
    emu: OmnideskEmulator, data: dict[str, str], status: int, message: str
) -> None:
    """batch validates ids and actions before changing anything."""
    before = emu.ground_truth()
    async with client(emu) as c:
        r = await c.post("/api/v2/ticket/batch", params=key(emu), data=data)
    assert (r.status_code, r.json()) == (status, err(message))
    assert emu.ground_truth() == before


# -- messages and notes ---------------------------------------------------------------------
async def test_note_and_reply_through_message_endpoint(emu: OmnideskEmulator) -> None:
    """POST message (multipart) with type 0 adds a note, with a channel id a reply."""
    tid = open_ticket(emu)
    customer = emu.data.customers[emu.data.tickets[tid].customer_id]
    owner = emu.data.staff[1]
    async with client(emu) as c:
        note = await c.post(
            "/api/v2/message",
            params=key(emu),
            files={
                "ticketID": (None, str(tid)),
                "type": (None, "0"),
                "message": (None, "Klant belt terug, één keer"),
            },
        )
        reply = await c.post(
            "/api/v2/message",
            params=key(emu),
            data={
                "ticketID": str(tid),
                "type": "1",
                "toAddress": customer.email,
                "message": "Beste klant, het pakket is onderweg.",
            },
        )
        item = await get_item(c, emu, tid)
    n, m = note.json()["item"], reply.json()["item"]
    assert (note.json()["type"], reply.json()["type"]) == ("item", "item")
    assert n == {
        "type": "note",
        "id": n["id"],
        "ticket_id": tid,
        "content": "Klant belt terug, één keer",
        "user_id": 1,
        "user_name": owner.name,
        "user_avatar": None,
        "status_new": None,
        "pinned": 0,
        "channel_id": 0,
        "channel_name": "note",
        "channel_icon": "note",
        "direction": "",
        "from": owner.email,
        "from_name": owner.name,
        "to": "",
        "to_name": "",
        "image": None,
        "external_id": None,
        "meta_data": "[]",
        "created_at": n["created_at"],
        "in_queue": 0,
    }
    assert (m["type"], m["direction"], m["to"], m["to_name"]) == (
        "message",
        "outbound",
        customer.email,
        customer.name,
    )
    assert item["timeline"][-2:] == [n, m]
    assert just_now(item["last_update"]) and item["last_update_agent"] == item["last_update"]
    truth = emu.ground_truth()
    assert truth["notes"][f"note:{n['id']}"] == {
        "ticket_id": str(tid),
        "kind": "note",
        "visibility": "private",
        "body": "Klant belt terug, één keer",
    }
    assert truth["notes"][f"message:{m['id']}"] == {
        "ticket_id": str(tid),
        "kind": "reply",
        "visibility": "public",
        "body": "Beste klant, het pakket is onderweg.",
    }
    assert truth["people"]["staff:1"] == {"kind": "staff", "name": owner.name, "email": owner.email}


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (
            {"ticketID": "", "type": "0", "message": "Hallo daar"},
            400,
            "The field ticketID is required.",
        ),
        (
            {"ticketID": "1", "type": "0", "message": "Hallo daar"},
            404,
            "This ticket does not exist.",
        ),
        (
            {"ticketID": "T", "type": "0", "message": "Hallo daar"},
            404,
            "This ticket does not exist.",
        ),
        ({"type": "email", "message": "Hallo daar"}, 400, "The field type is invalid."),
        ({"type": "9", "message": "Hallo daar"}, 400, "This channel does not exist."),
        ({"type": "1", "message": "Hallo daar"}, 400, "The field toAddress is required."),
        (
            {"type": "1", "toAddress": "geen adres", "message": "Hallo daar"},
            400,
            "The field toAddress is invalid.",
        ),
        (
            {"type": "0", "ccInput": "x", "message": "Hallo daar"},
            400,
            "The field ccInput is invalid.",
        ),
        ({"type": "0", "message": "Hoi"}, 400, "The field message is invalid."),
        ({"type": "0"}, 400, "The field message is required."),
        (
            {"type": "0", "respondMessageID": "42", "message": "Hallo daar"},
            400,
            "This message does not exist.",
        ),
    ],
)
async def test_message_errors(
    emu: OmnideskEmulator, data: dict[str, str], status: int, message: str
) -> None:
    """POST message validates its fields; nothing is written on failure."""
    tid = open_ticket(emu)
    before = emu.ground_truth()
    async with client(emu) as c:
        r = await c.post("/api/v2/message", params=key(emu), data={"ticketID": str(tid), **data})
    assert (r.status_code, r.json()) == (status, err(message))
    assert emu.ground_truth() == before


async def test_contactform_word_and_respond_message(emu: OmnideskEmulator) -> None:
    """type=contactform needs no address; respondMessageID may name a message of the ticket."""
    tid = open_ticket(emu)
    last = [p for p in emu.data.tickets[tid].posts() if not p.is_note][-1]
    async with client(emu) as c:
        r = await c.post(
            "/api/v2/message",
            params=key(emu),
            data={
                "ticketID": str(tid),
                "type": "contactform",
                "respondMessageID": str(last.id),
                "message": "Dank voor uw bericht.",
            },
        )
    assert r.status_code == 200
    assert (r.json()["item"]["channel_name"], r.json()["item"]["to"]) == ("contactform", "")


def test_php_style_fields() -> None:
    """Form keys read as PHP reads them: [] appends, [n][name] nests."""
    pairs = [
        ("ticketIDs[]", "1"),
        ("ticketIDs[]", "2"),
        ("actions[0][actionType]", "status"),
        ("actions[0][value]", "open"),
        ("actions[1][value]", "low"),
        ("x", "y"),
    ]
    assert php_fields(pairs) == {
        "ticketIDs": ["1", "2"],
        "x": "y",
        "actions": {"0": {"actionType": "status", "value": "open"}, "1": {"value": "low"}},
    }


# -- mutations, determinism, knobs ----------------------------------------------------------
def test_same_seed_same_truth_and_mutations() -> None:
    """Same seed gives the same seed data, truth and mutation sequence; another seed differs."""
    a, b = OmnideskEmulator(seed=5, tickets=80), OmnideskEmulator(seed=5, tickets=80)
    assert a.ground_truth() == b.ground_truth()
    assert a.ground_truth() != OmnideskEmulator(seed=6, tickets=80).ground_truth()
    assert a.mutate(25) == b.mutate(25)
    assert a.ground_truth() == b.ground_truth()


async def test_mutations_change_truth_and_move_last_update(emu: OmnideskEmulator) -> None:
    """mutate(n) returns n lines and every touched live ticket shows a fresh last_update."""
    before = emu.ground_truth()
    stamps = {t.id: t.last_update for t in emu.data.tickets.values()}
    lines = emu.mutate(30)
    after = emu.ground_truth()
    assert len(lines) == 30 and after != before
    changed = {tid for tid, t in emu.data.tickets.items() if stamps.get(tid) != t.last_update}
    touched = {int(line.split(":")[0].split()[1]) for line in lines} & set(emu.data.tickets)
    assert changed == touched
    async with client(emu) as c:
        items = [await get_item(c, emu, tid) for tid in sorted(changed)]
    assert all(just_now(i["last_update"]) for i in items)
    by_id = {i["id"]: i for i in items}
    for line in lines:
        tid, change = int(line.split(":")[0].split()[1]), line.split(": ", 1)[1]
        side = (
            "customer"
            if change.startswith(("customer", "new"))
            else ("agent" if "replied" in change or "added note" in change else None)
        )
        if tid in by_id and side:
            assert just_now(by_id[tid][f"last_update_{side}"])
    edited = [
        tid
        for tid in before["tickets"]
        if tid in after["tickets"] and before["tickets"][tid] != after["tickets"][tid]
    ]
    assert {int(t) for t in edited} <= changed
    new_notes = set(after["notes"]) - set(before["notes"])
    assert all(after["notes"][n]["ticket_id"] in {str(t) for t in changed} for n in new_notes)


def test_large_data_set_builds() -> None:
    """tickets= scales the seed data; ids run from 850001."""
    truth = OmnideskEmulator(tickets=5000).ground_truth()
    assert len(truth["tickets"]) == 5000 and min(truth["tickets"]) == "850001"
    assert len(truth["notes"]) > 10000 and truth["time_entries"] == {}


async def test_knobs_and_fault_injection(emu: OmnideskEmulator) -> None:
    """Injected faults from the base class hit the vendor routes once, then service resumes."""
    emu.inject("500")
    emu.inject("401")
    async with client(emu) as c:
        first = await c.get("/api/v2/ticket", params=key(emu))
        second = await c.get("/api/v2/ticket", params=key(emu))
        third = await c.get("/api/v2/ticket", params=key(emu))
    assert (first.status_code, second.status_code, third.status_code) == (500, 401, 200)
    assert emu.requests["/api/v2/ticket"] == 3
    slow = OmnideskEmulator(tickets=10, knobs=Knobs(fail_every_n=2))
    async with client(slow) as c:
        codes = [(await c.get("/api/v2/ticket", params=key(slow))).status_code for _ in range(4)]
    assert codes == [200, 500, 200, 500]
