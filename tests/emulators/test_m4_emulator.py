"""The Mapcom M4 Workforce emulator against the vendor reference (connectors/m4)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest

from deskbridge.sdk.emulator import Knobs
from deskbridge_connectors.m4.emulator import M4Emulator
from deskbridge_connectors.m4.emulator.store import Note, Ticket, TimeEntry
from deskbridge_connectors.m4.emulator.wire import format_ts, parse_ts

BASE = "/m4api/api/Workforce"
NOTES = f"{BASE}/TicketNote"
SEED_SPEC = [
    {
        "HttpAction": "Post",
        "MethodName": "AddTicketNote",
        "Description": "Method allows for the adding of a ticket note. The newly created ticket note "
        "object is returned.",
        "Format": {
            "TicketID": 2734,
            "NoteType": "NOTE",
            "Note": "note text",
            "Subject": "",
            "UserName": "username",
            "ts": "2017-11-20T11:33:34.0299526-05:00",
            "IsClearedNote": False,
        },
    },
    {
        "HttpAction": "Get",
        "MethodName": "GetTicketNote",
        "Description": "Returns the record for a single ticket note given the passed in ID value "
        "(see Path).",
        "Path": "/TicketNote/GetTicketNote/25032",
    },
    {
        "HttpAction": "Post",
        "MethodName": "GetTicketNote",
        "Description": "Returns the record for a single ticket note given the passed in ticket ID, "
        "note, user name, and timestamp.",
        "Format": {
            "TicketID": 2803,
            "Note": "note text",
            "UserName": "username",
            "ts": "2017-11-20T11:33:34.0299526-05:00",
        },
    },
    {
        "HttpAction": "Get",
        "MethodName": "GetTicketNotesByTicket",
        "Description": "Returns ticket notes given the passed in ID value of the ticket (see Path).",
        "Path": "/TicketNote/GetTicketNotesByTicket/25032",
    },
    {
        "HttpAction": "Post",
        "MethodName": "UpdateTicketNote",
        "Description": "Method allows for the updating of a ticket note. The updated ticket note "
        "object is returned.",
        "Format": {
            "ID": 1637,
            "TicketID": 6372,
            "NoteType": "NOTE",
            "Note": "note text",
            "Subject": "",
            "UserName": "username",
            "ts": "2017-11-20T11:33:34.0309505-05:00",
            "IsClearedNote": False,
        },
    },
]
NOT_AUTHORIZED = {"Message": "Not Authorized"}
NOT_FOUND = {"Message": "Object Not Found"}
INVALID = {"Message": "The request is invalid."}


@pytest.fixture(scope="module")
def shared() -> M4Emulator:
    """One seeded emulator for the tests that only read."""
    return M4Emulator(seed=7, tickets=300)


@pytest.fixture
def emu() -> M4Emulator:
    return M4Emulator(seed=11, tickets=120)


async def _client(emu: M4Emulator) -> AsyncIterator[httpx.AsyncClient]:
    creds = emu.credentials()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emu.app),
        base_url="https://testserver",
        auth=(creds["username"], creds["password"]),
    ) as client:
        yield client


@pytest.fixture
async def api(shared: M4Emulator) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(shared):
        yield client


@pytest.fixture
async def rw(emu: M4Emulator) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(emu):
        yield client


def wall(ticks: int) -> str:
    """Independent rendering of a stored (millisecond) tick value without offset."""
    text = (datetime(1970, 1, 1) + timedelta(microseconds=ticks // 10)).isoformat(
        timespec="milliseconds"
    )
    return text.rstrip("0").rstrip(".")


def note_payload(n: Note) -> dict[str, object]:
    return {
        "ID": n.id,
        "TicketID": n.ticket_id,
        "NoteType": n.note_type,
        "Note": n.text,
        "Subject": n.subject,
        "UserName": n.user_name,
        "ts": wall(n.ts),
        "IsClearedNote": n.cleared,
    }


def ticket_payload(t: Ticket) -> dict[str, object]:
    return {
        "ID": t.id,
        "TicketNumber": t.number,
        "TicketState": t.state,
        "ModifiedBy": t.modified_by,
        "Priority": t.priority,
        "ServingArea": t.serving_area,
        "StructureLink": t.structure_link,
        "CustomerID": t.customer_id,
        "TimeOpened": wall(t.opened),
        "ReportedBy": t.reported_by,
        "CreatedBy": t.created_by,
        "ChangedBy": t.changed_by,
        "TicketCode": t.code,
        "AssignmentWorkflowStatus": None,
        "AssignmentReturnMessage": t.return_message,
        "WONumber": t.wo_number,
        "TicketType": t.ticket_type,
        "TicketCategory": t.category,
    }


def entry_payload(e: TimeEntry) -> dict[str, object]:
    return {
        "ID": e.id,
        "TimeCodeId": e.time_code_id,
        "TimeCode": e.time_code,
        "ApptId": e.appt_id,
        "TicketID": e.ticket_id,
        "TechID": e.tech_id,
        "Minutes": e.minutes,
        "Capital": e.capital,
        "Time": wall(e.time),
        "PayCodeId": e.pay_code_id,
        "CustomerServiceID": e.customer_service_id,
        "Comment": e.comment,
        "CustomerID": e.customer_id,
    }


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# -- auth, licensing, routing ---------------------------------------------------------------
async def test_specification_is_the_vendor_sample(api: httpx.AsyncClient) -> None:
    """TicketNote/Specification answers the seed's sample verbatim, as compact UTF-8 JSON."""
    r = await api.get(f"{NOTES}/Specification")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.json() == SEED_SPEC
    assert r.text == json.dumps(SEED_SPEC, separators=(",", ":"))


