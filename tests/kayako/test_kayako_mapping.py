"""Kayako mapping: recorded XML payloads -> canonical rows (pure functions, no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from deskbridge_connectors.kayako import mapping as m
from deskbridge_connectors.kayako.client import parse_xml, ticket_record

TICKET_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<tickets>
<ticket id="2" flagtype="0">
<displayid><![CDATA[ABC-123-4567]]></displayid>
<departmentid><![CDATA[3]]></departmentid>
<statusid><![CDATA[1]]></statusid>
<priorityid><![CDATA[3]]></priorityid>
<typeid><![CDATA[1]]></typeid>
<userid><![CDATA[7]]></userid>
<ownerstaffid><![CDATA[4]]></ownerstaffid>
<ownerstaffname><![CDATA[Jane Roe]]></ownerstaffname>
<fullname><![CDATA[John Doe]]></fullname>
<subject><![CDATA[Printer down]]></subject>
<creationtime><![CDATA[1297840147]]></creationtime>
<lastactivity><![CDATA[1297840999]]></lastactivity>
<resolutiondue>0</resolutiondue>
<tags />
<note type="ticket" id="11" ticketid="2" notecolor="1" creatorstaffid="4" forstaffid="0" creatorstaffname="Jane Roe" creationdate="1297840500"><![CDATA[Called the customer]]></note>
<note type="user" id="3" userid="7" notecolor="1" creatorstaffid="4" forstaffid="0" creatorstaffname="Jane Roe" creationdate="1297840500"><![CDATA[VIP]]></note>
<note type="timetrack" id="5" ticketid="2" timeworked="600" timebillable="1200" billdate="1306393740" workdate="1306393740" workerstaffid="4" workerstaffname="Jane Roe" creatorstaffid="4" creatorstaffname="Jane Roe" notecolor="1"><![CDATA[Replaced toner]]></note>
<posts>
<post>
<id><![CDATA[9]]></id>
<ticketpostid><![CDATA[9]]></ticketpostid>
<ticketid><![CDATA[2]]></ticketid>
<dateline><![CDATA[1297840147]]></dateline>
<userid><![CDATA[7]]></userid>
<fullname><![CDATA[John Doe]]></fullname>
<ishtml>0</ishtml>
<staffid>0</staffid>
<contents><![CDATA[It jams <again> & again]]></contents>
<isprivate>0</isprivate>
</post>
</posts>
</ticket>
</tickets>
"""

LOOKUPS = m.Lookups(
    departments={"3": "Support"},
    statuses={"1": "Open", "3": "Closed"},
    resolved_statuses=frozenset({"3"}),
    priorities={"3": "High"},
    types={"1": "Issue"},
)


def parsed() -> dict:
    response = httpx.Response(
        200,
        content=TICKET_XML,
        headers={"content-type": "text/xml"},
        request=httpx.Request("GET", "http://k/api/index.php"),
    )
    return ticket_record(parse_xml(response)[0])


def test_ticket_row() -> None:
    """A ticket maps to canonical fields, with titles and canonical status from the mapping file."""
    row = m.ticket_row(parsed(), LOOKUPS)
    raw = row.pop("raw")
    assert row == {
        "source_id": "2",
        "number": "ABC-123-4567",
        "subject": "Printer down",
        "status": "Open",
        "status_category": "open",
        "priority": "High",
        "priority_level": "high",
        "type": "Issue",
        "department": "Support",
        "requester_id": "user:7",
        "assignee_id": "staff:4",
        "created_at": datetime(2011, 2, 16, 7, 9, 7, tzinfo=UTC),
        "updated_at": datetime(2011, 2, 16, 7, 23, 19, tzinfo=UTC),
        "resolved_at": None,
        "due_at": None,
        "tags": None,
    }
    assert "posts" not in raw and raw["subject"] == "Printer down"


def test_children_rows() -> None:
    """Staff notes and time tracks come from the ticket element; user notes are not ticket notes."""
    notes, tracks = m.ticket_children(parsed())
    assert [
        (n["source_id"], n["kind"], n["visibility"], n["body"], n["author_id"]) for n in notes
    ] == [("note:11", "note", "private", "Called the customer", "staff:4")]
    track = tracks[0]
    track.pop("raw")
    assert track == {
        "source_id": "5",
        "ticket_id": "2",
        "worker_id": "staff:4",
        "worker_name": "Jane Roe",
        "seconds_worked": 600,
        "seconds_billable": 1200,
        "work_time": datetime(2011, 5, 26, 7, 9, tzinfo=UTC),
        "bill_time": datetime(2011, 5, 26, 7, 9, tzinfo=UTC),
        "note": "Replaced toner",
        "created_by_id": "staff:4",
    }


def test_post_row() -> None:
    """A customer's post is a public reply by the requester, text unescaped."""
    row = m.post_row(parsed()["posts"][0])
    row.pop("raw")
    assert row == {
        "source_id": "post:9",
        "ticket_id": "2",
        "kind": "reply",
        "visibility": "public",
        "author_id": "user:7",
        "author_name": "John Doe",
        "author_kind": "requester",
        "body": "It jams <again> & again",
        "is_html": False,
        "created_at": datetime(2011, 2, 16, 7, 9, 7, tzinfo=UTC),
    }


def test_unknown_status_title_falls_back_to_resolved_flag() -> None:
    """A status title missing from the mapping file takes its category from markasresolved."""
    lookups = m.Lookups(statuses={"9": "Done and dusted"}, resolved_statuses=frozenset({"9"}))
    row = m.ticket_row(parsed() | {"statusid": "9"}, lookups)
    assert (row["status"], row["status_category"]) == ("Done and dusted", "resolved")
