"""The Track-It! WebApi emulator against the vendor reference."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from deskbridge.sdk.emulator import Knobs
from deskbridge_connectors.trackit.emulator import TrackitEmulator as Emu
from deskbridge_connectors.trackit.emulator.fields import DEFAULT_TICKET_NAMES, NOTE_FIELDS, iso

Client = httpx.AsyncClient
BASE = "http://testserver/TrackIt/WebApi"
DENIED = {"Message": "Authorization has been denied for this request."}
NOT_FOUND = {"Message": "Ticket not found."}
BAD_LOGIN = {
    "error": "invalid_grant",
    "error_description": "The user name or password is incorrect.",
}
NOTE = {"Note Type": "Ticket Description", "Activity Code": "Install", "Note": "Escalating."}
OPTIONAL = {"Param1": {}, "Param2": {}}


def client(emu: Emu) -> Client:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=emu.app), base_url=BASE)


async def token(c: Client, emu: Emu) -> dict[str, Any]:
    creds = emu.credentials()
    form = {"grant_type": "password", "scope": "", **creds}
    resp = await c.post("/token", data=form)
    assert resp.status_code == 200
    return resp.json()


@pytest.fixture
def emu() -> Emu:
    return Emu(seed=7)


@pytest.fixture
async def api(emu: Emu) -> AsyncIterator[Client]:
    async with client(emu) as c:
        c.headers["Authorization"] = f"Bearer {(await token(c, emu))['access_token']}"
        yield c


def seq_map(values: dict[int, Any], names: dict[int, str] = DEFAULT_TICKET_NAMES) -> dict[str, Any]:
    return {
        str(k): {"DisplayName": names[k], "Value": v}
        for k, v in sorted(values.items())
        if v is not None
    }


def open_ticket(emu: Emu) -> int:
    return next(t.id for t in emu.store.tickets.values() if t.status == 1)


async def test_password_grant_returns_owin_token_payload(emu: Emu) -> None:
    """The password grant answers the OWIN token payload with a 1799 s lifetime."""
    tech = emu.store.techs[1]
    async with client(emu) as c:
        body = await token(c, emu)
    assert emu.credentials() == {"username": f"HELP DESK\\{tech.code}", "password": tech.password}
    issued, expires = body.pop(".issued"), body.pop(".expires")
    assert re.fullmatch(r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT", issued)
    assert expires.endswith("GMT") and expires != issued
    assert len(body.pop("access_token")) > 100 and len(body.pop("refresh_token")) == 32
    assert body == {
        "token_type": "bearer",
        "expires_in": 1799,
        "userName": f"HELP DESK\\{tech.code}",
        "First Name": tech.first,
        "Last Name": tech.last,
        "EMail Address": tech.email,
        "Phone": tech.phone,
        "Extension": tech.ext or "",
        "Alternate Phone": "",
        "Group Name": "HELP DESK",
    }


async def test_bad_credentials_and_case_are_rejected(emu: Emu) -> None:
    """Wrong passwords, lower-case usernames and groups the technician lacks get invalid_grant."""
    creds = emu.credentials()
    code = emu.store.techs[1].code
    tries = [
        (creds["username"], "nope"),
        (creds["username"].lower(), creds["password"]),
        (f"NETWORK\\{code}", creds["password"]),
        (code, creds["password"]),
    ]
    async with client(emu) as c:
        for username, password in tries:
            form = {"grant_type": "password", "username": username, "password": password}
            resp = await c.post("/token", data=form)
            assert (resp.status_code, resp.json()) == (400, BAD_LOGIN)
        resp = await c.post("/token", data={"grant_type": "client_credentials"})
        assert (resp.status_code, resp.json()) == (400, {"error": "unsupported_grant_type"})


async def test_token_by_get_with_form_body(emu: Emu) -> None:
    """GET /token with a form body also returns a token, as observed on real servers."""
    creds = emu.credentials()
    user = creds["username"].replace("\\", "%5C").replace(" ", "%20")
    form = f"grant_type=password&username={user}&password={creds['password']}"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    async with client(emu) as c:
        resp = await c.request("GET", "/token", content=form, headers=headers)
    assert resp.status_code == 200 and resp.json()["token_type"] == "bearer"


async def test_refresh_grant_rotates_tokens(emu: Emu) -> None:
    """A refresh token yields a working access token once; reusing it is invalid_grant."""
    async with client(emu) as c:
        first = await token(c, emu)
        form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
        fresh = (await c.post("/token", data=form)).json()
        auth = {"Authorization": f"Bearer {fresh['access_token']}"}
        assert (await c.get("/tickets/1", headers=auth)).status_code == 200
        again = await c.post("/token", data=form)
    assert (again.status_code, again.json()) == (400, {"error": "invalid_grant"})


async def test_missing_wrong_and_expired_tokens_get_401() -> None:
    """Every call without a live bearer token is denied with the ASP.NET body."""
    emu = Emu(token_ttl_s=0.05)
    async with client(emu) as c:
        live = (await token(c, emu))["access_token"]
        await asyncio.sleep(0.1)
        for headers in (
            {},
            {"Authorization": "Bearer nope"},
            {"Authorization": f"Basic {live}"},
            {"Authorization": f"Bearer {live}"},
        ):
            resp = await c.get("/tickets/1", headers=headers)
            assert (resp.status_code, resp.json()) == (401, DENIED)
            assert resp.headers["www-authenticate"] == "Bearer"


async def test_logout_ends_the_token(api: Client) -> None:
    """GET /technicians/logout ends the session its token belongs to."""
    resp = await api.get("/technicians/logout")
    assert (resp.status_code, resp.json()) == (200, {"success": True})
    assert (await api.get("/tickets/1")).status_code == 401


async def test_groups_lists_the_users_groups(emu: Emu) -> None:
    """POST /groups needs no token and lists the login's groups."""
    tech = emu.store.techs[1]
    async with client(emu) as c:
        resp = await c.post("/groups", json={"UserName": tech.code, "password": tech.password})
        bad = await c.post("/groups", json={"UserName": tech.code, "password": "x"})
    row = {"LastModified": "2026-01-02T08:00:00.0000000Z", "LastUser": "dbo", "InActive": False}
    assert resp.json() == {
        "Groups": [
            {"Sequence": 2, **row, "Code": "HELP DESK"},
            {"Sequence": 3, **row, "Code": "DESKTOP SUPPORT"},
        ]
    }
    message = {"Message": "The user name or password is incorrect."}
    assert (bad.status_code, bad.json()) == (400, message)


