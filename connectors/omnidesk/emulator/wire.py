"""Omnidesk's wire format: datetimes, ticket and timeline JSON, envelopes, PHP-style forms."""

from __future__ import annotations

import json
import re
from datetime import datetime
from email.message import Message
from email.parser import BytesParser
from email.utils import collapse_rfc2231_value
from json.encoder import encode_basestring_ascii as _quote
from typing import Any, cast
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response

from .store import CHANNELS, Event, OmnideskData, Post, Ticket

# not documented: emulator choice (datetimes are naive Europe/Amsterdam local time)
ZONE = ZoneInfo("Europe/Amsterdam")
_HOURS: dict[int, str] = {}
_MINUTES_SECONDS = [f"{s // 60:02d}:{s % 60:02d}" for s in range(3600)]
_KEY_PART = re.compile(r"\[([^\]]*)\]")
DIGITS = re.compile(r"^[0-9]+$")
EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")
Fields = dict[str, Any]

# not documented: emulator choice (statuses and messages of every error)
ERRORS = {
    "no_key": (401, "No API key given."),
    "bad_key": (401, "This API key is invalid."),
    "forbidden": (403, "This API key does not have the {} permission."),
    "no_ticket": (404, "This ticket does not exist."),
    "no_endpoint": (404, "This endpoint does not exist."),
    "method": (405, "This method is not allowed on this endpoint."),
    "missing": (400, "The field {} is required."),
    "invalid": (400, "The field {} is invalid."),
    "no_brand": (400, "This brand does not exist."),
    "no_channel": (400, "This channel does not exist."),
    "no_group": (400, "This group does not exist."),
    "no_customer": (400, "This customer does not exist."),
    "no_message": (400, "This message does not exist."),
    "no_view": (400, "This view does not exist."),
}


class ApiError(Exception):
    """A request the vendor refuses; rendered as the error envelope."""

    def __init__(self, kind: str, *args: object) -> None:
        status, template = ERRORS[kind]
        self.status, self.message = status, template.format(*args)
        super().__init__(self.message)


def fmt(ts: int | None) -> str | None:
    """``YYYY-MM-DD HH:MM:SS`` local time; offsets change on whole hours, so cache per hour."""
    if ts is None:
        return None
    hour, rest = divmod(ts, 3600)
    prefix = _HOURS.get(hour)
    if prefix is None:
        prefix = _HOURS[hour] = datetime.fromtimestamp(hour * 3600, ZONE).strftime("%Y-%m-%d %H:")
    return prefix + _MINUTES_SECONDS[rest]


def _n(value: int | None) -> str:
    return "null" if value is None else str(value)


def _t(ts: int | None) -> str:
    return "null" if ts is None else f'"{fmt(ts)}"'


def ticket_json(t: Ticket, data: OmnideskData) -> str:
    """The ticket object of GET item without its timeline, as JSON text.

    Built by hand rather than through a dict because list pages render thousands of these.
    """
    channel_name, channel_icon = CHANNELS[t.channel_id]
    breach = t.sla_next_breach
    breach_status = '"active"' if breach else "null"
    return (
        f'{{"id": {t.id}, "title": {_quote(t.title)}, "status": "{t.status}", '
        f'"priority": "{t.priority}", "direction": "{t.direction}", "from": {_quote(t.sender)}, '
        f'"from_name": {_quote(t.sender_name)}, "to": {_quote(t.to)}, '
        f'"to_name": {_quote(t.to_name)}, "created_at": {_t(t.created)}, '
        f'"last_update": {_t(t.last_update)}, "last_update_agent": {_t(t.last_update_agent)}, '
        f'"last_update_customer": {_t(t.last_update_customer)}, "closed_at": {_t(t.closed_at)}, '
        f'"assigned_group_id": {t.group_id}, "assigned_user_id": {t.user_id}, '
        f'"customer_id": {t.customer_id}, "channel_id": {t.channel_id}, '
        f'"channel_account_id": "0", "channel_name": "{channel_name}", '
        f'"channel_icon": "{channel_icon}", "brand_id": {t.brand_id}, '
        f'"brand_name": {_quote(data.brands[t.brand_id].name)}, "form_id": {_n(t.form_id)}, '
        f'"icon": "{channel_icon}", "show_timeline": 1, "external_id": null, '
        f'"external_gui_url": null, "grade_by_customer": {_n(t.grade)}, '
        f'"sla_policy_id": {_n(t.sla_policy_id)}, "sla_next_breach": {_t(breach)}, '
        f'"sla_next_breach_current_status": {breach_status}, '
        f'"sla_breach_first_reply_time": {_t(t.sla_first_reply_breach)}, '
        '"sla_breach_next_reply_time": null, "sla_breach_customer_wait_time": null, '
        '"sla_breach_user_work_time": null, "snooze_time": null, "snooze_time_sent": null}'
    )


def event_dict(e: Event) -> dict[str, Any]:
    return {
        "type": "event",
        "id": e.id,
        "ticket_id": e.ticket_id,
        "item_type": e.item_type,
        "item_type_id": e.item_type_id,
        "description": e.description,
        "initiated_by": e.initiated_by,
        "created_at": fmt(e.created),
    }


