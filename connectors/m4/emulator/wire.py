"""M4 wire format: .NET timestamps, JSON bodies of each object, messages and Specification.

Bodies are compact UTF-8 JSON as ASP.NET Web API's Json.NET formatter writes them, with the
property order and casing of the vendor samples. Timestamps are stored as server-local ticks
(100 ns units since 1970-01-01 on the server's wall clock).
"""

from __future__ import annotations

import json
import re
import time
from datetime import date
from typing import Any

import orjson

from .store import (
    NOTE_TYPES,
    SERVER_UTC_OFFSET_MIN,
    TICKS_PER_S,
    ClearCode,
    Note,
    Ticket,
    TimeEntry,
)

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_TS = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?\Z"
)
_TICKS_PER_MIN = 60 * TICKS_PER_S

NOT_AUTHORIZED = "Not Authorized"
NOT_LICENSED = "Not Licensed"
NOT_FOUND = "Object Not Found"
INVALID_REQUEST = "The request is invalid."


# not documented: emulator choice (status of each failure; the body is always {"Message": ...})
STATUS_OF = {NOT_AUTHORIZED: 401, NOT_LICENSED: 403, NOT_FOUND: 404, INVALID_REQUEST: 400}


class Failure(Exception):
    """A documented failure message; its status comes from ``STATUS_OF``."""


class RuleViolation(Exception):
    """A business-rule violation: 400 with the rule text as the message."""


class Reply(Exception):
    """A finished non-200 reply of the ASP.NET framework (routing, verbs, media types)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(body)
        self.status, self.body = status, body


# not documented: emulator choice (texts of business-rule violations, answered with 400)
RULES = {
    "ticket_required": "TicketID: is required",
    "ticket_unknown": "TicketID: must be an existing Ticket",
    "ticket_unknown_search": "TicketID: must be an existing Ticket if specified",
    "note_required": "Note: is required",
    "id_required": "ID: is required",
    "note_type": 'NoteType: must be either "NOTE" or "LOG"',
}


def message(text: str) -> str:
    """The ``{"Message": ...}`` body every M4 message and error uses."""
    return dumps({"Message": text})


def deleted_message(note_id: int) -> str:
    return message(f"The ticket note with ID [{note_id}] was deleted successfully.")


def no_route(uri: str) -> str:
    # not documented: emulator choice (ASP.NET Web API's default text for an unknown route)
    return message(f"No HTTP resource was found that matches the request URI '{uri}'.")


def bad_verb(verb: str) -> str:
    # not documented: emulator choice (ASP.NET Web API's default text for a wrong verb, 405)
    return message(f"The requested resource does not support http method '{verb}'.")


def bad_media_type(media_type: str) -> str:
    # not documented: emulator choice (ASP.NET Web API's default text for a non-JSON body, 415)
    return message(
        f"The request entity's media type '{media_type}' is not supported for this resource."
    )


def dumps(data: Any) -> str:
    """Compact JSON with non-ASCII text as UTF-8, as Json.NET writes it."""
    return orjson.dumps(data).decode()


# -- request bodies -------------------------------------------------------------------------
def decode_body(raw: bytes, content_type: str | None) -> dict[str, Any]:
    """The JSON object of a POST; ASP.NET answers other media types with 415."""
    media = (content_type or "application/octet-stream").split(";")[0].strip().lower()
    if media not in ("application/json", "text/json"):
        raise Reply(415, bad_media_type(media))
    try:
        body = json.loads(raw) if raw.strip() else None
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise Failure(INVALID_REQUEST)
    return body


def int_field(body: dict[str, Any], key: str) -> int | None:
    """An integer property; null or "" mean "not given" (numeric strings convert)."""
    value = body.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise Failure(INVALID_REQUEST)
    try:
        return int(value)
    except ValueError:
        raise Failure(INVALID_REQUEST) from None


def required_int(body: dict[str, Any], key: str, rule: str) -> int:
    value = int_field(body, key)
    if value is None:
        raise RuleViolation(RULES[rule])
    return value


def text_field(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise Failure(INVALID_REQUEST)
    return value


def bool_field(body: dict[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise Failure(INVALID_REQUEST)
    return value


def ts_field(body: dict[str, Any], key: str) -> int | None:
    """Server-local ticks of a datetime property; null or "" mean "not given"."""
    value = text_field(body, key)
    if not value:
        return None
    try:
        return parse_ts(value)
    except ValueError:
        raise Failure(INVALID_REQUEST) from None


def note_type_field(body: dict[str, Any]) -> str | None:
    value = text_field(body, "NoteType")
    if value and value not in NOTE_TYPES:
        raise RuleViolation(RULES["note_type"])
    return value or None


def same_text(stored: str | None, wanted: str) -> bool:
    # not documented: emulator choice (filters compare like SQL Server's default collation)
    return stored is not None and stored.casefold() == wanted.casefold()


# -- timestamps ---------------------------------------------------------------------------
def parse_ts(text: str) -> int:
    """Server-local ticks of an ISO-8601 value; no offset means server-local already."""
    found = _TS.match(text.strip())
    if not found:
        raise ValueError(text)
    y, mo, d, h, mi, s, frac, zone = found.groups()
    hour, minute, sec = int(h or 0), int(mi or 0), int(s or 0)
    if hour > 23 or minute > 59 or sec > 59:
        raise ValueError(text)
    days = date(int(y), int(mo), int(d)).toordinal() - _EPOCH_ORDINAL
    ticks = (days * 86400 + hour * 3600 + minute * 60 + sec) * TICKS_PER_S
    ticks += int((frac or "0").ljust(7, "0"))
    if zone:
        ticks += (SERVER_UTC_OFFSET_MIN - _zone_minutes(zone)) * _TICKS_PER_MIN
    return ticks


def _zone_minutes(zone: str) -> int:
    if zone == "Z":
        return 0
    digits = zone[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:])
    return -minutes if zone[0] == "-" else minutes


def format_ts(ticks: int, *, offset: bool = False) -> str:
    """Json.NET's ``yyyy-MM-ddTHH:mm:ss.FFFFFFF`` (trailing zeros trimmed), plus the
    server's offset when ``offset`` is set."""
    secs, frac = divmod(ticks, TICKS_PER_S)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    if frac:
        text += "." + f"{frac:07d}".rstrip("0")
    if offset:
        sign = "-" if SERVER_UTC_OFFSET_MIN < 0 else "+"
        hours, minutes = divmod(abs(SERVER_UTC_OFFSET_MIN), 60)
        text += f"{sign}{hours:02d}:{minutes:02d}"
    return text