@pytest.mark.parametrize(
    "header",
    [
        None,
        "wrong-password",
        "wrong-user",
        "Bearer abc",
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
    ],
)
async def test_auth_failures(shared: M4Emulator, header: str | None) -> None:
    """Every bad credential answers 401 {"Message": "Not Authorized"} with a Basic challenge."""
    user, password = shared.credentials()["username"], shared.credentials()["password"]
    value = {
        "wrong-password": basic(user, password + "x"),
        "wrong-user": basic("someone", password),
    }.get(header or "", header)
    headers = {"Authorization": value} if value else {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=shared.app), base_url="https://testserver"
    ) as client:
        r = await client.get(f"{NOTES}/Specification", headers=headers)
    assert (r.status_code, r.json()) == (401, NOT_AUTHORIZED)
    assert r.headers["www-authenticate"] == "Basic"


async def test_auth_user_name_is_case_insensitive(shared: M4Emulator) -> None:
    """The account name compares case-insensitively, like a Windows login."""
    creds = shared.credentials()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=shared.app), base_url="https://testserver"
    ) as client:
        r = await client.get(
            f"{BASE}/Ticket/GetTicket/1",
            headers={"Authorization": basic(creds["username"].upper(), creds["password"])},
        )
    assert r.status_code == 200


async def test_credentials_are_deterministic() -> None:
    """credentials() gives username and password derived from the seed."""
    first, second = M4Emulator(seed=3, tickets=5), M4Emulator(seed=3, tickets=5)
    assert first.credentials() == second.credentials()
    assert set(first.credentials()) == {"username", "password"}
    assert M4Emulator(seed=4, tickets=5).credentials() != first.credentials()


async def test_unlicensed_controller() -> None:
    """A controller outside the instance's licenses answers 403 "Not Licensed"."""
    emu = M4Emulator(seed=2, tickets=10, licenses=["TicketNote", "Ticket"])
    async for client in _client(emu):
        r = await client.get(f"{BASE}/TimeEntry/GetTimeEntriesByTicket/1")
        assert (r.status_code, r.json()) == (403, {"Message": "Not Licensed"})
        assert (await client.get(f"{BASE}/Ticket/GetTicket/1")).status_code == 200


async def test_routes_are_case_insensitive(api: httpx.AsyncClient, shared: M4Emulator) -> None:
    """ASP.NET routes ignore case and a trailing slash."""
    r = await api.get("/M4API/api/workforce/ticket/getticket/1/")
    assert r.json() == ticket_payload(shared.data.tickets[1])


