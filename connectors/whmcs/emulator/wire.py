"""WHMCS API response types: JSON, XML (``<whmcsapi>``) and NVP (``key=value;``).

WHMCS picks the type from ``responsetype``. Without one, structured actions (lists and
nested records) answer XML and the others NVP; GetAdminUsers always answers JSON. An unknown
type, or NVP on a structured action, is refused with ``result=error``, rendered in the
type that was asked for (so as NVP). Errors raised before the type is settled (refused IP,
refused credentials) are rendered in the raw type asked for: JSON, XML, else NVP.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from .store import Body

JSON, XML, NVP = "json", "xml", "nvp"
SUPPORTED = (JSON, XML, NVP)
# the server's list of actions whose answers are too nested for NVP
STRUCTURED = frozenset(
    (
        "domaingetwhoisinfo",
        "getactivitylog",
        "getaffiliates",
        "getannouncements",
        "getcancelledpackages",
        "getclientgroups",
        "getclients",
        "getclientsaddons",
        "getclientsdomains",
        "getclientsproducts",
        "getcontacts",
        "getcredits",
        "getcurrencies",
        "getemails",
        "getemailtemplates",
        "getinvoice",
        "getinvoices",
        "getmodulequeue",
        "getorders",
        "getorderstatuses",
        "getpaymentmethods",
        "getproducts",
        "getproject",
        "getprojects",
        "getpromotions",
        "getquotes",
        "getstaffonline",
        "getsupportdepartments",
        "getsupportstatuses",
        "getticket",
        "getticketnotes",
        "getticketpredefinedcats",
        "getticketpredefinedreplies",
        "gettickets",
        "gettodoitems",
        "gettodoitemstatuses",
        "gettransactions",
        "orderfraudcheck",
    )
)
JSON_ONLY = frozenset(("getadminusers",))
NVP_REFUSED = "This API action only supports the XML or JSON response type formats"
# not documented: emulator choice (the version a successful XML answer names; the emulator
# serves 8.x fields such as requestor_*)
VERSION = "8.0.0"
_SPECIAL = str.maketrans("", "", '&<>"')


def resolve(action: str, asked: str) -> tuple[str, str | None]:
    """The response type for a (normalised) action, and the refusal message if any."""
    wanted = asked.lower()
    if action in JSON_ONLY:
        return JSON, None
    if not wanted:
        return (XML if action in STRUCTURED else NVP), None
    if wanted not in SUPPORTED:
        message = f'Unsupported API response type format "{asked}". Supported formats include: '
        return wanted, message + ", ".join(SUPPORTED)
    if wanted == NVP and action in STRUCTURED:
        return wanted, NVP_REFUSED
    return wanted, None


def render(kind: str, action: str, body: Body, status: int = 200) -> Response:
    """One answer in the given type; anything but json and xml goes out as NVP text."""
    if kind == JSON:
        # not documented: emulator choice (PHP-style compact JSON)
        text, media = json.dumps(body, separators=(",", ":")), "application/json"
    elif kind == XML:
        text, media = xml(action, body), "application/xml; charset=utf-8"
    else:
        text = ";".join(f"{k}={_scalar(v)}" for k, v in body.items())
        media = "text/plain; charset=utf-8"
    return Response(text, status, headers={"content-type": media})


def xml(action: str, body: Body) -> str:
    """``<whmcsapi>`` with the action first; a list repeats its parent's tag per item."""
    version = "" if body.get("result") == "error" else VERSION
    inner = _convert({"action": action, **body}, "", False).strip()
    head = ('<?xml version="1.0" encoding="utf-8"?>', f'<whmcsapi version="{version}">')
    return "\n".join((*head, inner, "</whmcsapi>"))


def _convert(value: dict[Any, Any] | list[Any], parent: str, opened: bool) -> str:
    """WHMCS's array walk: ``opened`` says whether ``parent``'s tag is already written."""
    out: list[str] = []
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, v in items:
        numeric = isinstance(key, int) or key.isdigit()  # PHP's is_numeric on an array key
        if isinstance(v, dict | list):
            if not v:
                continue
            if not parent:
                out.append(f"<{key}>\n{_convert(v, key, True)}</{key}>\n")
            else:
                child = parent if numeric else key
                wrap = not opened
                inner = _convert(v, child, numeric and wrap)
                out.append(f"<{parent}>\n{inner}</{parent}>\n" if wrap else inner)
            continue
        text = _scalar(v)
        if "<![CDATA[" not in text and text.translate(_SPECIAL) != text:
            text = f"<![CDATA[{text}]]>"
        name = parent if numeric else key
        out.append(f"<{name}>{text}</{name}>\n")
    return "".join(out)


def _scalar(value: Any) -> str:
    """A value as PHP prints it: true is 1, false and null are empty, arrays are ``Array``."""
    if value is True:
        return "1"
    if value is False or value is None:
        return ""
    if isinstance(value, dict | list):
        return "Array"
    return str(value)