def post_dict(p: Post) -> dict[str, Any]:
    """A note, or (emulator choice, see the reference) a message with the same fields."""
    channel_name, channel_icon = ("note", "note") if p.is_note else CHANNELS[p.channel_id]
    return {
        "type": "note" if p.is_note else "message",
        "id": str(p.id),
        "ticket_id": p.ticket_id,
        "content": p.content,
        "user_id": p.user_id,
        "user_name": p.user_name,
        "user_avatar": None,
        "status_new": p.status_new,
        "pinned": 0,
        "channel_id": p.channel_id,
        "channel_name": channel_name,
        "channel_icon": channel_icon,
        "direction": p.direction,
        "from": p.sender,
        "from_name": p.sender_name,
        "to": p.to,
        "to_name": p.to_name,
        "image": None,
        "external_id": None,
        "meta_data": "[]",
        "created_at": fmt(p.created),
        "in_queue": 0,
    }


def item_body(t: Ticket, data: OmnideskData, history: bool) -> str:
    """GET item: the ticket with its timeline; events only when history is asked for."""
    # not documented: emulator choice (oldest entry first; events only with getTicketHistory)
    timeline = json.dumps(
        [
            post_dict(e) if isinstance(e, Post) else event_dict(e)
            for e in t.timeline
            if history or isinstance(e, Post)
        ]
    )
    return f'{{"type": "item", "item": {ticket_json(t, data)[:-1]}, "timeline": {timeline}}}}}'


def list_body(tickets: list[Ticket], total: int, data: OmnideskData) -> str:
    # not documented: emulator choice (list envelope, entries are tickets without timeline)
    entries = ", ".join(ticket_json(t, data) for t in tickets)
    return f'{{"type": "list", "list": [{entries}], "total": {total}}}'


def json_response(body: str | dict[str, Any], status: int = 200) -> Response:
    text = body if isinstance(body, str) else json.dumps(body)
    return Response(text, status_code=status, media_type="application/json")


def item_response(item: dict[str, Any]) -> Response:
    return json_response({"type": "item", "item": item})


def result_response(message: str) -> Response:
    return json_response({"type": "result", "message": message})


def error_response(status: int, message: str) -> Response:
    return json_response({"status": "error", "message": message}, status)


# -- request bodies ------------------------------------------------------------------------
def form_pairs(content_type: str, body: bytes) -> list[tuple[str, str]]:
    """Field pairs of a urlencoded or multipart body (file parts are skipped)."""
    if content_type.startswith("multipart/form-data"):
        return _multipart_pairs(content_type, body)
    if not body:
        return []
    return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)


def _multipart_pairs(content_type: str, body: bytes) -> list[tuple[str, str]]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser().parsebytes(head + body)
    pairs = []
    # a multipart message's payload is the list of its parts
    parts = cast("list[Message]", message.get_payload()) if message.is_multipart() else []
    for part in parts:
        name = part.get_param("name", header="content-disposition")
        if name is None or part.get_filename() is not None:
            continue
        payload = part.get_payload(decode=True)
        payload = payload if isinstance(payload, bytes) else b""
        charset = part.get_content_charset() or "utf-8"
        pairs.append((collapse_rfc2231_value(name), payload.decode(charset, "replace")))
    return pairs


def php_fields(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """PHP's reading of form keys: ``a[]`` appends to a list, ``a[0][b]`` nests dicts."""
    fields: dict[str, Any] = {}
    for key, value in pairs:
        base, _, rest = key.partition("[")
        parts = [base, *_KEY_PART.findall("[" + rest)] if rest else [base]
        _put(fields, parts, value)
    return fields


def _put(node: dict[str, Any] | list[Any], parts: list[str], value: str) -> None:
    head, tail = parts[0], parts[1:]
    if isinstance(node, list):
        if not tail:
            node.append(value)
            return
        node.append({} if tail[0] else [])
        _put(node[-1], tail, value)
        return
    if head == "":
        head = str(len(node))
    if not tail:
        node[head] = value
        return
    child = node.get(head)
    if not isinstance(child, dict | list):
        child = node[head] = [] if tail[0] == "" else {}
    _put(child, tail, value)


# -- field readers -------------------------------------------------------------------------
async def read_fields(request: Request) -> Fields:
    """Query and body fields together, body winning, as PHP's ``$_REQUEST`` reads them."""
    # not documented: emulator choice (write fields may come in the query string too)
    pairs = list(request.query_params.multi_items())
    body = await request.body()
    pairs += form_pairs(request.headers.get("content-type", ""), body)
    return php_fields(pairs)


def text(f: Fields, name: str, default: str = "") -> str:
    value = f.get(name, default)
    if not isinstance(value, str):
        raise ApiError("invalid", name)
    return value


def number(f: Fields, name: str, default: Any) -> Any:
    value = f.get(name)
    if value is None:
        return default
    if not isinstance(value, str) or not DIGITS.match(value):
        raise ApiError("invalid", name)
    return int(value)


def choice(f: Fields, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = text(f, name, default)
    if value != default and value not in allowed:
        raise ApiError("invalid", name)
    return value


def required_choice(f: Fields, name: str, allowed: tuple[str, ...]) -> str:
    if not text(f, name):
        raise ApiError("missing", name)
    return choice(f, name, allowed, "")


def id_list(f: Fields, name: str) -> list[str]:
    value = f.get(name)
    if value is None or value == [] or value == {}:
        raise ApiError("missing", f"{name}[]")
    items = list(value.values()) if isinstance(value, dict) else value
    if not isinstance(items, list) or not all(
        isinstance(i, str) and DIGITS.match(i) for i in items
    ):
        raise ApiError("invalid", f"{name}[]")
    return items