async def test_unknown_route_and_wrong_verb(api: httpx.AsyncClient) -> None:
    """Unknown routes are 404 and verbs other than the documented one are 405."""
    r = await api.get(f"{BASE}/Ticket/DeleteTicket/1")
    assert r.status_code == 404
    assert r.json() == {
        "Message": "No HTTP resource was found that matches the request URI "
        f"'https://testserver{BASE}/Ticket/DeleteTicket/1'."
    }
    r = await api.post(f"{NOTES}/DeleteTicketNote/1", json={})
    assert (r.status_code, r.json()) == (
        405,
        {"Message": "The requested resource does not support http method 'POST'."},
    )
    r = await api.put(f"{NOTES}/UpdateTicketNote", json={})
    assert r.json() == {"Message": "The requested resource does not support http method 'PUT'."}
    r = await api.get(f"{NOTES}/GetTicketNote/abc")
    assert (r.status_code, r.json()) == (400, INVALID)


# -- Ticket, TimeEntry, TicketClearCode ------------------------------------------------------
async def test_get_ticket_and_missing(api: httpx.AsyncClient, shared: M4Emulator) -> None:
    """GetTicket returns the documented Ticket shape, key order included; unknown IDs are 404."""
    r = await api.get(f"{BASE}/Ticket/GetTicket/61")
    assert list(r.json()) == list(ticket_payload(shared.data.tickets[61]))
    assert r.json() == ticket_payload(shared.data.tickets[61])
    assert "+" not in r.json()["TimeOpened"] and r.json()["TimeOpened"].count("-") == 2
    r = await api.get(f"{BASE}/Ticket/GetTicket/999999")
    assert (r.status_code, r.json()) == (404, NOT_FOUND)


async def test_get_tickets_and_by_customer(api: httpx.AsyncClient, shared: M4Emulator) -> None:
    """GetTickets returns every ticket unpaged; GetTicketsByCustomer only that customer's."""
    r = await api.get(f"{BASE}/Ticket/GetTickets")
    assert r.json() == [ticket_payload(t) for t in shared.data.tickets.values()]
    assert len(r.json()) == 300
    customer = shared.data.tickets[5].customer_id
    r = await api.get(f"{BASE}/Ticket/GetTicketsByCustomer/{customer}")
    expected = [t for t in shared.data.tickets.values() if t.customer_id == customer]
    assert r.json() == [ticket_payload(t) for t in expected]
    r = await api.get(f"{BASE}/Ticket/GetTicketsByCustomer/1")
    assert (r.status_code, r.json()) == (404, NOT_FOUND)


async def test_time_entries_by_ticket(api: httpx.AsyncClient, shared: M4Emulator) -> None:
    """GetTimeEntriesByTicket returns the ticket's entries with the vendor's mixed casing."""
    ticket_id = next(e.ticket_id for e in shared.data.entries.values())
    r = await api.get(f"{BASE}/TimeEntry/GetTimeEntriesByTicket/{ticket_id}")
    expected = [e for e in shared.data.entries.values() if e.ticket_id == ticket_id]
    assert r.json() == [entry_payload(e) for e in expected]
    no_time = next(t for t in shared.data.tickets if not shared.data.entries_by_ticket[t])
    assert (await api.get(f"{BASE}/TimeEntry/GetTimeEntriesByTicket/{no_time}")).json() == []
    r = await api.get(f"{BASE}/TimeEntry/GetTimeEntriesByTicket/999999")
    assert (r.status_code, r.json()) == (404, NOT_FOUND)


async def test_clear_codes(api: httpx.AsyncClient, shared: M4Emulator) -> None:
    """The TicketClearCode lookups: by ID, all, and by appointment."""
    r = await api.get(f"{BASE}/TicketClearCode/GetTicketClearCode/2")
    assert r.json() == {"ID": 2, "TicketClearCodeType": 1, "Description": "Defective ONT"}
    assert len((await api.get(f"{BASE}/TicketClearCode/GetTicketClearCodes")).json()) == 12
    appt, codes = next((a, c) for a, c in shared.data.appointments.items() if c)
    r = await api.get(f"{BASE}/TicketClearCode/GetTicketClearCodesByAppointment/{appt}")
    assert [c["ID"] for c in r.json()] == codes
    r = await api.get(f"{BASE}/TicketClearCode/GetTicketClearCode/99")
    assert (r.status_code, r.json()) == (404, NOT_FOUND)


