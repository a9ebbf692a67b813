"""WHMCS mapping and envelope parsing on recorded payloads (pure functions, no HTTP)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from deskbridge.sdk.errors import (
    AuthError,
    NotFound,
    PayloadError,
    PermissionDenied,
    VendorRejected,
)
from deskbridge_connectors.whmcs import mapping as m
from deskbridge_connectors.whmcs.client import parse_envelope

# The GetTicket example of the WHMCS docs (and of Keliweb's get-ticket page), verbatim.
GET_TICKET = {
    "result": "success",
    "ticketid": "1",
    "tid": "516757",
    "c": "KPqH7yG3",
    "deptid": "1",
    "deptname": "Sample Support Department",
    "userid": "1",
    "contactid": "0",
    "name": "Cynthia Reilly",
    "email": "testuser@whmcs.com",
    "cc": "",
    "date": "2016-01-01 06:26:29",
    "subject": "This is a sample ticket",
    "status": "Closed",
    "priority": "Medium",
    "admin": "",
    "lastreply": "2016-01-01 06:30:16",
    "flag": "0",
    "service": "",
    "replies": {
        "reply": [
            {
                "replyid": "0",
                "userid": "1",
                "contactid": "0",
                "name": "Cynthia Reilly",
                "email": "testuser@whmcs.com",
                "date": "2016-01-01 06:26:29",
                "message": "Hey, \r\n\r\nThis is a sample ticket",
                "attachment": "",
                "admin": "",
            },
            {
                "replyid": "1",
                "userid": "0",
                "contactid": "0",
                "name": "",
                "email": "",
                "date": "2016-01-01 06:30:16",
                "message": "This is a sample reply",
                "attachment": "",
                "admin": "Demo Admin",
                "rating": "0",
            },
        ]
    },
    "notes": {
        "note": [
            {
                "noteid": "1",
                "date": "2016-01-01 06:26:42",
                "message": "This is a ticket note",
                "admin": "Demo Admin",
            },
        ]
    },
}

# A GetTickets item of an 8.x install: ``id`` instead of ``ticketid``, numbers as integers.
LIST_ITEM = {
    "id": 1,
    "tid": "516757",
    "deptid": 1,
    "userid": 1,
    "name": "Cynthia Reilly",
    "email": "testuser@whmcs.com",
    "requestor_name": "Cynthia Reilly",
    "requestor_email": "testuser@whmcs.com",
    "requestor_type": "Owner",
    "cc": "",
    "c": "KPqH7yG3",
    "date": "2016-01-01 06:26:29",
    "subject": "This is a sample ticket",
    "status": "Closed",
    "priority": "Medium",
    "admin": "",
    "attachment": "",
    "attachments": [],
    "attachments_removed": False,
    "lastreply": "2016-01-01 06:30:16",
    "flag": 0,
    "service": "",
    "owner_name": "Cynthia Reilly",
}

ADMIN = {
    "id": 3,
    "roleId": 1,
    "username": "demoadmin",
    "firstName": "Demo",
    "lastName": "Admin",
    "email": "demo@example.com",
    "isDisabled": 0,
    "supportDepartmentIds": ["1"],
}

LOOKUPS = m.Lookups(departments={"1": "Sample Support Department"}, admins={"Demo Admin": "3"})


def test_ticket_row_from_get_ticket() -> None:
    """GetTicket maps to the canonical ticket: status and priority canonical values from the toml."""
    row = m.ticket_row(GET_TICKET, LOOKUPS)
    raw = row.pop("raw")
    assert row == {
        "source_id": "1",
        "number": "516757",
        "subject": "This is a sample ticket",
        "status": "Closed",
        "status_category": "closed",
        "priority": "Medium",
        "priority_level": "normal",
        "type": None,
        "department": "Sample Support Department",
        "requester_id": "client:1",
        "assignee_id": None,
        "created_at": datetime(2016, 1, 1, 6, 26, 29, tzinfo=UTC),
        "updated_at": datetime(2016, 1, 1, 6, 30, 16, tzinfo=UTC),
        "resolved_at": None,
        "due_at": None,
        "tags": None,
    }
    assert "replies" not in raw and "notes" not in raw and raw["c"] == "KPqH7yG3"


def test_list_item_with_integers_maps_like_get_ticket() -> None:
    """A GetTickets item with integer ids gives the same canonical row as the GetTicket body."""
    strip = lambda row: {k: v for k, v in row.items() if k != "raw"}  # noqa: E731
    assert strip(m.ticket_row(LIST_ITEM, LOOKUPS)) == strip(m.ticket_row(GET_TICKET, LOOKUPS))


def test_messages_and_notes() -> None:
    """The opening message, a staff reply and a note become public replies and a private note."""
    rows = m.message_rows(GET_TICKET, LOOKUPS) + m.note_rows(GET_TICKET, LOOKUPS)
    assert [{k: v for k, v in r.items() if k != "raw"} for r in rows] == [
        {
            "source_id": "message:1",
            "ticket_id": "1",
            "kind": "reply",
            "visibility": "public",
            "author_id": "client:1",
            "author_name": "Cynthia Reilly",
            "author_kind": "requester",
            "body": "Hey, \r\n\r\nThis is a sample ticket",
            "is_html": False,
            "created_at": datetime(2016, 1, 1, 6, 26, 29, tzinfo=UTC),
        },
        {
            "source_id": "reply:1",
            "ticket_id": "1",
            "kind": "reply",
            "visibility": "public",
            "author_id": "admin:3",
            "author_name": "Demo Admin",
            "author_kind": "staff",
            "body": "This is a sample reply",
            "is_html": False,
            "created_at": datetime(2016, 1, 1, 6, 30, 16, tzinfo=UTC),
        },
        {
            "source_id": "note:1",
            "ticket_id": "1",
            "kind": "note",
            "visibility": "private",
            "author_id": "admin:3",
            "author_name": "Demo Admin",
            "author_kind": "staff",
            "body": "This is a ticket note",
            "is_html": False,
            "created_at": datetime(2016, 1, 1, 6, 26, 42, tzinfo=UTC),
        },
    ]


def test_server_local_times_follow_the_configured_zone() -> None:
    """Naive WHMCS datetimes are read in the server's zone; the zero date means unset."""
    rome = ZoneInfo("Europe/Rome")
    assert m.when("2016-07-01 12:00:00", rome) == datetime(2016, 7, 1, 10, 0, tzinfo=UTC)
    assert m.when("0000-00-00 00:00:00", rome) is None and m.when("", UTC) is None


