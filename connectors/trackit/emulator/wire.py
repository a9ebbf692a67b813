"""Track-It! WebApi bodies: JSON as ASP.NET Web API writes it, error shapes, pages, field maps."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .fields import WriteError

JSON = "application/json; charset=utf-8"

# not documented: emulator choice (every shape below; ASP.NET Web API / OWIN defaults).
SINGLE_ROOT, ADDNOTE_NOTE_KEY, CLOSE_NOTE_KEY = "Ticket", "TicketNote", "Note"
DENIED = {"Message": "Authorization has been denied for this request."}
NOT_FOUND = {"Message": "Ticket not found."}  # also for unknown note ids
ATTACHMENT_NOT_FOUND = {"Message": "Attachment not found."}
MODULE_NOT_FOUND = {"Message": "Module not found."}
BAD_LOGIN = {
    "error": "invalid_grant",
    "error_description": "The user name or password is incorrect.",
}
BAD_REFRESH = {"error": "invalid_grant"}
BAD_GRANT_TYPE = {"error": "unsupported_grant_type"}
BAD_GROUPS_LOGIN = {"Message": "The user name or password is incorrect."}
NO_ROUTE = "No HTTP resource was found that matches the request URI '{0}'."
NO_METHOD = "The requested resource does not support http method '{0}'."
LOGOUT_BODY = {"success": True}
GROUP_LAST_MODIFIED = "2026-01-02T08:00:00.0000000Z"
NO_CACHE = {"Cache-Control": "no-cache"}


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Compact UTF-8 JSON, non-ASCII kept, as the Web API formatter writes it."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, status, headers=headers, media_type=JSON)


def int_param(text: str) -> int | None:
    """The integer of a path or query value, or None when it is not one."""
    digits = text.removeprefix("-")
    return int(text) if digits.isdigit() else None


def page_of(items: list[Any], size: int, page: int) -> list[Any]:
    # not documented: emulator choice (pages are 1-based; zero or less in either segment = all).
    if size <= 0 or page <= 0:
        return items
    return items[(page - 1) * size : page * size]


def seq_map(values: dict[int, Any], names: dict[int, str]) -> dict[str, Any]:
    return {
        str(seq): {"DisplayName": names[seq], "Value": value}
        for seq, value in values.items()
        if value is not None
    }


async def json_body(request: Request) -> Any:
    """The parsed JSON body (None when empty); malformed JSON is a 400 ``invalid_request``."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise WriteError("invalid_request") from None
