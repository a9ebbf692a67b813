"""Kayako mapping: recorded XML payloads -> canonical rows (pure functions, no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from deskbridge.sdk import PayloadError
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


def _xml_answer(body: bytes) -> httpx.Response:
    return httpx.Response(
        200,
        content=body,
        headers={"content-type": "text/xml"},
        request=httpx.Request("GET", "http://k/api/index.php?e=/Tickets/Ticket/1"),
    )


BILLION_LAUGHS = (
    b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">
"""
    + b"".join(
        b'<!ENTITY lol%d "%s">\n' % (n, (b"&lol%s;" % (b"" if n == 2 else b"%d" % (n - 1))) * 10)
        for n in range(2, 10)
    )
    + b']>\n<tickets><ticket id="1"><subject>&lol9;</subject></ticket></tickets>'
)

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE t [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<tickets><ticket id="1"><subject>&xxe;</subject></ticket></tickets>"""

HARMLESS_DOCTYPE = b"""<?xml version="1.0"?>
<!DOCTYPE t [<!ENTITY name "Jane">]><tickets><ticket id="1"><subject>&name;</subject></ticket></tickets>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, HARMLESS_DOCTYPE])
def test_xml_with_a_doctype_is_refused_without_expanding_it(body: bytes) -> None:
    """Entity bombs and external entities never expand: any DOCTYPE is one malformed-XML error."""
    with pytest.raises(PayloadError) as info:
        parse_xml(_xml_answer(body))
    assert "malformed XML" in str(info.value)
    assert "/etc/passwd" not in str(info.value).split("body starts")[0]
    assert "root:" not in str(info.value)


def test_xml_comments_and_cdata_parse_as_plain_text() -> None:
    """Comments and processing instructions are dropped; CDATA (even holding markup) is text."""
    body = (
        b'<?xml version="1.0"?><tickets><!-- c --><ticket id="1"><?pi x?>'
        b"<subject><![CDATA[<!DOCTYPE html> caf\xc3\xa9 &amp;]]> &amp; more</subject>"
        b"</ticket></tickets>"
    )
    root = parse_xml(_xml_answer(body))
    assert [ticket_record(t) for t in root] == [
        {"id": "1", "subject": "<!DOCTYPE html> café &amp; & more"}
    ]


def test_truncated_xml_is_one_payload_error() -> None:
    with pytest.raises(PayloadError) as info:
        parse_xml(_xml_answer(b'<tickets><ticket id="1"><subject>x</sub'))
    assert str(info.value).startswith("kayako")
    assert "malformed XML" in str(info.value)
