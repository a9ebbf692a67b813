"""Track-It! write operations: canonical payloads -> WebApi POSTs, the vendor's rules checked first.

Ticket fields go out under the installation's current display names of the sequences in
``mappings/trackit.toml``. Payloads (all keys optional unless the operation needs them):

* ticket fields: ``subject``, ``status`` (a name) or ``status_category`` (canonical),
  ``priority`` or ``priority_level``, ``department`` (the Category), ``assignee_id``
  (``technician:<seq>`` or ``None`` to unassign), ``requester_id`` (``requestor:<seq>``),
  ``due_at`` (a datetime); ``fields``: custom fields, sequence -> value (``{"85": "AT-1"}``),
  written under their current display names too;
* a note: ``body``, ``visibility`` (``public``/``private``), ``seconds_worked`` (its
  Duration: a time entry), ``note_type`` and ``activity_code`` (defaults from the options);
* a time entry: ``seconds_worked``, ``note``, ``visibility`` (default private).
  ``seconds_billable`` cannot be written: the server tracks (bills) all of a note's duration.

Fields the server sets itself (``created_at`` of notes, ``work_time``, author and worker names,
``requester_name``/``requester_email`` on create) are accepted and left out: the note is dated
and authored by the server, and a ticket links only an existing requestor (``requester_id``).

Returns: the new ticket's id (create); the new note's id (add note, add time entry, and change
status or close when they wrote a note); otherwise the ticket id, or ``None`` for delete.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from deskbridge.sdk import (
    PayloadError,
    UnmappedValueError,
    VendorRejected,
    WriteContext,
    WriteOp,
    mappings,
)

from .catalog import custom_fields, field_catalog, field_map, note_types
from .client import Record, TrackitClient
from .mapping import N_NOTE

VENDOR = "trackit"
NOTE_KEYS = {
    "body",
    "visibility",
    "seconds_worked",
    "note_type",
    "activity_code",
    "kind",
    "author_id",
}
TIME_KEYS = {
    "seconds_worked",
    "seconds_billable",
    "note",
    "visibility",
    "note_type",
    "activity_code",
    "worker_id",
    "created_by_id",
}
# Canonical fields the server sets itself (the note's date and author, the requestor's details
# on create): accepted and left out, so a whole canonical row can be written.
SERVER_SET = {
    "source_id",
    "ticket_id",
    "raw",
    "created_at",
    "author_name",
    "author_kind",
    "is_html",
    "work_time",
    "bill_time",
    "worker_name",
    "requester_name",
    "requester_email",
}
ALIASES = {"status_category": "status", "priority_level": "priority"}


def _reject(message: str, resource: str = "tickets") -> VendorRejected:
    return VendorRejected(message, vendor=VENDOR, resource=resource)


class Writer:
    """One connection's writes; ``options`` supplies note defaults and the display-name max age."""

    def __init__(self, client: TrackitClient, options: Any) -> None:
        self.client, self.options = client, options

    async def write(
        self, op: WriteOp, ticket_id: str | None, p: dict[str, Any], ctx: WriteContext | None = None
    ) -> str | None:
        if op is WriteOp.CREATE_TICKET:
            return await self._create(p, ctx or WriteContext())
        handler = {
            WriteOp.UPDATE_FIELDS: self._update,
            WriteOp.ADD_NOTE: self._add_note,
            WriteOp.ADD_TIME_ENTRY: self._add_time,
            WriteOp.CHANGE_STATUS: self._change_status,
            WriteOp.CLOSE_TICKET: self._close,
            WriteOp.DELETE_TICKET: self._delete,
        }.get(op)
        if handler is None:
            raise NotImplementedError(f"trackit does not support {op}")
        return await handler(_need(ticket_id), p)

    async def _update(self, tid: str, p: dict[str, Any]) -> str:
        rest, custom = _split_custom(p)
        await self._properties(f"/tickets/{tid}", _ticket_fields(rest, set()), tid, custom)
        return tid

    async def _add_note(self, tid: str, p: dict[str, Any]) -> str:
        _only(p, NOTE_KEYS)
        return await self._note(f"/tickets/{tid}/AddNote", self.note_dto(p, required=True), tid)

    async def _add_time(self, tid: str, p: dict[str, Any]) -> str:
        return await self._note(f"/tickets/{tid}/AddNote", self.time_dto(p), tid)

    async def _change_status(self, tid: str, p: dict[str, Any]) -> str:
        _only(p, {"status", "status_category"} | NOTE_KEYS)
        status = _ticket_fields(p, NOTE_KEYS).get("status")
        if status is None:
            raise _reject("change_status needs 'status' or 'status_category'")
        body = _with_note({"StatusName": status}, self.note_dto(p))
        return await self._note(f"/tickets/{tid}/ChangeStatus", body, tid, keep_ticket=True)

    async def _close(self, tid: str, p: dict[str, Any]) -> str:
        _only(p, NOTE_KEYS)
        body = _with_note({}, self.note_dto(p))
        return await self._note(f"/tickets/{tid}/Close", body, tid, keep_ticket=True)

    async def _delete(self, tid: str, p: dict[str, Any]) -> None:
        await self.client.post(f"/tickets/{tid}/Delete", "tickets", None, tid)

    async def _create(self, p: dict[str, Any], ctx: WriteContext) -> str:
        """POST /tickets (the WebApi takes no note on create), then AddNote with the description.

        The marker goes in the ``recovery_field`` of the POST itself, so a ticket whose answer
        was lost is found by the next plan. The new id is reported before the AddNote; a resumed
        create adds the description only if no note of the ticket carries its marker yet.
        """
        p, custom = _split_custom(p)
        fields = _ticket_fields(p, NOTE_KEYS)
        description = self.note_dto(p | {"note_type": p.get("note_type", "Ticket Description")})
        if ctx.resume:
            new_id = ctx.resume
            if description and await self._has_note(int(new_id), ctx.marker or description["Note"]):
                description = None
        else:
            seq = self.options.recovery_seq
            key = {seq: ctx.marker} if seq is not None and ctx.marker else {}
            if set(key) & set(custom):  # the marker would overwrite the mapped value unseen
                raise _reject(f"custom field {seq} carries this connection's recovery_field")
            new_id = str((await self._properties("/tickets", fields, None, custom | key))[1])
            await ctx.created(new_id)
        if description:
            await self.client.write_ticket(f"/tickets/{new_id}/AddNote", description, new_id)
        return new_id

    async def _has_note(self, ticket_id: int, needle: str) -> bool:
        return any(
            needle in str(note.get(N_NOTE) or "") for note in await self.client.notes(ticket_id)
        )

    async def _note(self, path: str, body: Any, tid: str, *, keep_ticket: bool = False) -> str:
        _, note = await self.client.write_ticket(path, body, tid)
        if note is not None:
            return str(note[1])
        if keep_ticket:
            return tid
        # the request was accepted: the note may exist, so the write stays pending (not refused)
        raise PayloadError(
            "AddNote answered without the note it wrote",
            vendor=VENDOR,
            resource="notes",
            record_id=tid,
        )

    # -- ticket fields ---------------------------------------------------------------------------
    async def _properties(
        self,
        path: str,
        fields: dict[str, Any],
        tid: str | None,
        by_seq: dict[int, Any] | None = None,
    ) -> Record:
        """POST ``{"Properties": {display name: value}}``; once more with fresh names if refused.

        ``fields`` are by mapped name, ``by_seq`` (unmapped fields) by sequence.
        """
        if not fields and not by_seq:
            raise _reject("no ticket field to write")
        values = {field_map().write[name]: v for name, v in fields.items()} | (by_seq or {})
        refreshed = False
        if self.client.names.stale(list(values), self.options.seconds("names_max_age")):
            await self.client.refresh_names()
            refreshed = True
        while True:
            body = {
                "Properties": {self._display(seq): v for seq, v in values.items()},
                "OptionalParams": {},
            }
            try:
                ticket, _ = await self.client.write_ticket(path, body, tid)
                return ticket
            except VendorRejected:
                if refreshed:  # the names were current: the refusal is about the values
                    raise
                await self.client.refresh_names()  # a field may have been renamed since
                refreshed = True

    def _display(self, seq: int) -> str:
        try:
            return self.client.names.name(seq)
        except KeyError:
            raise _reject(f"this installation offers no ticket field {seq}") from None

    # -- notes -----------------------------------------------------------------------------------
    def note_dto(self, p: dict[str, Any], *, required: bool = False) -> dict[str, Any] | None:
        """The NoteDto for ``p``'s note, or ``None`` when ``p`` has none (an error if ``required``)."""
        text, seconds = p.get("body") or "", int(p.get("seconds_worked") or 0)
        if p.get("kind", "note") != "note":
            raise _reject("the WebApi cannot send e-mail: only kind 'note' can be written", "notes")
        author = p.get("author_id")
        if author and not str(author).startswith("technician:"):
            raise _reject(
                f"notes are written by the connection's technician, not {author!r}", "notes"
            )
        if not text and not seconds:
            if required:
                raise _reject("a note needs a body or seconds_worked", "notes")
            return None
        return self._dto(p, text, seconds, p.get("visibility", "public"))

    def time_dto(self, p: dict[str, Any]) -> dict[str, Any]:
        _only(p, TIME_KEYS)
        seconds = int(p.get("seconds_worked") or 0)
        if seconds <= 0:
            raise _reject("a time entry needs seconds_worked > 0", "time_entries")
        return self._dto(p, p.get("note") or "", seconds, p.get("visibility", "private"))

    def _dto(self, p: dict[str, Any], text: str, seconds: int, visibility: str) -> dict[str, Any]:
        note_type = p.get("note_type", self.options.note_type)
        activity = p.get("activity_code", self.options.activity_code)
        if not note_type or not activity:
            raise _reject("a note needs a Note Type and an Activity Code", "notes")
        if note_type not in note_types():
            raise UnmappedValueError("trackit Note Type", note_type, note_types())
        if visibility not in ("public", "private"):
            raise UnmappedValueError("visibility", visibility, ("public", "private"))
        dto: dict[str, Any] = {
            "Note Type": note_type,
            "Activity Code": activity,
            "Note": text,
            "Private": visibility == "private",
        }
        if seconds:
            dto["Duration"] = f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
        return dto


