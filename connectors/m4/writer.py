"""M4 write operations: canonical note payloads -> TicketNote calls, vendor rules checked first.

An M4 note is a work note on a field-service ticket: ``visibility`` public is NoteType NOTE,
private is LOG, and ``kind`` is always "note". The author is ``UserName``, taken from a
``user:<name>`` people id or ``author_name``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from deskbridge.sdk import VendorRejected, WriteOp

from .client import M4Client, Record

NOTE_TYPE = {"public": "NOTE", "private": "LOG"}


async def write(
    client: M4Client, op: WriteOp, ticket_id: str | None, p: dict[str, Any]
) -> str | None:
    """Perform one write; returns the created or updated note's source id."""
    if op is WriteOp.ADD_NOTE:
        created = await client.add_note(add_body(client, _ticket(ticket_id), p))
        return str(created["ID"])
    if op is WriteOp.UPDATE_NOTE:
        updated = await client.update_note(update_body(client, _ticket(ticket_id), p))
        return str(updated["ID"])
    if op is WriteOp.DELETE_NOTE:
        await client.delete_note(_note_id(p))
        return None
    raise NotImplementedError(f"m4 does not support {op}")


def add_body(client: M4Client, ticket_id: int, p: dict[str, Any]) -> Record:
    """An AddTicketNote body; without ``created_at`` the server stamps ``ts`` itself."""
    if p.get("kind", "note") != "note":
        raise _rejected(f"M4 notes are work notes; kind {p['kind']!r} is not supported")
    body = {
        "TicketID": ticket_id,
        "NoteType": _note_type(p.get("visibility", "public")),
        "Note": _text(p.get("body")),
        "Subject": p.get("subject") or "",
        "UserName": _author(p),
        "IsClearedNote": False,
    }
    if p.get("created_at") is not None:
        body["ts"] = _ts(client, p["created_at"])
    return body


def update_body(client: M4Client, ticket_id: int, p: dict[str, Any]) -> Record:
    """An UpdateTicketNote body with only the fields given: M4 keeps the ones left out.

    ``ts`` is sent only when ``created_at`` is given, so an edit keeps the note's time.
    """
    body: Record = {"ID": int(_note_id(p)), "TicketID": ticket_id}
    if "body" in p:
        body["Note"] = _text(p["body"])
    if "visibility" in p:
        body["NoteType"] = _note_type(p["visibility"])
    if "author_id" in p or "author_name" in p:
        body["UserName"] = _author(p) or ""
    if "subject" in p:
        body["Subject"] = p["subject"] or ""
    if p.get("created_at") is not None:
        body["ts"] = _ts(client, p["created_at"])
    return body


def _ticket(ticket_id: str | None) -> int:
    if not ticket_id or not str(ticket_id).isdigit():
        raise _rejected(f"TicketID: is required, as an integer M4 ticket ID, got {ticket_id!r}")
    return int(ticket_id)


def _note_id(p: dict[str, Any]) -> str:
    note_id = str(p.get("source_id") or "")
    if not note_id.isdigit():
        raise _rejected(f"ID: is required, as the note's source id (an integer), got {note_id!r}")
    return note_id


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _rejected("Note: is required")
    return value


def _note_type(visibility: str) -> str:
    if visibility not in NOTE_TYPE:
        raise _rejected(
            f"visibility must be 'public' (NOTE) or 'private' (LOG), not {visibility!r}"
        )
    return NOTE_TYPE[visibility]


def _author(p: dict[str, Any]) -> str | None:
    author = p.get("author_id")
    if author:
        if not str(author).startswith("user:"):
            raise _rejected(f"an M4 note author is a user name ('user:<name>'), got {author!r}")
        return str(author).removeprefix("user:")
    name = p.get("author_name")
    return str(name) if name else None


def _ts(client: M4Client, value: datetime | str) -> str:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        raise _rejected(f"created_at needs a time zone, got {value!r}")
    return client.clock.format(moment)


def _rejected(message: str) -> VendorRejected:
    return VendorRejected(message, vendor="m4", resource="notes")