async def test_get_ticket_is_keyed_by_sequence_without_nulls(emu: Emu, api: Client) -> None:
    """GET /tickets/{id} answers {"Ticket": {seq: {DisplayName, Value}}} in order, no nulls."""
    t = emu.store.tickets[3]
    body = (await api.get("/tickets/3")).json()
    assert list(body) == ["Ticket"]
    fields = body["Ticket"]
    assert [int(k) for k in fields] == sorted(int(k) for k in fields)
    assert all(v["Value"] is not None for v in fields.values())
    assert all(v["DisplayName"] == DEFAULT_TICKET_NAMES[int(k)] for k, v in fields.items())
    assert fields["1"]["Value"] == 3 and fields["2"]["Value"] == iso(t.modified)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z", fields["12"]["Value"])
    assert fields["96"]["Value"] == emu.ground_truth()["tickets"]["3"]["status"]


async def test_paths_are_case_insensitive_but_double_slash_is_404(api: Client) -> None:
    """/trackit/WEBAPI/Tickets/3 is the same resource; a base URL with a trailing slash breaks."""
    canonical = (await api.get("/tickets/3")).json()
    assert (await api.get("http://testserver/trackit/WEBAPI/Tickets/3")).json() == canonical
    assert (await api.get("/TICKETS/3/")).json() == canonical
    url = "http://testserver/TrackIt/WebApi//tickets/3"
    resp = await api.get(url)
    message = f"No HTTP resource was found that matches the request URI '{url}'."
    assert (resp.status_code, resp.json()) == (404, {"Message": message})
    wrong = await api.put("/tickets/3")
    message = "The requested resource does not support http method 'PUT'."
    assert (wrong.status_code, wrong.json()) == (405, {"Message": message})