def test_guest_ticket_people_and_ids() -> None:
    """A non-client sender is ``guest:<lowercased e-mail>``, named as on each of their messages."""
    guest = {**GET_TICKET, "userid": "0", "name": "Ann Guest", "email": "Ann@Example.com"}
    guest["replies"] = {
        "reply": [
            {
                "replyid": "7",
                "userid": "0",
                "name": "Ann G.",
                "email": "ann@example.com",
                "date": "2016-01-02 08:00:00",
                "message": "More",
                "admin": "",
            }
        ]
    }
    people = m.requester_rows(guest)
    assert [(key, p["source_id"], p["name"], p["email"]) for key, p in people] == [
        (("2016-01-01 06:26:29", 0), "guest:ann@example.com", "Ann Guest", "Ann@Example.com"),
        (("2016-01-02 08:00:00", 7), "guest:ann@example.com", "Ann G.", "ann@example.com"),
    ]
    assert m.ticket_row(guest, LOOKUPS)["requester_id"] == "guest:ann@example.com"


def test_admin_row_keeps_no_login_name() -> None:
    """GetAdminUsers items become staff people; the login name is not kept in raw."""
    row = m.admin_row(ADMIN)
    assert row.pop("raw") == {k: v for k, v in ADMIN.items() if k != "username"}
    assert row == {
        "source_id": "admin:3",
        "kind": "staff",
        "name": "Demo Admin",
        "email": "demo@example.com",
        "organization": None,
        "is_active": True,
    }


@pytest.mark.parametrize("empty", [None, [], {}, {"ticket": []}])
def test_empty_lists_in_every_shape(empty: object) -> None:
    """An empty list may be missing, ``[]``, ``{}`` or an empty wrapper; a lone record is a list."""
    assert m.items(empty, "ticket") == []
    assert m.items({"ticket": {"id": "1"}}, "ticket") == [{"id": "1"}]
    assert (m.as_int("12"), m.as_int(12), m.as_int(""), m.as_int(None)) == (12, 12, 0, 0)


def response(status: int, body: object) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = httpx.Request("POST", "http://whmcs.test/includes/api.php?action=GetTicket")
    return httpx.Response(
        status, content=content, headers={"content-type": "application/json"}, request=request
    )


def test_result_or_status_success() -> None:
    """``result`` decides, and ``status`` stands in where an action says that instead."""
    assert (
        parse_envelope(response(200, {"status": "success", "billableid": 1}), "AddBillableItem")[
            "billableid"
        ]
        == 1
    )
    assert parse_envelope(response(200, GET_TICKET), "GetTicket")["status"] == "Closed"


@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (
            200,
            {"result": "error", "message": "Ticket ID Not Found"},
            NotFound,
            "Ticket ID Not Found",
        ),
        (
            200,
            {
                "result": "error",
                "message": "Invalid Ticket Priority. Valid priorities are: Low,Medium,High",
            },
            VendorRejected,
            "Invalid Ticket Priority. Valid priorities are: Low,Medium,High",
        ),
        (200, {"result": "error"}, VendorRejected, "result=error without a message"),
        (200, {"tickets": []}, PayloadError, "no result in the answer"),
        (200, b'{"result": "succ', PayloadError, "malformed JSON"),
        (
            403,
            {"result": "error", "message": "Invalid IP 203.0.113.7"},
            PermissionDenied,
            "Invalid IP 203.0.113.7",
        ),
        (
            403,
            {"result": "error", "message": "Authentication Failed"},
            AuthError,
            "Authentication Failed",
        ),
        (
            403,
            {"result": "error", "message": "Invalid or missing credentials"},
            AuthError,
            "Invalid or missing credentials",
        ),
        (
            403,
            {"result": "error", "message": "Administrator Account Disabled"},
            AuthError,
            "Administrator Account Disabled",
        ),
    ],
)
def test_error_envelopes_surface_the_vendor_message(
    status: int, body: object, error: type, text: str
) -> None:
    """Error envelopes raise the matching error class with the vendor's message verbatim."""
    with pytest.raises(error) as info:
        parse_envelope(response(status, body), "GetTicket", "5")
    assert text in str(info.value) and "whmcs GetTicket record 5" in str(info.value)
