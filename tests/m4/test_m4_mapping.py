"""M4 mapping and .NET timestamps: recorded payloads -> canonical rows (pure functions, no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from deskbridge.sdk.errors import PayloadError
from deskbridge_connectors.m4 import mapping as m
from deskbridge_connectors.m4.client import records_or_one
from deskbridge_connectors.m4.clock import ServerClock, parse_zone

EST = ServerClock(parse_zone("-05:00"))
# Recorded from the vendor reference samples (ticket 61, GetTicketNotes reply, TimeEntry).
TICKET = {
    "ID": 61,
    "TicketNumber": "Trouble Ticket-61",
    "TicketState": 5,
    "ModifiedBy": "jsmith",
    "Priority": 3,
    "ServingArea": 4,
    "StructureLink": 123456,
    "CustomerID": 10042,
    "TimeOpened": "2013-10-30T09:54:35.85",
    "ReportedBy": "Ann Lee",
    "CreatedBy": "mapcom",
    "ChangedBy": "jsmith",
    "TicketCode": 7,
    "AssignmentWorkflowStatus": None,
    "AssignmentReturnMessage": None,
    "WONumber": None,
    "TicketType": 1,
    "TicketCategory": 2,
}
SYSTEM_NOTE = {
    "ID": 7,
    "TicketID": 320,
    "NoteType": "NOTE",
    "Note": "Ticket has been cancelled. Total number of Linecard(s): 0",
    "Subject": None,
    "UserName": "mapcom",
    "ts": "2019-02-04T10:28:44.207",
    "IsClearedNote": False,
}
ADDED_LOG = {
    "ID": 342927,
    "TicketID": 2734,
    "NoteType": "LOG",
    "Note": "note text",
    "Subject": "",
    "UserName": "",
    "ts": "2017-11-20T11:33:34.0299526-05:00",
    "IsClearedNote": False,
}
ENTRY = {
    "ID": 93,
    "TimeCodeId": 2,
    "TimeCode": "GATH_EQP",
    "ApptId": 5001,
    "TicketID": 61,
    "TechID": 104,
    "Minutes": 45,
    "Capital": 1,
    "Time": "2013-07-31T00:06:42.493",
    "PayCodeId": None,
    "CustomerServiceID": None,
    "Comment": "Loaded the truck",
    "CustomerID": 10042,
}


def test_ticket_row() -> None:
    """A Ticket maps to bare-integer labels, canonical vocabularies and a UTC opening time."""
    assert m.ticket_row(TICKET, EST) == {
        "source_id": "61",
        "number": "Trouble Ticket-61",
        "subject": None,
        "status": "5",
        "status_category": "resolved",
        "priority": "3",
        "priority_level": "normal",
        "type": "1",
        "department": "2",
        "requester_id": "customer:10042",
        "assignee_id": None,
        "created_at": datetime(2013, 10, 30, 14, 54, 35, 850000, tzinfo=UTC),
        "updated_at": None,
        "resolved_at": None,
        "due_at": None,
        "tags": None,
        "raw": TICKET,
    }


def test_unmapped_state_counts_as_open() -> None:
    """A TicketState missing from mappings/m4.toml has no category and is re-read like an open ticket."""
    row = m.ticket_row({**TICKET, "TicketState": 42}, EST)
    assert (row["status"], row["status_category"], m.is_open(row)) == ("42", None, True)
    assert m.is_open(m.ticket_row({**TICKET, "TicketState": 6}, EST)) is False


def test_people_rows_from_tickets() -> None:
    """Tickets name one requester by CustomerID and staff by CreatedBy/ModifiedBy/ChangedBy."""
    rows = m.people_rows([TICKET, {**TICKET, "ID": 62, "ModifiedBy": "", "ChangedBy": "adiaz"}])
    assert {r["source_id"]: (r["kind"], r["name"], r["email"]) for r in rows} == {
        "customer:10042": ("requester", None, None),
        "user:mapcom": ("staff", "mapcom", None),
        "user:jsmith": ("staff", "jsmith", None),
        "user:adiaz": ("staff", "adiaz", None),
    }


def test_system_note_without_offset() -> None:
    """The vendor's GetTicketNotes sample: NOTE is public, its ts is server-local (UTC-5)."""
    assert m.note_row(SYSTEM_NOTE, EST) == {
        "source_id": "7",
        "ticket_id": "320",
        "kind": "note",
        "visibility": "public",
        "author_id": "user:mapcom",
        "author_name": "mapcom",
        "author_kind": "staff",
        "body": "Ticket has been cancelled. Total number of Linecard(s): 0",
        "is_html": False,
        "created_at": datetime(2019, 2, 4, 15, 28, 44, 207000, tzinfo=UTC),
        "raw": SYSTEM_NOTE,
    }