async def test_searches_is_not_emulated_and_answers_like_an_unknown_route(api: Client) -> None:
    """POST /searches exists in the WebApi but its answer is undocumented: ASP.NET's no-route 404."""
    search = {
        "Term": "printer",
        "ModuleId": 1,
        "Mode": 0,
        "PageSize": 25,
        "PageNumber": 0,
        "MaxContentLength": 500,
        "ResultFields": [1, 2],
        "OptionalParams": {},
    }
    resp = await api.post("/searches", json=search)
    url = "http://testserver/TrackIt/WebApi/searches"
    message = f"No HTTP resource was found that matches the request URI '{url}'."
    assert (resp.status_code, resp.json()) == (404, {"Message": message})


async def test_unknown_and_gap_ids_are_404(emu: Emu, api: Client) -> None:
    """Ids of tickets deleted long ago and ids past the end answer 404."""
    gap = next(i for i in range(1, emu.store.next_ticket) if i not in emu.store.tickets)
    paths = (
        f"/tickets/{gap}",
        f"/tickets/{emu.store.next_ticket}",
        f"/tickets/{gap}/Notes/0/0",
        f"/tickets/{gap}/AddNote",
        "/tickets/Note/999999",
    )
    for path in paths:
        resp = await (api.post(path, json=NOTE) if path.endswith("AddNote") else api.get(path))
        assert (resp.status_code, resp.json()) == (404, NOT_FOUND)


async def test_notes_paging_system_filter_and_content_length(emu: Emu, api: Client) -> None:
    """0/0 returns all notes, numbered pages are 1-based, SystemNote=false drops system notes."""
    t = next(
        t
        for t in emu.store.tickets.values()
        if any(n.system for n in t.notes) and len(t.notes) >= 3
    )
    url = f"/tickets/{t.id}/Notes"
    everything = (await api.get(f"{url}/0/0?maxContentLength=-1&SystemNote=true")).json()
    rows = [seq_map(emu.store.note_values(n), NOTE_FIELDS) for n in t.notes]
    assert everything == {"Count": len(t.notes), "TicketNotes": rows}
    page2 = (await api.get(f"{url}/2/2?SystemNote=true")).json()
    assert page2 == {"Count": len(t.notes), "TicketNotes": rows[2:4]}
    users = (await api.get(f"{url}/0/0")).json()
    assert users["Count"] == len([n for n in t.notes if not n.system])
    cut = (await api.get(f"{url}/1/1?maxcontentlength=4&systemnote=TRUE")).json()
    assert cut["TicketNotes"][0]["5"]["Value"] == t.notes[0].body[:4]
    bad = await api.get(f"{url}/0/0?SystemNote=maybe")
    assert (bad.status_code, bad.json()) == (400, {"Message": "The request is invalid."})


async def test_single_note_comes_as_array(emu: Emu, api: Client) -> None:
    """GET /tickets/Note/{id} wraps the one note in an array under "Note"."""
    body = (await api.get("/tickets/note/5")).json()
    assert body == {"Note": [seq_map(emu.store.note_values(emu.store.notes[5]), NOTE_FIELDS)]}


async def test_attachments_assignments_and_raw_file(emu: Emu, api: Client) -> None:
    """Attachment metadata, assignments and the raw file have the documented shapes."""
    tid, atts = next(iter(emu.store.attachments.items()))
    body = (await api.get(f"/tickets/{tid}/Attachments/0/0")).json()
    names = {1: "Sequence", 6: "File Size", 7: "File Name", 14: "URL Link"}
    expected = [seq_map({1: a.id, 6: a.size, 7: a.name, 14: a.url}, names) for a in atts]
    assert body == {"Count": len(atts), "TicketAttachments": expected}
    raw = await api.get(f"/attachment/{atts[0].id}")
    assert len(raw.content) == atts[0].size
    assert raw.headers["content-disposition"] == f'attachment; filename="{atts[0].name}"'
    bare = next(i for i in emu.store.tickets if i not in emu.store.attachments)
    empty = (await api.get(f"/tickets/{bare}/Attachments/0/0")).json()
    assert empty == {"Count": 0, "TicketAttachments": []}
    tid, items = next(iter(emu.store.assignments.items()))
    body = (await api.get(f"/tickets/{tid}/Assignments/0/0")).json()
    assert body["Count"] == len(items)
    assert body["Assignments"][0]["1"] == {"DisplayName": "Sequence", "Value": items[0].id}