def _with_note(body: dict[str, Any], note: dict[str, Any] | None) -> dict[str, Any]:
    return body | {"Note": note} if note else body


def _need(ticket_id: str | None) -> str:
    if not ticket_id:
        raise _reject("this operation needs a ticket id")
    return ticket_id


def _only(p: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(k for k, v in p.items() if k not in allowed | SERVER_SET and v is not None)
    if extra:
        raise UnmappedValueError("trackit payload key", extra[0], sorted(allowed))


def _split_custom(p: dict[str, Any]) -> tuple[dict[str, Any], dict[int, Any]]:
    """``p`` without its ``fields`` (custom fields by sequence), and those as wire values.

    They go out under the field's current display name like every other field, so a custom
    field renamed by the administrator is still written.
    """
    rest = {k: v for k, v in p.items() if k != "fields"}
    out: dict[int, Any] = {}
    for key, value in (p.get("fields") or {}).items():
        seq = int(key) if str(key).isdigit() else None
        kind = custom_fields().get(seq) if seq is not None else None
        if seq is None or kind is None:
            raise _reject(f"{key!r} is not a Track-It! custom field sequence")
        if not field_catalog().fields[seq].updatable:
            raise _reject(f"custom field {seq} is read-only in Track-It")
        out[seq] = _custom_wire(kind, value)
    return rest, out


def _custom_wire(kind: str, value: Any) -> Any:
    if value is None or kind in ("text", "choice"):
        return None if value is None else str(value)
    if kind == "datetime":
        return _wire("due_at", value, canonical=False)
    return int(value) if kind == "integer" else float(value)


def _ticket_fields(p: dict[str, Any], extra: set[str]) -> dict[str, Any]:
    """Canonical ticket fields -> wire values, by mapped field name; unknown keys are refused."""
    writable = field_map().write
    _only(p, set(writable) | set(ALIASES) | extra)
    out: dict[str, Any] = {}
    for key, value in p.items():
        name = ALIASES.get(key, key)
        if name not in writable:
            continue
        if name in out:
            raise _reject(f"give {name} or {key}, not both")
        out[name] = _wire(name, value, canonical=key in ALIASES)
    read_only = [n for n in out if not field_catalog().fields[writable[n]].updatable]
    if read_only:
        raise _reject(f"mapped fields are read-only in Track-It: {', '.join(read_only)}")
    return out


def _wire(name: str, value: Any, *, canonical: bool) -> Any:
    if name in ("status", "priority"):
        vocab = mappings.load(VENDOR).values(name)
        if canonical:
            return vocab.to_vendor(value)
        vocab.require(value)
        return value
    if name in ("assignee_id", "requester_id"):
        return _person_seq(name, value)
    if name == "due_at" and value is not None:
        when = datetime.fromisoformat(value) if isinstance(value, str) else value
        return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value


def _person_seq(name: str, value: Any) -> int | None:
    prefix = "technician:" if name == "assignee_id" else "requestor:"
    if value is None:
        return None
    text = str(value)
    if not text.startswith(prefix) or not text.removeprefix(prefix).isdigit():
        raise _reject(f"{name} must be a people id '{prefix}<seq>', got {value!r}")
    return int(text.removeprefix(prefix))
