"""Track-It! mapping: pure functions on recorded WebApi payloads, and the writer's payload rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from deskbridge.sdk.errors import PayloadError, UnmappedValueError, VendorRejected
from deskbridge_connectors.trackit import mapping as m
from deskbridge_connectors.trackit.client import display_names, seq_values
from deskbridge_connectors.trackit.writer import _ticket_fields

RECORDED = json.loads((Path(__file__).parent / "payloads" / "recorded_ticket_13.json").read_text())
TICKET = seq_values(RECORDED["ticket"]["Ticket"], "ticket")
NOTES = [seq_values(n, "note") for n in RECORDED["notes"]["TicketNotes"]]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_wire_records_are_keyed_by_sequence_and_names_are_trimmed() -> None:
    """The wire's {"<seq>": {DisplayName, Value}} becomes {seq: value}; display names come apart, trimmed."""
    wire = {
        "1": {"DisplayName": " Ticket ID", "Value": 101},
        "96": {"DisplayName": "Status", "Value": "Open"},
    }
    assert seq_values(wire, "ticket") == {1: 101, 96: "Open"}
    assert display_names(wire) == {1: " Ticket ID", 96: "Status"}
    with pytest.raises(PayloadError, match="not keyed by field sequence"):
        seq_values({"Ticket ID": {"Value": 1}}, "ticket")


def test_recorded_closed_ticket_maps_to_a_whole_canonical_row() -> None:
    """A recorded closed ticket: every canonical field read by its mapped sequence."""
    row = m.ticket_row(TICKET)
    raw = row.pop("raw")
    assert row == {
        "source_id": "13",
        "number": "13",
        "subject": "Antivirus quarantined a file",
        "status": "Closed",
        "status_category": "closed",
        "priority": "4 - Low",
        "priority_level": "low",
        "type": None,
        "department": "Antivirus",
        "requester_id": "requestor:21",
        "assignee_id": "technician:8",
        "created_at": at("2026-02-28T09:37:02.875Z"),
        "updated_at": at("2026-03-01T15:27:26.554Z"),
        "resolved_at": at("2026-03-01T15:27:26.554Z"),
        "due_at": at("2026-03-03T09:37:02.875Z"),
        "tags": None,
        "fields": [
            {
                "key": "85",
                "field_id": "85",
                "label": "Custom Text 1",
                "type": "text",
                "value": "AT-88528",
            }
        ],
    }
    assert raw == {str(seq): value for seq, value in TICKET.items()}


def test_updated_at_is_the_later_of_last_modified_and_latest_note_date() -> None:
    """A note written after the last edit moves updated_at (and so the ticket's content hash)."""
    later = TICKET | {175: "2026-04-02T10:00:00.0000000Z"}
    assert m.ticket_row(later)["updated_at"] == at("2026-04-02T10:00:00Z")
    assert m.ticket_row(TICKET | {175: None})["updated_at"] == at("2026-03-01T15:27:26.554Z")


def test_unmapped_status_falls_back_on_the_close_date() -> None:
    """A status name missing from the mapping is closed when the ticket has a close date, else open."""
    assert m.ticket_row(TICKET | {96: "Archived"})["status_category"] == "closed"
    reopened = {k: v for k, v in TICKET.items() if k != 18} | {96: "Waiting on vendor"}
    assert m.ticket_row(reopened)["status_category"] == "open"
    assert m.ticket_row(TICKET | {107: "0 - Someday"})["priority_level"] is None


def test_recorded_notes_map_to_kinds_authors_and_visibility() -> None:
    """Mails to or from the requestor are replies; the rest notes; a requestor's mail is authored by them."""
    rows = [
        {
            k: r[k]
            for k in ("source_id", "kind", "visibility", "author_id", "author_kind", "author_name")
        }
        for r in map(m.note_row, NOTES)
    ]
    tech = {
        "visibility": "public",
        "author_id": "technician:8",
        "author_kind": "staff",
        "author_name": "David Walker",
    }
    assert rows == [
        {"source_id": "46", "kind": "note", **tech},
        {"source_id": "47", "kind": "reply", **tech},
        {"source_id": "48", "kind": "note", **tech},
        {"source_id": "49", "kind": "note", **tech},
        {
            "source_id": "50",
            "kind": "reply",
            "visibility": "public",
            "author_id": "requestor:21",
            "author_kind": "requester",
            "author_name": "Autumn Brown",
        },
        {"source_id": "51", "kind": "note", **tech},
    ]
    note = m.note_row(NOTES[4])
    assert (note["ticket_id"], note["body"], note["is_html"], note["created_at"]) == (
        "13",
        "I am out of office until Monday, please call my mobile.",
        False,
        at(RECORDED["notes"]["TicketNotes"][4]["7"]["Value"]),
    )
    assert m.note_row(NOTES[0] | {27: True})["visibility"] == "private"