async def test_templates_are_active_ones_of_the_group(api: Client) -> None:
    """GET /tickets/Templates lists active templates available to the token's group."""
    body = (await api.get("/tickets/Templates")).json()
    assert [row["3"]["Value"] for row in body["TicketTemplates"]] == ["New Hire", "Password Reset"]
    first = body["TicketTemplates"][0]
    assert list(first) == ["1", "3", "4", "6", "10"]
    assert "<fieldname>Status</fieldname>\r\n <value>Open</value>" in first["6"]["Value"]


async def test_module_fields_follow_renames() -> None:
    """/module/24/fields and /module/1/fields list the installation's display names."""
    emu = Emu(display_names={22: "Summary"})
    async with client(emu) as c:
        c.headers["Authorization"] = f"Bearer {(await token(c, emu))['access_token']}"
        tickets = (await c.get("/module/24/fields")).json()
        assert (await c.get("/module/1/fields")).json() == tickets
        assert tickets["22"] == {"DisplayName": "Summary"}
        assert tickets["1"] == {"DisplayName": "Ticket ID"}
        assert len(tickets) == len(DEFAULT_TICKET_NAMES)
        assert (await c.get("/module/9/fields")).status_code == 404


async def test_create_ticket_returns_the_whole_record(emu: Emu, api: Client) -> None:
    """POST /tickets opens a ticket at the next id, linking virtual fields by value."""
    tech, req, next_id = emu.store.techs[1], emu.store.requestors[1], emu.store.next_ticket
    props = {
        "Ticket Summary": "Printer down",
        "Requestor ID": req.code,
        "Category": "Printer",
        "Priority": "2 - High",
        "Custom Text 2": "desk 4",
    }
    resp = await api.post("/tickets", json={"Properties": props, "OptionalParams": OPTIONAL})
    t = emu.store.tickets[next_id]
    due = iso(t.opened + 8 * 3600)
    values = {
        1: next_id,
        2: iso(t.modified),
        3: tech.code,
        4: 2,
        8: req.id,
        11: 1,
        12: iso(t.opened),
        16: tech.id,
        19: req.phone,
        20: 1,
        22: "Printer down",
        34: "HELP DESK",
        36: req.code,
        37: req.first,
        38: req.last,
        39: req.phone,
        40: req.ext,
        43: req.title,
        66: tech.code,
        72: "Printer",
        86: "desk 4",
        95: 1,
        96: "Open",
        97: "Open ticket",
        100: due,
        102: False,
        106: 2,
        107: "2 - High",
        108: 0,
        109: False,
        110: iso(t.opened + 2 * 3600),
        111: due,
        114: req.email,
        124: "HELP DESK",
        128: tech.first,
        129: tech.last,
        136: False,
        142: 8,
        149: req.full,
        163: 0,
        164: "Hardware\\Printer",
        177: tech.full,
    }
    assert (resp.status_code, resp.json()) == (200, {"Ticket": seq_map(values)})
    assert t.modified > 1_790_000_000
    truth = {"subject": "Printer down", "status": "Open", "priority": "2 - High"}
    assert emu.ground_truth()["tickets"][str(next_id)] == truth


async def test_deleted_newest_id_is_not_reused(emu: Emu, api: Client) -> None:
    """After the newest ticket is deleted, the next create still takes a fresh id."""
    first = (await api.post("/tickets", json={"Properties": {"Ticket Summary": "a"}})).json()
    new_id = first["Ticket"]["1"]["Value"]
    await api.post(f"/tickets/{new_id}/Delete")
    second = (await api.post("/tickets", json={"Properties": {"Ticket Summary": "b"}})).json()
    assert second["Ticket"]["1"]["Value"] == new_id + 1