# -- objects ------------------------------------------------------------------------------
def note_json(note: Note, ts_ticks: int | None = None) -> str:
    """A TicketNote; ``ts_ticks`` set means a write response (ts with the server's offset)."""
    if ts_ticks is None:
        if note.json is None:
            note.json = _note_text(note, format_ts(note.ts))
        return note.json
    return _note_text(note, format_ts(ts_ticks, offset=True))


def _note_text(note: Note, ts: str) -> str:
    return dumps(
        {
            "ID": note.id,
            "TicketID": note.ticket_id,
            "NoteType": note.note_type,
            "Note": note.text,
            "Subject": note.subject,
            "UserName": note.user_name,
            "ts": ts,
            "IsClearedNote": note.cleared,
        }
    )


def ticket_json(t: Ticket) -> str:
    if t.json is None:
        t.json = dumps(
            {
                "ID": t.id,
                "TicketNumber": t.number,
                "TicketState": t.state,
                "ModifiedBy": t.modified_by,
                "Priority": t.priority,
                "ServingArea": t.serving_area,
                "StructureLink": t.structure_link,
                "CustomerID": t.customer_id,
                "TimeOpened": format_ts(t.opened),
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
        )
    return t.json


def entry_json(e: TimeEntry) -> str:
    if e.json is None:
        e.json = dumps(
            {
                "ID": e.id,
                "TimeCodeId": e.time_code_id,
                "TimeCode": e.time_code,
                "ApptId": e.appt_id,
                "TicketID": e.ticket_id,
                "TechID": e.tech_id,
                "Minutes": e.minutes,
                "Capital": e.capital,
                "Time": format_ts(e.time),
                "PayCodeId": e.pay_code_id,
                "CustomerServiceID": e.customer_service_id,
                "Comment": e.comment,
                "CustomerID": e.customer_id,
            }
        )
    return e.json


def clear_code_json(c: ClearCode) -> str:
    return dumps({"ID": c.id, "TicketClearCodeType": c.code_type, "Description": c.description})


def array(items: list[str]) -> str:
    return "[" + ",".join(items) + "]"


# -- Specification ------------------------------------------------------------------------
_NOTE_FORMAT = {
    "TicketID": 2734,
    "NoteType": "NOTE",
    "Note": "note text",
    "Subject": "",
    "UserName": "username",
    "ts": "2017-11-20T11:33:34.0299526-05:00",
    "IsClearedNote": False,
}
# The vendor's sample, verbatim: it leaves out GetTicketNotes and DeleteTicketNote.
_TICKET_NOTE_SPEC = [
    {
        "HttpAction": "Post",
        "MethodName": "AddTicketNote",
        "Description": "Method allows for the adding of a ticket note. The newly created ticket "
        "note object is returned.",
        "Format": _NOTE_FORMAT,
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


def _get(method: str, description: str, path: str) -> dict[str, str]:
    return {"HttpAction": "Get", "MethodName": method, "Description": description, "Path": path}


# not documented: emulator choice (Specification of the controllers the seed does not show;
# it lists the methods this emulator serves, in the TicketNote sample's shape)
_OTHER_SPECS = {
    "Ticket": [
        _get(
            "GetTicket",
            "Returns the record for a single ticket given the passed in ID value (see Path).",
            "/Ticket/GetTicket/61",
        ),
        _get("GetTickets", "Returns all 'Tickets' in the database.", "/Ticket/GetTickets"),
        _get(
            "GetTicketsByCustomer",
            "Returns the tickets of the customer given the passed in ID value (see Path).",
            "/Ticket/GetTicketsByCustomer/1042",
        ),
    ],
    "TimeEntry": [
        _get(
            "GetTimeEntriesByTicket",
            "Returns the time entries of the ticket given the passed in ID value (see Path).",
            "/TimeEntry/GetTimeEntriesByTicket/61",
        ),
    ],
    "TicketClearCode": [
        _get(
            "GetTicketClearCode",
            "Returns the record for a single ticket clear code given the "
            "passed in ID value (see Path).",
            "/TicketClearCode/GetTicketClearCode/3",
        ),
        _get(
            "GetTicketClearCodes",
            "Returns all ticket clear codes.",
            "/TicketClearCode/GetTicketClearCodes",
        ),
        _get(
            "GetTicketClearCodesByAppointment",
            "Returns the clear codes of the appointment given the passed in ID value (see Path).",
            "/TicketClearCode/GetTicketClearCodesByAppointment/5001",
        ),
    ],
}
SPECIFICATIONS = {"TicketNote": dumps(_TICKET_NOTE_SPEC)} | {
    name: dumps(spec) for name, spec in _OTHER_SPECS.items()
}
