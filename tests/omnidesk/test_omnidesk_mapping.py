"""Omnidesk mapping: recorded JSON payloads -> canonical rows (pure functions, no HTTP)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from deskbridge.sdk.errors import AuthError, PayloadError, PermissionDenied, VendorRejected
from deskbridge_connectors.omnidesk import mapping as m
from deskbridge_connectors.omnidesk.client import Listing, parser

# GET /api/v2/ticket/858462, as the API reference shows it, with a note and two messages.
ITEM = json.loads("""{"type": "item", "item": {
  "id": 858462, "title": "vraag van Thomas", "status": "holding", "priority": "medium",
  "direction": "inbound", "from": "thomas@test.com", "from_name": "Thomas",
  "to": "service@mybrand.com", "to_name": "", "created_at": "2019-09-28 22:06:16", "last_update": "2019-12-02 09:15:00",
  "last_update_agent": null, "last_update_customer": "2019-09-28 22:06:16", "closed_at": null,
  "assigned_group_id": 10003, "assigned_user_id": 0, "customer_id": "626822",
  "channel_id": 1, "channel_account_id": "0", "channel_name": "e-mail", "channel_icon": "e-mail",
  "brand_id": 2, "brand_name": "MyBrand", "form_id": null, "icon": "e-mail", "show_timeline": 1,
  "sla_next_breach": "2019-10-01 12:00:00",
  "timeline": [
    {"type": "message", "id": 3143280, "ticket_id": 858462, "content": "Waar blijft mijn pakket?",
     "user_id": 0, "user_name": null, "channel_id": 1, "direction": "inbound",
     "from": "thomas@test.com", "from_name": "Thomas", "to": "service@mybrand.com", "to_name": "",
     "meta_data": "[]", "created_at": "2019-09-28 22:06:16"},
    {"type": "event", "id": 7000001, "ticket_id": 858462, "item_type": "assigned_group_id",
     "item_type_id": "10003", "description": "Assigned to service",
     "initiated_by": "trigger: Assign to service", "created_at": "2019-09-28 22:06:16"},
    {"type": "note", "id": "3143281", "ticket_id": "858462", "content": "Klant belt terug",
     "user_id": "4", "user_name": "Jane Roe", "status_new": "holding", "pinned": 0,
     "channel_id": 0, "channel_name": "note", "direction": "", "from": "jane@mybrand.com",
     "from_name": "Jane Roe", "to": "", "to_name": "", "meta_data": "[]",
     "created_at": "2019-12-02 09:15:00"}
  ]}}""")


def test_ticket_row_from_item() -> None:
    """A ticket maps to its canonical row; Amsterdam times become UTC; raw drops the timeline."""
    item = ITEM["item"]
    row = m.ticket_row(item)
    assert row == {
        "source_id": "858462",
        "number": "858462",
        "subject": "vraag van Thomas",
        "status": "holding",
        "status_category": "pending",
        "priority": "medium",
        "priority_level": "normal",
        "type": "e-mail",
        "department": "10003",
        "requester_id": "customer:626822",
        "assignee_id": None,
        "created_at": datetime(2019, 9, 28, 20, 6, 16, tzinfo=UTC),
        "updated_at": datetime(2019, 12, 2, 8, 15, tzinfo=UTC),
        "resolved_at": None,
        "due_at": datetime(2019, 10, 1, 10, 0, tzinfo=UTC),
        "tags": None,
        "raw": {k: v for k, v in item.items() if k != "timeline"},
    }


def test_item_rows_notes_and_people() -> None:
    """Messages become public replies, notes private notes; events are skipped; people are seen."""
    ticket, notes, people = m.item_rows(ITEM["item"])
    assert ticket["source_id"] == "858462"
    assert [{k: v for k, v in n.items() if k != "raw"} for n in notes] == [
        {
            "source_id": "message:3143280",
            "ticket_id": "858462",
            "kind": "reply",
            "visibility": "public",
            "author_id": "customer:626822",
            "author_name": "Thomas",
            "author_kind": "requester",
            "body": "Waar blijft mijn pakket?",
            "is_html": None,
            "created_at": datetime(2019, 9, 28, 20, 6, 16, tzinfo=UTC),
        },
        {
            "source_id": "note:3143281",
            "ticket_id": "858462",
            "kind": "note",
            "visibility": "private",
            "author_id": "staff:4",
            "author_name": "Jane Roe",
            "author_kind": "staff",
            "body": "Klant belt terug",
            "is_html": None,
            "created_at": datetime(2019, 12, 2, 8, 15, tzinfo=UTC),
        },
    ]
    assert [(p["source_id"], p["kind"], p["name"], p["email"]) for p in people] == [
        ("customer:626822", "requester", "Thomas", "thomas@test.com"),
        ("staff:4", "staff", "Jane Roe", "jane@mybrand.com"),
    ]


def test_outbound_ticket_names_the_customer_from_its_to_side() -> None:
    """On an outbound ticket the customer is the recipient (the first address of ``to``)."""
    raw = {
        "id": "12",
        "customer_id": 7,
        "direction": "outbound",
        "from": "service@shop.nl",
        "from_name": "Shop",
        "to": "anna@example.com, cc@example.com",
        "to_name": "Anna",
    }
    assert m.requester_row(raw) == {
        "source_id": "customer:7",
        "kind": "requester",
        "name": "Anna",
        "email": "anna@example.com",
        "organization": None,
        "is_active": None,
        "raw": {"customer_id": "7", "name": "Anna", "email": "anna@example.com"},
    }
    assert m.requester_row(raw | {"customer_id": 0}) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (858462, "858462"),
        ("858462", "858462"),
        (" 42 ", "42"),
        (42.0, "42"),
        ("0", None),
        (0, None),
        (None, None),
        ("", None),
    ],
)
def test_ids_as_numbers_or_numeric_strings(value: object, expected: str | None) -> None:
    """Ids come as numbers or numeric strings; 0 and empty mean none."""
    assert m.ident(value) == expected


@pytest.mark.parametrize("value", ["abc", "12a", True, [1], 1.5])
def test_non_numeric_ids_are_payload_errors(value: object) -> None:
    """Anything else than a number is a payload error naming the value."""
    with pytest.raises(PayloadError, match="expected a numeric id"):
        m.ident(value)


@pytest.mark.parametrize(
    ("local", "earliest", "latest"),
    [
        (
            "2026-01-15 12:00:00",
            datetime(2026, 1, 15, 11, 0, tzinfo=UTC),
            datetime(2026, 1, 15, 11, 0, tzinfo=UTC),
        ),
        (
            "2026-07-01 12:00:00",
            datetime(2026, 7, 1, 10, 0, tzinfo=UTC),
            datetime(2026, 7, 1, 10, 0, tzinfo=UTC),
        ),
        # the autumn hour that happens twice: first CEST (+2), then CET (+1)
        (
            "2026-10-25 02:30:00",
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
            datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
        ),
    ],
)
def test_naive_amsterdam_times_to_utc(local: str, earliest: datetime, latest: datetime) -> None:
    """Winter is UTC+1, summer UTC+2; an ambiguous time has an earliest and a latest reading."""
    assert (m.to_utc(local), m.latest_utc(local)) == (earliest, latest)


def test_malformed_datetime_is_a_payload_error() -> None:
    """A datetime in another shape fails clearly instead of guessing."""
    with pytest.raises(PayloadError, match="2019-09-28T22:06:16Z"):
        m.to_utc("2019-09-28T22:06:16Z")


def _response(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body, request=httpx.Request("GET", "http://o/api/v2/ticket"))


@pytest.mark.parametrize(
    ("status", "error"), [(400, VendorRejected), (401, AuthError), (403, PermissionDenied)]
)
def test_error_envelope_becomes_the_matching_error(status: int, error: type[Exception]) -> None:
    """An error envelope raises the error class of its status, with the vendor's message."""
    body = {
        "status": "error",
        "message": "This API key does not have the TICKET_UPDATE permission.",
    }
    with pytest.raises(error) as info:
        parser("result", "tickets", "858462")(_response(status, body))
    assert str(info.value) == (
        f"omnidesk tickets record 858462 HTTP {status}: "
        "This API key does not have the TICKET_UPDATE permission."
    )


@pytest.mark.parametrize(
    ("body", "total"),
    [
        ({"type": "list", "list": [{"id": 1}], "total": 7}, 7),
        ({"items": [{"id": 1}]}, None),
        ([{"id": 1}], None),
    ],
)
def test_list_envelope_variants(body: object, total: int | None) -> None:
    """A list comes under ``list`` (with its total), under ``items`` or as a bare array."""
    assert parser("list", "tickets")(_response(200, body)) == Listing([{"id": 1}], total)


def test_wrong_envelope_is_a_payload_error() -> None:
    """An item where a list was expected names what arrived."""
    with pytest.raises(PayloadError, match=r"expected a list envelope, got \['type', 'item'\]"):
        parser("list", "tickets")(_response(200, ITEM))