async def test_update_links_last_virtual_field(emu: Emu, api: Client) -> None:
    """POST /tickets/{id} writes by display name; the last virtual field of a module wins."""
    tid, techs = open_ticket(emu), emu.store.techs
    before = emu.store.tickets[tid].modified
    props = {
        "Assigned To Technician": techs[2].code,
        "Assigned To Full Name": techs[3].full,
        "Additional Information": "Called twice.",
        "Inactive": "False",
        "Custom Date 1": "2026-12-01T10:00:00Z",
    }
    fields = (await api.post(f"/tickets/{tid}", json={"Properties": props})).json()["Ticket"]
    assert fields["10"]["Value"] == 3 and fields["67"]["Value"] == techs[3].code
    assert fields["7"]["Value"] == "Called twice."
    assert fields["81"]["Value"] == "2026-12-01T10:00:00.0000000Z"
    assert fields["3"]["Value"] == techs[1].code and emu.store.tickets[tid].modified > before


async def test_update_with_optional_note_adds_it(emu: Emu, api: Client) -> None:
    """OptionalParams.Note on update adds a note as well as moving Last Modified."""
    tid = open_ticket(emu)
    body = {
        "Properties": {"Priority": "1 - Critical"},
        "OptionalParams": {"Note": {**NOTE, "Duration": "00:30"}},
    }
    fields = (await api.post(f"/tickets/{tid}", json=body)).json()["Ticket"]
    note = emu.store.tickets[tid].notes[-1]
    assert (note.body, note.duration) == ("Escalating.", 1800)
    assert fields["107"]["Value"] == "1 - Critical"
    assert fields["175"]["Value"] == iso(note.date) > fields["2"]["Value"]


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"Summary": "x"}, "Invalid field: Summary"),
        ({"Ticket ID": 5}, "Field 'Ticket ID' cannot be updated."),
        ({"Category": "Toasters"}, "Invalid value 'Toasters' for field 'Category'."),
        ({"Seq_Requestor": 999999}, "Invalid value '999999' for field 'Seq_Requestor'."),
        ({"Status": None}, "Field 'Status' is required."),
        ({"Custom Integer 1": "many"}, "Invalid value 'many' for field 'Custom Integer 1'."),
    ],
)
async def test_update_rejects_bad_properties(
    emu: Emu, api: Client, props: dict[str, Any], message: str
) -> None:
    """Unknown, read-only and unresolvable fields answer 400 and change nothing."""
    before = emu.store.tickets[1].modified
    body = {"Properties": {"Ticket Summary": "changed", **props}}
    resp = await api.post("/tickets/1", json=body)
    assert (resp.status_code, resp.json()) == (400, {"Message": message})
    assert emu.store.tickets[1].modified == before and emu.store.tickets[1].summary != "changed"


async def test_update_without_properties_or_json_is_400(api: Client) -> None:
    """A body without Properties, or not JSON at all, is rejected."""
    resp = await api.post("/tickets/1", json={"OptionalParams": {}})
    assert (resp.status_code, resp.json()) == (400, {"Message": "Properties are required."})
    headers = {"Content-Type": "application/json"}
    resp = await api.post("/tickets/1", content=b"{nope", headers=headers)
    assert (resp.status_code, resp.json()) == (400, {"Message": "The request is invalid."})


async def test_add_note_moves_latest_note_date_only(emu: Emu, api: Client) -> None:
    """AddNote answers Ticket and TicketNote; Last Modified stays, Latest Note Date moves."""
    tid, tech = open_ticket(emu), emu.store.techs[1]
    before = emu.store.tickets[tid].modified
    dto = {
        "Note Type": "Technician Note",
        "Activity Code": "Research",
        "Note": "Checked logs.",
        "Duration": "00:10:00",
        "Private": "True",
        "OptionalParams": OPTIONAL,
    }
    body = (await api.post(f"/tickets/{tid}/AddNote", json=dto)).json()
    note = emu.store.notes[body["TicketNote"]["1"]["Value"]]
    stamp = iso(note.date)
    values = {
        1: note.id,
        2: stamp,
        3: tech.code,
        4: 2,
        5: "Checked logs.",
        6: tid,
        7: stamp,
        8: tech.id,
        10: 600,
        11: 5,
        13: True,
        14: False,
        15: "Research",
        16: tech.full,
        17: False,
        26: "Technician Note",
        27: True,
        30: "Research performed",
        31: True,
    }
    assert body["TicketNote"] == seq_map(values, NOTE_FIELDS)
    assert body["Ticket"]["2"]["Value"] == iso(before) and body["Ticket"]["175"]["Value"] == stamp
    truth = emu.ground_truth()
    assert truth["notes"][str(note.id)] == {
        "ticket_id": str(tid),
        "kind": "note",
        "visibility": "private",
        "body": "Checked logs.",
    }
    assert truth["time_entries"][str(note.id)] == {
        "ticket_id": str(tid),
        "seconds_worked": 600,
        "seconds_billable": 600,
    }
    short = {**dto, "Duration": "01:05", "Private": False}
    again = (await api.post(f"/tickets/{tid}/AddNote", json=short)).json()
    assert again["TicketNote"]["10"]["Value"] == 3900
    assert again["TicketNote"]["27"]["Value"] is False