# -- TicketNote reads ----------------------------------------------------------------------
async def test_notes_by_ticket_and_by_id(api: httpx.AsyncClient, shared: M4Emulator) -> None:
    """GetTicketNotesByTicket returns an array by ID; GetTicketNote/{ID} one note, no offset."""
    ids = shared.data.notes_by_ticket[61]
    r = await api.get(f"{NOTES}/GetTicketNotesByTicket/61")
    assert r.json() == [note_payload(shared.data.notes[i]) for i in ids]
    r = await api.get(f"{NOTES}/GetTicketNote/{ids[0]}")
    assert r.json() == note_payload(shared.data.notes[ids[0]])
    r = await api.get(f"{NOTES}/GetTicketNotesByTicket/999999")
    assert (r.status_code, r.json()) == (404, NOT_FOUND)


async def test_system_notes_look_like_the_vendor_sample(shared: M4Emulator) -> None:
    """Cancelled tickets carry the vendor's system note: mapcom, Subject null."""
    notes = shared.data.notes.values()
    cancelled = next(n for n in notes if n.text.startswith("Ticket has been cancelled."))
    assert (cancelled.user_name, cancelled.subject, cancelled.note_type) == ("mapcom", None, "NOTE")


async def test_note_search_window(api: httpx.AsyncClient, shared: M4Emulator) -> None:
    """GetTicketNotes filters on ts inclusively, converting offsets to server-local time."""
    notes = sorted(shared.data.notes.values(), key=lambda n: (n.ts, n.id))
    first, last = notes[40], notes[60]
    body = {
        "TicketID": None,
        "UserName": "",
        "NoteType": "",
        "StartDate": wall(first.ts),
        "EndDate": wall(last.ts),
    }
    r = await api.post(f"{NOTES}/GetTicketNotes", json=body)
    expected = [n for n in notes if first.ts <= n.ts <= last.ts]
    assert r.json() == [note_payload(n) for n in expected]
    utc = datetime.fromisoformat(wall(first.ts)) + timedelta(hours=5)
    r = await api.post(
        f"{NOTES}/GetTicketNotes",
        json={"StartDate": utc.isoformat() + "Z", "EndDate": wall(last.ts)},
    )
    assert r.json() == [note_payload(n) for n in expected]


async def test_note_search_filters(api: httpx.AsyncClient, shared: M4Emulator) -> None:
    """TicketID, UserName and NoteType narrow the search; an unknown TicketID is a rule error."""
    r = await api.post(f"{NOTES}/GetTicketNotes", json={"TicketID": 61, "NoteType": "log"})
    expected = [shared.data.notes[i] for i in shared.data.notes_by_ticket[61]]
    assert r.json() == [note_payload(n) for n in expected if n.note_type == "LOG"]
    r = await api.post(f"{NOTES}/GetTicketNotes", json={"UserName": "MAPCOM"})
    assert r.json() and {n["UserName"] for n in r.json()} == {"mapcom"}
    r = await api.post(f"{NOTES}/GetTicketNotes", json={"TicketID": 999999})
    assert (r.status_code, r.json()) == (
        400,
        {"Message": "TicketID: must be an existing Ticket if specified"},
    )
    r = await api.post(f"{NOTES}/GetTicketNotes", json={"StartDate": "yesterday"})
    assert (r.status_code, r.json()) == (400, INVALID)


