"""Omnidesk write operations: canonical payloads -> API calls, with the vendor's rules checked
before anything is sent.

Omnidesk spreads a ticket's fields over several endpoints (PUT item for the title and the
solved/closed statuses, ``setStatus``, ``setPriority``, ``batch`` for the group), so one
update may take several calls. They run in a fixed order, the ones needing ``TICKET_UPDATE``
first; when a later one fails, the error says what was already applied.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from deskbridge.sdk import (
    DeskbridgeError,
    UnmappedValueError,
    VendorRejected,
    WriteContext,
    WriteOp,
    canonical_fields,
    mappings,
)

from . import mapping as m
from .client import OmnideskClient

NOTE_CHANNEL = "0"  # a message of type 0 is an internal note
MIN_MESSAGE = 5
WRITABLE = frozenset({"subject", "status", "priority", "department"})
# Canonical ticket fields Omnidesk cannot set; other keys (author ids, timestamps) are ignored.
UNWRITABLE = frozenset(canonical_fields("tickets")) - WRITABLE
Step = tuple[str, Callable[[], Awaitable[None]]]


def rejected(message: str, ticket_id: str | None = None) -> VendorRejected:
    return VendorRejected(message, vendor="omnidesk", resource="tickets", record_id=ticket_id)


def number(value: object, what: str = "ticket id") -> str:
    """An id given as a number or a numeric string."""
    try:
        found = m.ident(value)
    except DeskbridgeError:
        found = None
    if found is None:
        raise rejected(f"not a {what}: {value!r}")
    return found


def ticket_ids(values: Iterable[object]) -> list[str]:
    return [number(value) for value in values]


def vendor_value(name: str, value: object) -> str:
    """A status or priority given as an Omnidesk value or a canonical one, as Omnidesk's."""
    vocab = mappings.load("omnidesk").values(name)
    if value in vocab.forward:
        return str(value)
    if value in set(vocab.forward.values()):
        return vocab.to_vendor(str(value))
    raise UnmappedValueError(
        f"omnidesk {name}",
        value,
        [*vocab.forward, *sorted(set(vocab.forward.values()) - set(vocab.forward))],
    )


def group_id(value: object) -> str:
    """A group id (``department``); 0 clears the group."""
    try:
        found = m.ident(value)
    except DeskbridgeError:
        found = None
    if found is None and value not in (0, "0"):
        raise rejected(f"department must be an Omnidesk group id (a number), got {value!r}")
    return found or "0"


async def write(
    client: OmnideskClient,
    op: WriteOp,
    ticket_id: str | int | None,
    p: dict[str, Any],
    ctx: WriteContext | None = None,
) -> str | None:
    """Perform one write; returns the created record's canonical source id."""
    if op is WriteOp.CREATE_TICKET:
        return await create_ticket(client, p, ctx or WriteContext())
    tid = _need(ticket_id)
    if op is WriteOp.CHANGE_STATUS:
        status = vendor_value("status", p.get("status"))
        await client.set_status([tid], status)
        return tid
    if op is WriteOp.UPDATE_FIELDS:
        await _run(update_steps(client, tid, p))
        return tid
    if op is WriteOp.ADD_NOTE:
        return await add_note(client, tid, p)
    if op is WriteOp.DELETE_TICKET:
        await client.delete_ticket(tid)
        return None
    raise NotImplementedError(f"omnidesk does not support {op}")


def _need(ticket_id: str | int | None) -> str:
    if ticket_id is None or ticket_id == "":
        raise rejected("this operation needs a ticket id")
    return number(ticket_id)


def update_steps(client: OmnideskClient, tid: str, p: dict[str, Any]) -> list[Step]:
    """The calls an update takes, every value checked first."""
    _refuse_unwritable(p, tid)
    put: dict[str, str] = {}
    status = vendor_value("status", p["status"]) if p.get("status") is not None else None
    if p.get("subject") is not None:
        put["title"] = str(p["subject"])
    if p.get("requester_external_id") is not None:
        put["externalPrimaryID"] = str(p["requester_external_id"])
    if status in ("solved", "closed"):
        put["status"], status = status, None
    steps: list[Step] = []
    if put:
        steps.append((", ".join(put), lambda: client.update_ticket(tid, put)))
    if p.get("priority") is not None:
        priority = vendor_value("priority", p["priority"])
        steps.append(("priority", lambda: client.set_priority([tid], priority)))
    if status is not None:
        steps.append(("status", lambda: client.set_status([tid], status)))
    if p.get("department") is not None:
        group = group_id(p["department"])
        steps.append(("department", lambda: client.batch([tid], [("assignedGroupID", group)])))
    return steps


def _refuse_unwritable(p: dict[str, Any], tid: str | None = None) -> None:
    fields = sorted(k for k in UNWRITABLE if p.get(k) is not None)
    if fields:
        raise rejected(
            f"Omnidesk cannot set {', '.join(fields)}; writable: {', '.join(sorted(WRITABLE))}", tid
        )


async def _run(steps: list[Step], applied: list[str] | None = None) -> None:
    applied = list(applied or ())
    for what, call in steps:
        try:
            await call()
        except DeskbridgeError as exc:
            if applied:
                exc.args = (f"{exc.args[0]} (already applied: {'; '.join(applied)})",)
            raise
        applied.append(what)