@pytest.mark.parametrize(
    ("dto", "message"),
    [
        ({"Note": "x", "Activity Code": "Research"}, "Note Type is required."),
        ({"Note": "x", "Note Type": "Technician Note"}, "Activity Code is required."),
        (
            {"Note": "x", "Note Type": "Technician Note", "Activity Code": "Asset Audit"},
            "Activity Code 'Asset Audit' is not available for tickets.",
        ),
        (
            {"Note": "x", "Note Type": "Technician Note", "Activity Code": "Dance"},
            "Invalid Activity Code: Dance",
        ),
        (
            {"Note": "x", "Note Type": "Memo", "Activity Code": "Research"},
            "Invalid Note Type: Memo",
        ),
        (
            {
                "Note": "x",
                "Note Type": "Technician Note",
                "Activity Code": "Research",
                "Duration": "ten",
            },
            "Invalid Duration: ten",
        ),
        (
            {
                "Note": "x",
                "Note Type": "Technician Note",
                "Activity Code": "Research",
                "Private": "maybe",
            },
            "Invalid Private: maybe",
        ),
        ({"Note Type": "Technician Note", "Activity Code": "Research"}, "Note is required."),
    ],
)
async def test_add_note_rules(emu: Emu, api: Client, dto: dict[str, Any], message: str) -> None:
    """AddNote needs Note Type and a ticket Activity Code whenever a note is given."""
    count = len(emu.store.notes)
    resp = await api.post("/tickets/1/AddNote", json=dto)
    assert (resp.status_code, resp.json()) == (400, {"Message": message})
    assert len(emu.store.notes) == count


async def test_change_status_and_close(emu: Emu, api: Client) -> None:
    """ChangeStatus and Close move the status, stamp or clear close fields, and add the note."""
    tid, tech = open_ticket(emu), emu.store.techs[1]
    url = f"/tickets/{tid}"
    sent = {"StatusName": "Escalated", "Note": NOTE}
    body = (await api.post(f"{url}/ChangeStatus", json=sent)).json()
    assert list(body) == ["Ticket", "TicketNote"] and body["Ticket"]["96"]["Value"] == "Escalated"
    ticket, note = body["Ticket"], body["TicketNote"]
    assert ticket["175"]["Value"] == note["2"]["Value"] > ticket["2"]["Value"]
    for sent, message in (
        ({"StatusName": "Sleeping"}, "Invalid Status: Sleeping"),
        ({"Note": NOTE}, "StatusName is required."),
        (
            {"StatusName": "Paused", "Note": {"Note Type": "Technician Note"}},
            "Activity Code is required.",
        ),
    ):
        bad = await api.post(f"{url}/ChangeStatus", json=sent)
        assert (bad.status_code, bad.json()) == (400, {"Message": message})
    closed = (await api.post(f"{url}/Close", json={})).json()
    assert list(closed) == ["Ticket"] and closed["Ticket"]["96"]["Value"] == "Closed"
    assert closed["Ticket"]["18"]["Value"] == closed["Ticket"]["2"]["Value"]
    assert closed["Ticket"]["48"]["Value"] == tech.code
    reopened = (await api.post(f"{url}/ChangeStatus", json={"StatusName": "Open"})).json()
    assert "18" not in reopened["Ticket"] and "48" not in reopened["Ticket"]
    with_note = (await api.post(f"{url}/Close", json={"Note": {**NOTE, "Note": "Done."}})).json()
    assert list(with_note) == ["Ticket", "Note"] and with_note["Note"]["5"]["Value"] == "Done."
    assert emu.ground_truth()["tickets"][str(tid)]["status"] == "Closed"