# -- TicketNote writes ---------------------------------------------------------------------
async def test_add_note_echoes_ts_with_offset(rw: httpx.AsyncClient, emu: M4Emulator) -> None:
    """AddTicketNote returns the new note with ts as sent; reads give the stored ms value."""
    body = {
        "TicketID": 7,
        "NoteType": "LOG",
        "Note": "Arrived on site",
        "Subject": "",
        "UserName": "jdoe",
        "ts": "2026-11-20T11:33:34.0299526-05:00",
        "IsClearedNote": False,
    }
    r = await rw.post(f"{NOTES}/AddTicketNote", json=body)
    new_id = max(emu.data.notes)
    assert (r.status_code, r.json()) == (200, {"ID": new_id, **body})
    r = await rw.get(f"{NOTES}/GetTicketNote/{new_id}")
    assert r.json() == {"ID": new_id, **body, "ts": "2026-11-20T11:33:34.03"}
    assert emu.ground_truth()["notes"][str(new_id)] == {
        "ticket_id": "7",
        "kind": "note",
        "visibility": "private",
        "body": "Arrived on site",
    }


async def test_add_note_defaults(rw: httpx.AsyncClient, emu: M4Emulator) -> None:
    """Only TicketID and Note are needed: NOTE type, null Subject/UserName, ts now (server)."""
    r = await rw.post(f"{NOTES}/AddTicketNote", json={"TicketID": 3, "Note": "Call back at 4"})
    note = r.json()
    assert {k: note[k] for k in ("NoteType", "Subject", "UserName", "IsClearedNote")} == {
        "NoteType": "NOTE",
        "Subject": None,
        "UserName": None,
        "IsClearedNote": False,
    }
    assert note["ts"].endswith("-05:00")
    assert parse_ts(note["ts"]) > max(t.opened for t in emu.data.tickets.values())
    assert emu.ground_truth()["notes"][str(note["ID"])]["visibility"] == "public"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"Note": "x"}, 400, "TicketID: is required"),
        ({"TicketID": None, "Note": "x"}, 400, "TicketID: is required"),
        ({"TicketID": 999999, "Note": "x"}, 400, "TicketID: must be an existing Ticket"),
        ({"TicketID": 1}, 400, "Note: is required"),
        ({"TicketID": 1, "Note": ""}, 400, "Note: is required"),
        (
            {"TicketID": 1, "Note": "x", "NoteType": "MEMO"},
            400,
            'NoteType: must be either "NOTE" or "LOG"',
        ),
        ({"TicketID": "one", "Note": "x"}, 400, "The request is invalid."),
        ({"TicketID": 1, "Note": "x", "ts": "20/11/2017"}, 400, "The request is invalid."),
        ({"ticketid": 1, "Note": "x"}, 400, "TicketID: is required"),
    ],
)
async def test_add_note_rules(
    rw: httpx.AsyncClient, emu: M4Emulator, body: dict[str, object], status: int, message: str
) -> None:
    """AddTicketNote's business rules answer 400 with the rule text and store nothing."""
    before = len(emu.data.notes)
    r = await rw.post(f"{NOTES}/AddTicketNote", json=body)
    assert (r.status_code, r.json()) == (status, {"Message": message})
    assert len(emu.data.notes) == before