def check_note(p: dict[str, Any], tid: str | None = None) -> tuple[str, str]:
    """The note's kind and body, once they pass Omnidesk's rules.

    Omnidesk notes are always private and replies always reach the customer, so a private
    reply is written as a note; a public note has no Omnidesk form and is refused.
    """
    kind, body = p.get("kind", "note"), str(p.get("body") or "")
    visibility = p.get("visibility") or ("private" if kind == "note" else "public")
    known = kind in ("note", "reply") and visibility in ("private", "public")
    if not known or (kind, visibility) == ("note", "public"):
        raise rejected(
            "Omnidesk notes are private and replies public; "
            f"got kind {kind!r}, visibility {visibility!r}",
            tid,
        )
    if visibility == "private":
        kind = "note"
    if len(body) < MIN_MESSAGE:
        raise rejected(f"the message needs at least {MIN_MESSAGE} characters", tid)
    return kind, body


async def add_note(client: OmnideskClient, tid: str, p: dict[str, Any]) -> str:
    """A note (``kind`` note, private) or a reply to the customer (``kind`` reply, public)."""
    kind, body = check_note(p, tid)
    fields = {"ticketID": tid, "message": body, "type": NOTE_CHANNEL}
    if kind == "reply":
        fields |= await _reply_route(client, tid, p)
    created = await client.post_message(fields)
    prefix = "note" if created.get("type") == "note" else "message"
    return f"{prefix}:{m.required_ident(created.get('id'), 'created message')}"


async def _reply_route(client: OmnideskClient, tid: str, p: dict[str, Any]) -> dict[str, str]:
    """The channel and address of a reply: given, or the ticket's channel and customer."""
    channel, to = p.get("channel_id"), p.get("to")
    if channel is None or to is None:
        item = await client.ticket(tid)
        if item is None:
            raise rejected("This ticket does not exist.", tid)
        requester = m.requester_row(item)
        channel = channel if channel is not None else item.get("channel_id")
        to = to if to is not None else (requester["email"] if requester else "")
    return {"type": str(m.ident(channel) or NOTE_CHANNEL), "toAddress": str(to or "")}


async def create_ticket(
    client: OmnideskClient, p: dict[str, Any], ctx: WriteContext | None = None
) -> str:
    """POST index (an empty ticket), then its status, priority and first note or reply.

    POST index takes no text but the title, so the marker travels in the first message; the
    new id is reported before any follow-up. A resumed create sets status and priority again
    (harmless) and posts the message only if the timeline does not hold its marker yet.
    """
    ctx = ctx or WriteContext()
    _refuse_unwritable(p)
    direction = p.get("direction", "inbound")
    if direction not in ("inbound", "outbound"):
        raise rejected(f"direction must be inbound or outbound, got {direction!r}")
    follow_up = {k: p[k] for k in ("status", "priority") if p.get(k) is not None}
    for key, value in follow_up.items():
        vendor_value(key, value)
    note = {"kind": p.get("body_kind", "note"), "body": p.get("body")}
    if note["body"] is not None:
        check_note(note)
    if ctx.resume:
        tid = number(ctx.resume)
        if note["body"] is not None and await _has_message(
            client, tid, ctx.marker or str(note["body"])
        ):
            note["body"] = None
    else:
        created = await client.create_ticket(_create_fields(p, direction))
        tid = m.required_ident(created.get("id"), "created ticket")
        await ctx.created(tid)
    steps = update_steps(client, tid, follow_up)
    if note["body"] is not None:
        steps.append(("body", lambda: _discard(add_note(client, tid, note))))
    await _run(steps, applied=[f"ticket {tid} created"])
    return tid


async def _has_message(client: OmnideskClient, tid: str, needle: str) -> bool:
    item = await client.ticket(tid)
    if item is None:
        raise rejected("This ticket does not exist.", tid)
    return any(needle in str(entry.get("content") or "") for entry in item.get("timeline") or [])


def _create_fields(p: dict[str, Any], direction: str) -> dict[str, str]:
    email, name = str(p.get("requester_email") or ""), p.get("requester_name")
    fields = {"title": str(p.get("subject") or ""), "direction": direction}
    if direction == "inbound":
        fields |= {"from": email} | ({"fromName": str(name)} if name is not None else {})
    else:
        fields |= {"to": email, "from": str(p.get("sender") or "")}
    for key, vendor in (("brand_id", "brandID"), ("channel_id", "channelID")):
        if p.get(key) is not None:
            fields[vendor] = number(p[key], key)
    if p.get("department") is not None:
        fields["assignedGroupID"] = group_id(p["department"])
    return fields


async def _discard(call: Awaitable[object]) -> None:
    await call


async def batch(
    client: OmnideskClient,
    ids: Iterable[object],
    *,
    status: str | None = None,
    priority: str | None = None,
    department: object = None,
    delete: bool = False,
) -> None:
    """Several tickets at once: status, priority and group in one call, or a multi-delete."""
    wanted = ticket_ids(ids)
    if not wanted:
        raise rejected("a batch needs at least one ticket id")
    actions = [
        (kind, convert(value))
        for kind, value, convert in (
            ("status", status, lambda v: vendor_value("status", v)),
            ("priority", priority, lambda v: vendor_value("priority", v)),
            ("assignedGroupID", department, group_id),
        )
        if value is not None
    ]
    if delete and actions:
        raise rejected("a batch either deletes tickets or changes them, not both")
    if delete:
        await client.delete_tickets(wanted)
    elif actions:
        await client.batch(wanted, actions)
    else:
        raise rejected("a batch needs status, priority, department or delete")