async def test_delete_removes_ticket_and_notes(emu: Emu, api: Client) -> None:
    """POST /tickets/{id}/Delete answers {"success": true}; the ticket and its notes are gone."""
    note_id = emu.store.tickets[3].notes[0].id
    resp = await api.post("/tickets/3/Delete")
    assert (resp.status_code, resp.json()) == (200, {"success": True})
    assert (await api.get("/tickets/3")).status_code == 404
    assert (await api.get(f"/tickets/Note/{note_id}")).status_code == 404
    truth = emu.ground_truth()
    assert "3" not in truth["tickets"] and str(note_id) not in truth["notes"]


async def test_renamed_fields_are_read_and_written_by_current_name(emu: Emu, api: Client) -> None:
    """After rename_field, GET shows the new name and writes with the old name are unknown."""
    emu.rename_field(22, "Summary")
    assert (await api.get("/tickets/1")).json()["Ticket"]["22"]["DisplayName"] == "Summary"
    old = await api.post("/tickets/1", json={"Properties": {"Ticket Summary": "x"}})
    assert (old.status_code, old.json()) == (400, {"Message": "Invalid field: Ticket Summary"})
    new = await api.post("/tickets/1", json={"Properties": {" summary ": "Renamed works"}})
    assert new.json()["Ticket"]["22"] == {"DisplayName": "Summary", "Value": "Renamed works"}
    with pytest.raises(ValueError):
        emu.rename_field(96, "summary")


async def test_ground_truth_is_deterministic_and_realistic() -> None:
    """The same seed gives the same truth; about 30% of tickets are open; ids have gaps."""
    a, b, c = Emu(seed=3), Emu(seed=3), Emu(seed=4)
    truth = a.ground_truth()
    assert truth == b.ground_truth() and truth != c.ground_truth()
    assert a.credentials() == b.credentials()
    statuses = [t["status"] for t in truth["tickets"].values()]
    assert len(statuses) == 300
    assert 0.2 < sum(s in ("Open", "Escalated", "Paused") for s in statuses) / 300 < 0.4
    assert max(int(k) for k in truth["tickets"]) > 300
    kinds = {(n["kind"], n["visibility"]) for n in truth["notes"].values()}
    assert kinds == {("note", "public"), ("note", "private"), ("reply", "public")}
    assert {p["kind"] for p in truth["people"].values()} == {"staff", "requester"}
    assert any(e["seconds_billable"] == 0 for e in truth["time_entries"].values())


async def test_mutations_change_truth_and_move_the_right_timestamps(emu: Emu) -> None:
    """Notes move only Latest Note Date; status, field and assignment changes move Last Modified."""
    before = {t.id: (t.modified, t.latest_note) for t in emu.store.tickets.values()}
    truth = emu.ground_truth()
    lines = emu.mutate(60)
    assert len(lines) == 60 and emu.ground_truth() != truth
    by_ticket: dict[int, list[str]] = {}
    for line in lines:
        tid, what = line.split(": ", 1)
        by_ticket.setdefault(int(tid.split()[1]), []).append(what)
    for tid, whats in by_ticket.items():
        t = emu.store.tickets.get(tid)
        if t is None or tid not in before:
            continue
        if all(w.startswith(("note ", "e-mail ")) for w in whats):
            assert t.modified == before[tid][0] and t.latest_note > (before[tid][1] or 0)
        else:
            assert t.modified > before[tid][0]
    heads = [line.split(":")[0] for line in Emu(seed=7).mutate(60)]
    assert heads == [line.split(":")[0] for line in lines]


async def test_knobs_and_faults_apply(emu: Emu, api: Client) -> None:
    """Injected faults and fail_every_n from the base class reach the WebApi routes."""
    emu.inject("500")
    assert (await api.get("/tickets/1")).status_code == 500
    assert (await api.get("/tickets/1")).status_code == 200
    emu.inject("401")
    assert (await api.get("/tickets/1")).status_code == 401
    emu.knobs = Knobs(fail_every_n=2)
    codes = [(await api.get("/tickets/1")).status_code for _ in range(4)]
    assert sorted(codes) == [200, 200, 500, 500]
    assert emu.requests["/TrackIt/WebApi/tickets/1"] >= 7