def test_log_note_with_offset_and_no_author() -> None:
    """A LOG note is private; a ts with 7 digits and an offset keeps its own offset."""
    row = m.note_row(ADDED_LOG, ServerClock(UTC))
    assert (row["visibility"], row["author_id"], row["author_kind"]) == ("private", None, None)
    assert row["created_at"] == datetime(2017, 11, 20, 16, 33, 34, 29952, tzinfo=UTC)


def test_time_entry_row() -> None:
    """Minutes become seconds worked; M4 records no billable time."""
    assert m.entry_row(ENTRY, EST) == {
        "source_id": "93",
        "ticket_id": "61",
        "worker_id": "tech:104",
        "worker_name": None,
        "seconds_worked": 2700,
        "seconds_billable": None,
        "work_time": datetime(2013, 7, 31, 5, 6, 42, 493000, tzinfo=UTC),
        "bill_time": None,
        "note": "Loaded the truck",
        "created_by_id": None,
        "raw": ENTRY,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-02-04T10:28:44.207", datetime(2019, 2, 4, 15, 28, 44, 207000, tzinfo=UTC)),
        ("2013-10-30T09:54:35.85", datetime(2013, 10, 30, 14, 54, 35, 850000, tzinfo=UTC)),
        ("2019-02-04T10:28:44", datetime(2019, 2, 4, 15, 28, 44, tzinfo=UTC)),
        (
            "2017-11-20T11:33:34.0299526-05:00",
            datetime(2017, 11, 20, 16, 33, 34, 29952, tzinfo=UTC),
        ),
        ("2022-01-25T09:21:27.6653778+01:00", datetime(2022, 1, 25, 8, 21, 27, 665377, tzinfo=UTC)),
        ("2022-01-25T09:21:27Z", datetime(2022, 1, 25, 9, 21, 27, tzinfo=UTC)),
        ("2022-01-25 09:21:27.1-0500", datetime(2022, 1, 25, 14, 21, 27, 100000, tzinfo=UTC)),
    ],
)
def test_dotnet_timestamps_to_utc(text: str, expected: datetime) -> None:
    """0-7 fractional digits, with or without an offset; no offset means the server's zone."""
    assert EST.to_utc(text) == expected


def test_server_zone_option_forms() -> None:
    """The zone option takes a fixed offset, UTC or an IANA name (with daylight saving)."""
    assert parse_zone("+05:30") == timezone(timedelta(hours=5, minutes=30))
    assert parse_zone("UTC") is UTC
    chicago = ServerClock(parse_zone("America/Chicago"))
    assert chicago.to_utc("2026-07-01T10:00:00") == datetime(2026, 7, 1, 15, tzinfo=UTC)
    assert chicago.to_utc("2026-01-01T10:00:00") == datetime(2026, 1, 1, 16, tzinfo=UTC)
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        parse_zone("Mars/Olympus")


def test_format_is_server_local_with_offset() -> None:
    """Request datetimes go out as the vendor samples write them: local, 7 digits, offset."""
    moment = datetime(2019, 2, 1, 20, 8, 13, 143540, tzinfo=UTC)
    assert EST.format(moment) == "2019-02-01T15:08:13.1435400-05:00"
    assert EST.to_utc(EST.format(moment)) == moment


def test_bad_timestamp_is_refused() -> None:
    """A value that is no .NET timestamp raises instead of mapping to a wrong time."""
    with pytest.raises(ValueError, match="not an M4 timestamp"):
        EST.to_utc("20/11/2017")


def test_notes_by_ticket_accepts_the_single_object_sample() -> None:
    """GetTicketNotesByTicket's documented sample is one object; an array is what servers send."""
    assert records_or_one(SYSTEM_NOTE, "notes") == [SYSTEM_NOTE]
    assert records_or_one([SYSTEM_NOTE, ADDED_LOG], "notes") == [SYSTEM_NOTE, ADDED_LOG]
    with pytest.raises(PayloadError, match="expected a JSON object with an ID"):
        records_or_one([{"Message": "x"}], "notes")