async def test_post_body_encoding(rw: httpx.AsyncClient) -> None:
    """POST bodies must be JSON: other media types are 415, an empty body is invalid."""
    r = await rw.post(
        f"{NOTES}/AddTicketNote",
        content=b"TicketID=1",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert (r.status_code, r.json()) == (
        415,
        {
            "Message": "The request entity's media type 'application/x-www-form-urlencoded' "
            "is not supported for this resource."
        },
    )
    r = await rw.post(
        f"{NOTES}/AddTicketNote", content=b"", headers={"content-type": "application/json"}
    )
    assert (r.status_code, r.json()) == (400, INVALID)


async def test_get_note_by_natural_key(rw: httpx.AsyncClient) -> None:
    """POST GetTicketNote finds a note by TicketID, Note and optionally UserName and ts."""
    body = {
        "TicketID": 9,
        "Note": "Replaced NID",
        "UserName": "tech1",
        "ts": "2026-11-02T08:00:00.1234567-05:00",
    }
    added = (await rw.post(f"{NOTES}/AddTicketNote", json=body)).json()
    stored = {**added, "ts": "2026-11-02T08:00:00.123"}
    for key in (
        body,
        {**body, "ts": "2026-11-02T13:00:00.123Z"},
        {"TicketID": 9, "Note": "Replaced NID"},
    ):
        assert (await rw.post(f"{NOTES}/GetTicketNote", json=key)).json() == stored
    r = await rw.post(f"{NOTES}/GetTicketNote", json={**body, "UserName": "tech2"})
    assert (r.status_code, r.json()) == (404, NOT_FOUND)
    r = await rw.post(f"{NOTES}/GetTicketNote", json={**body, "TicketID": 999999})
    assert (r.status_code, r.json()) == (400, {"Message": "TicketID: must be an existing Ticket"})


async def test_update_keeps_ts_unless_sent(rw: httpx.AsyncClient, emu: M4Emulator) -> None:
    """UpdateTicketNote keeps fields left out, so ts (and the search window) moves only if sent."""
    note = emu.data.notes[5]
    old_ts, window = note.ts, {"StartDate": wall(note.ts), "EndDate": wall(note.ts)}
    r = await rw.post(
        f"{NOTES}/UpdateTicketNote",
        json={"ID": 5, "TicketID": note.ticket_id, "Note": "Corrected reading"},
    )
    assert r.json() == {
        **note_payload(note),
        "Note": "Corrected reading",
        "ts": format_ts(old_ts, offset=True),
    }
    found = (await rw.post(f"{NOTES}/GetTicketNotes", json=window)).json()
    assert 5 in [n["ID"] for n in found]
    sent = "2026-11-21T09:15:00.5-05:00"
    r = await rw.post(
        f"{NOTES}/UpdateTicketNote", json={"ID": 5, "TicketID": note.ticket_id, "ts": sent}
    )
    assert (r.json()["ts"], r.json()["Note"]) == (sent, "Corrected reading")
    found = (await rw.post(f"{NOTES}/GetTicketNotes", json=window)).json()
    assert 5 not in [n["ID"] for n in found]
    later = {"StartDate": "2026-11-21T09:15:00.5", "EndDate": "2026-11-21T09:15:00.5"}
    assert [n["ID"] for n in (await rw.post(f"{NOTES}/GetTicketNotes", json=later)).json()] == [5]


async def test_update_rules_and_move(rw: httpx.AsyncClient, emu: M4Emulator) -> None:
    """Update needs ID and an existing TicketID; a new TicketID moves the note."""
    r = await rw.post(f"{NOTES}/UpdateTicketNote", json={"TicketID": 1, "Note": "x"})
    assert (r.status_code, r.json()) == (400, {"Message": "ID: is required"})
    r = await rw.post(f"{NOTES}/UpdateTicketNote", json={"ID": 999999, "TicketID": 1})
    assert (r.status_code, r.json()) == (404, NOT_FOUND)
    r = await rw.post(f"{NOTES}/UpdateTicketNote", json={"ID": 5, "TicketID": 999999})
    assert (r.status_code, r.json()) == (400, {"Message": "TicketID: must be an existing Ticket"})
    await rw.post(f"{NOTES}/UpdateTicketNote", json={"ID": 5, "TicketID": 2, "NoteType": "LOG"})
    assert emu.ground_truth()["notes"]["5"]["ticket_id"] == "2"
    assert 5 in [n["ID"] for n in (await rw.get(f"{NOTES}/GetTicketNotesByTicket/2")).json()]


async def test_delete_note_via_get(rw: httpx.AsyncClient, emu: M4Emulator) -> None:
    """DeleteTicketNote is a GET; the note then disappears and reads of it are 404."""
    r = await rw.get(f"{NOTES}/DeleteTicketNote/4")
    assert (r.status_code, r.json()) == (
        200,
        {"Message": "The ticket note with ID [4] was deleted successfully."},
    )
    assert "4" not in emu.ground_truth()["notes"]
    assert (await rw.get(f"{NOTES}/GetTicketNote/4")).status_code == 404
    r = await rw.get(f"{NOTES}/DeleteTicketNote/4")
    assert (r.status_code, r.json()) == (404, NOT_FOUND)
    everything = (await rw.post(f"{NOTES}/GetTicketNotes", json={})).json()
    assert 4 not in [n["ID"] for n in everything] and len(everything) == len(emu.data.notes)


# -- timestamps, truth, mutations, knobs ---------------------------------------------------
@pytest.mark.parametrize(
    ("text", "wall_clock"),
    [
        ("2019-02-04T10:28:44.207", "2019-02-04T10:28:44.207"),
        ("2017-11-20T11:33:34.0299526-05:00", "2017-11-20T11:33:34.0299526"),
        ("2017-11-20T16:33:34.0299526Z", "2017-11-20T11:33:34.0299526"),
        ("2017-11-20T17:33:34+01:00", "2017-11-20T11:33:34"),
        ("2013-10-30T09:54:35.85", "2013-10-30T09:54:35.85"),
        ("2013-10-30", "2013-10-30T00:00:00"),
    ],
)
def test_timestamp_forms(text: str, wall_clock: str) -> None:
    """Accepted ISO-8601 forms convert to server-local time, written back trimmed."""
    assert format_ts(parse_ts(text)) == wall_clock


async def test_ground_truth_conventions(shared: M4Emulator) -> None:
    """Truth uses bare integer labels, minutes*60 seconds and people derived from tickets."""
    truth = shared.ground_truth()
    t = shared.data.tickets[61]
    assert truth["tickets"]["61"] == {
        "subject": None,
        "status": str(t.state),
        "priority": str(t.priority),
    }
    e = next(iter(shared.data.entries.values()))
    assert truth["time_entries"][str(e.id)] == {
        "ticket_id": str(e.ticket_id),
        "seconds_worked": e.minutes * 60,
        "seconds_billable": None,
    }
    assert truth["people"][f"customer:{t.customer_id}"] == {
        "kind": "requester",
        "name": None,
        "email": None,
    }
    assert truth["people"][f"user:{t.created_by}"] == {
        "kind": "staff",
        "name": t.created_by,
        "email": None,
    }
    assert len(truth["tickets"]) == 300 and len(truth["notes"]) == len(shared.data.notes)


async def test_same_seed_same_truth() -> None:
    """The same seed gives identical truth and identical mutations; another seed does not."""
    a, b, c = (M4Emulator(seed=s, tickets=60) for s in (5, 5, 6))
    assert a.ground_truth() == b.ground_truth() != c.ground_truth()
    assert a.mutate(25) == b.mutate(25)
    assert a.ground_truth() == b.ground_truth()


async def test_mutations_change_truth(rw: httpx.AsyncClient, emu: M4Emulator) -> None:
    """mutate() changes truth; new notes are newer than seed data; tickets gain no time field."""
    before = emu.ground_truth()
    seed_max = max(n.ts for n in emu.data.notes.values())
    old_ts = {i: n.ts for i, n in emu.data.notes.items()}
    lines = emu.mutate(40)
    assert len(lines) == 40 and all(isinstance(line, str) for line in lines)
    after = emu.ground_truth()
    assert after != before
    new = [n for i, n in emu.data.notes.items() if i not in old_ts]
    assert new and all(n.ts > seed_max for n in new)
    assert all(n.ts == old_ts[i] for i, n in emu.data.notes.items() if i in old_ts)
    tickets = (await rw.get(f"{BASE}/Ticket/GetTickets")).json()
    assert [t["ID"] for t in tickets] == sorted(int(i) for i in after["tickets"])
    assert all(list(t) == list(tickets[0]) for t in tickets)


async def test_knobs_inject_and_fail_every_n(rw: httpx.AsyncClient, emu: M4Emulator) -> None:
    """Base-class faults and counters work with the M4 app."""
    emu.inject("500")
    assert (await rw.get(f"{BASE}/Ticket/GetTicket/1")).status_code == 500
    assert (await rw.get(f"{BASE}/Ticket/GetTicket/1")).status_code == 200
    assert emu.requests[f"{BASE}/Ticket/GetTicket/1"] == 2
    flaky = M4Emulator(seed=1, tickets=5, knobs=Knobs(fail_every_n=2))
    async for client in _client(flaky):
        codes = [(await client.get(f"{BASE}/Ticket/GetTicket/1")).status_code for _ in range(4)]
    assert codes == [200, 500, 200, 500]