def test_note_durations_become_time_entries_billable_when_tracked() -> None:
    """Only notes with a Duration are time entries; Track Time decides whether the time is billable."""
    entries = [m.time_entry_row(n) for n in NOTES]
    assert entries[:5] == [None] * 5
    entry = entries[5]
    assert entry is not None and entry.pop("raw")
    assert entry == {
        "source_id": "51",
        "ticket_id": "13",
        "worker_id": "technician:8",
        "worker_name": "David Walker",
        "seconds_worked": 300,
        "seconds_billable": 300,
        "work_time": at(RECORDED["notes"]["TicketNotes"][5]["7"]["Value"]),
        "bill_time": None,
        "note": "Configuration corrected; closing.",
        "created_by_id": "technician:8",
    }
    untracked = m.time_entry_row(NOTES[5] | {31: False})
    assert untracked is not None and untracked["seconds_billable"] == 0


def test_recorded_attachments_map_to_metadata_rows() -> None:
    """Attachment listings give id, file name and size; nothing ties a file to a note."""
    rows = [
        m.attachment_row(seq_values(a, "attachment"), "13")
        for a in RECORDED["attachments"]["TicketAttachments"]
    ]
    assert [{k: v for k, v in r.items() if k != "raw"} for r in rows] == [
        {
            "source_id": "4",
            "ticket_id": "13",
            "note_id": None,
            "filename": "config.xml",
            "size_bytes": 2140239,
            "content_type": None,
            "created_at": None,
        },
        {
            "source_id": "5",
            "ticket_id": "13",
            "note_id": None,
            "filename": "photo.jpg",
            "size_bytes": 701514,
            "content_type": None,
            "created_at": None,
        },
    ]


def test_people_come_from_ticket_roles_and_note_authors() -> None:
    """Assignee, opener, closer and responder are technicians; the requestor carries the ticket's e-mail."""
    people = {p["source_id"]: (p["kind"], p["name"], p["email"]) for p in m.ticket_people(TICKET)}
    assert people == {
        "technician:8": ("staff", "David Walker", None),
        "requestor:21": ("requester", "Autumn Brown", "abrown@miller-garcia.com"),
    }
    by_note = [(p["source_id"], p["email"]) for n in NOTES for p in m.note_people(n)]
    assert set(by_note) == {("technician:8", None), ("requestor:21", "abrown@miller-garcia.com")}


def test_assignments_keep_their_fields_by_sequence() -> None:
    """Assignments go into the ticket's raw payload, values keyed by sequence."""
    first = seq_values(RECORDED["assignments"]["Assignments"][0], "assignment")
    assert m.raw(first) == {
        "1": 1,
        "2": "2026-02-13T15:39:37.0220000Z",
        "3": "CDAVIS",
        "4": 2,
        "6": 9,
        "8": "Create AD account",
        "10": 6,
        "12": "2026-02-08T22:32:56.0910000Z",
        "18": "2026-02-13T15:39:37.0220000Z",
        "67": "CDAVIS",
        "96": "Closed",
    }


def test_canonical_ticket_fields_become_wire_values() -> None:
    """Writes: statuses and priorities by name or canonical value, people by sequence, dates as UTC ISO."""
    payload: dict[str, Any] = {
        "subject": "VPN drops",
        "status_category": "pending",
        "priority": "2 - High",
        "department": "VPN",
        "assignee_id": "technician:3",
        "requester_id": "requestor:17",
        "due_at": datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
    }
    assert _ticket_fields(payload, set()) == {
        "subject": "VPN drops",
        "status": "Paused",
        "priority": "2 - High",
        "department": "VPN",
        "assignee_id": 3,
        "requester_id": 17,
        "due_at": "2026-12-01T09:30:00.000Z",
    }
    assert _ticket_fields({"assignee_id": None}, set()) == {"assignee_id": None}


@pytest.mark.parametrize(
    ("payload", "error", "message"),
    [
        ({"status": "Reopened"}, UnmappedValueError, "known values: Cancelled, Closed, Completed"),
        (
            {"status_category": "archived"},
            UnmappedValueError,
            "known values: closed, new, open, pending, resolved",
        ),
        ({"priority": "P1"}, UnmappedValueError, "known values: 1 - Critical, 2 - High"),
        ({"tags": "vip"}, UnmappedValueError, "no mapping for trackit payload key 'tags'"),
        ({"assignee_id": "requestor:4"}, VendorRejected, "technician:<seq>"),
        ({"status": "Open", "status_category": "open"}, VendorRejected, "not both"),
    ],
)
def test_unmapped_or_malformed_values_fail_with_the_known_ones(
    payload: dict[str, Any], error: type[Exception], message: str
) -> None:
    """A value without a mapping fails before any request, listing the values that do map."""
    with pytest.raises(error, match=message):
        _ticket_fields(payload, set())
