"""``deskbridge mappings check`` logic over the Track-It! field catalog."""

from __future__ import annotations

from deskbridge.push.mapcheck import check_mapping, check_vendor
from deskbridge_connectors.trackit.connector import TrackitConnector


def test_shipped_trackit_mapping_is_clean() -> None:
    """The shipped mapping has no errors and no gaps ('new' is written as Open via [status_write])."""
    assert check_vendor("trackit") == []


def test_catalog_lists_every_documented_ticket_field() -> None:
    """The catalog holds BMC's 120 ticket fields with their default names and updatable flags."""
    catalog = TrackitConnector.field_catalog()
    assert len(catalog.fields) == 120
    assert (catalog.fields[22].name, catalog.fields[22].updatable) == ("Ticket Summary", True)
    assert (catalog.fields[1].name, catalog.fields[1].updatable) == ("Ticket ID", False)
    assert catalog.vocabularies["status"][:2] == ("Open", "Closed")


def test_unknown_read_only_and_unmapped_entries_are_reported() -> None:
    """Unknown sequences, read-only fields mapped for writing and value-map gaps each give a problem."""
    data = {
        "fields": {"subject": 22, "resolved_at": 18, "assignee_id": 999, "favourite": 7},
        "read_fields": {"created_at": 12, "legacy": 4242},
        "status": {
            "Open": "open",
            "Closed": "closed",
            "On Hold": "pending",
            "Resolved": "resolved",
            "New": "new",
        },
        "priority": {
            "1 - Critical": "urgent",
            "2 - High": "high",
            "3 - Medium": "normal",
            "4 - Low": "low",
        },
    }
    problems = [
        (p.where, p.severity, p.message)
        for p in check_mapping("trackit", data, TrackitConnector.field_catalog())
    ]
    assert problems == [
        (
            "[fields] resolved_at",
            "error",
            "field 18 (Close Date & Time) is read-only; move it to [read_fields]",
        ),
        ("[fields] assignee_id", "error", "unknown field id 999"),
        ("[fields] favourite", "error", "'favourite' is not a canonical ticket field"),
        ("[read_fields] legacy", "error", "unknown field id 4242"),
        ("[status]", "error", "vendor value 'Completed' has no canonical status"),
        ("[status]", "error", "vendor value 'Escalated' has no canonical status"),
        ("[status]", "error", "vendor value 'Cancelled' has no canonical status"),
        ("[status]", "error", "vendor value 'Paused' has no canonical status"),
        ("[status]", "error", "vendor value 'Dismissed - No notes' has no canonical status"),
        ("[status] 'On Hold'", "warning", "not a value of a default installation"),
        ("[status] 'Resolved'", "warning", "not a value of a default installation"),
        ("[status] 'New'", "warning", "not a value of a default installation"),
        ("[priority]", "error", "vendor value '5 - Planning' has no canonical priority"),
    ]


def test_without_a_catalog_only_values_are_checked() -> None:
    """A connector without a field catalog gets its value maps checked against the canonical values only."""
    problems = check_mapping(
        "other", {"fields": {"subject": 1}, "priority": {"P1": "urgent"}}, None
    )
    assert [p.message for p in problems] == [
        "canonical priority 'low' has no vendor value; writing it fails",
        "canonical priority 'normal' has no vendor value; writing it fails",
        "canonical priority 'high' has no vendor value; writing it fails",
    ]
