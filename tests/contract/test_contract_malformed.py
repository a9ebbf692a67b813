"""Malformed vendor answers, per vendor: a clear one-line error, earlier rows intact, nothing deleted.

A test transport wraps each emulator's ASGI transport and rewrites one kind of page the way a
broken server would (wrong id types, missing or empty ids, the same id twice, numbers beyond
64 bits, lone surrogates, odd dates, 3 MB strings). The first sync is clean; the second, a full
refresh so that every page is read again, meets the broken pages.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from conftest import Harness, make_harness

from deskbridge.sdk.errors import DeskbridgeError, PayloadError

pytestmark = pytest.mark.asyncio
SURROGATE = "\ud800"
HUGE = "9" * 3_000_000  # 3 MB


@dataclass(frozen=True)
class Target:
    """Which answers of a vendor to break, and where its records, ids, texts and dates are."""

    match: Callable[[httpx.Request], bool]
    records: Callable[[Any], list[Any]]
    id_key: str
    text_key: str
    date_key: str
    xml: bool = False


def _seq(record: dict[str, Any], seq: str) -> dict[str, Any]:
    return record.setdefault(seq, {"DisplayName": seq, "Value": None})


TARGETS = {
    "kayako": Target(
        lambda r: "/Tickets/TicketPost/ListAll/" in r.url.params.get("e", ""),
        list,
        "id",
        "contents",
        "dateline",
        xml=True,
    ),
    "whmcs": Target(
        lambda r: r.url.params.get("action") == "GetTicket",
        lambda body: body["replies"]["reply"],
        "replyid",
        "message",
        "date",
    ),
    "m4": Target(
        lambda r: r.url.path.endswith("/Ticket/GetTickets"),
        lambda body: body,
        "ID",
        "TicketNumber",
        "TimeOpened",
    ),
    "omnidesk": Target(
        lambda r: r.url.path == "/api/v2/ticket",
        lambda body: body["list"],
        "id",
        "title",
        "last_update",
    ),
    "trackit": Target(
        lambda r: "/Notes/" in r.url.path, lambda body: body["TicketNotes"], "1", "5", "7"
    ),
}
# Each malformation: what it does to the last record of a page (JSON value, XML text).
BREAKS: dict[str, tuple[str, Any, Any]] = {
    "wrong_type": ("id", {"id": 7}, "seven"),
    "missing_id": ("id", None, None),
    "empty_id": ("id", "", ""),
    "bool_id": ("id", True, "true"),
    "beyond_64_bits": ("id", 2**64 + 5, str(2**64 + 5)),
    "negative_id": ("id", -4, "-4"),
    "huge_id": ("id", HUGE, HUGE),
    "lone_surrogate": ("text", SURROGATE + " broken", SURROGATE),
    "odd_date": ("date", "31/02/2026 25:61", "yesterday"),
    "duplicate_id": ("duplicate", None, None),
}


class Mangling(httpx.AsyncBaseTransport):
    """The emulator's transport, with the answers ``target`` matches rewritten by ``mangle``."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, target: Target, mangle: Callable[[bytes], bytes]
    ) -> None:
        self.inner, self.target, self.mangle = inner, target, mangle
        self.active, self.mangled = False, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        if self.active and response.status_code == 200 and self.target.match(request):
            new = self.mangle(body)
            self.mangled += new != body
            body = new
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        return httpx.Response(response.status_code, headers=headers, content=body, request=request)


def break_json(target: Target, how: str) -> Callable[[bytes], bytes]:
    kind, value, _ = BREAKS[how]

    def mangle(body: bytes) -> bytes:
        doc = json.loads(body)
        records = target.records(doc)
        if not records:
            return body
        last = records[-1]
        if kind == "duplicate":
            records.append(copy.deepcopy(last))
        else:
            key = {"id": target.id_key, "text": target.text_key, "date": target.date_key}[kind]
            holder, field = (_seq(last, key), "Value") if target.id_key == "1" else (last, key)
            if how == "missing_id" and target.id_key == "1":
                last.pop(key, None)
            elif how == "missing_id":
                holder.pop(field, None)
            else:
                holder[field] = value
        return json.dumps(doc).encode()  # ensure_ascii: a lone surrogate travels as \\ud800

    return mangle


def break_xml(target: Target, how: str) -> Callable[[bytes], bytes]:
    kind, _, value = BREAKS[how]

    def mangle(body: bytes) -> bytes:
        root = ElementTree.fromstring(body)
        if not len(root):
            return body
        last = root[-1]
        if kind == "duplicate":
            root.append(copy.deepcopy(last))
            return ElementTree.tostring(root)
        key = {"id": target.id_key, "text": target.text_key, "date": target.date_key}[kind]
        child = last.find(key)
        if how == "missing_id" and child is not None:
            last.remove(child)
        elif child is not None:
            child.text = "SURROGATE" if value == SURROGATE else value
        return ElementTree.tostring(root).replace(b"SURROGATE", b"&#xD800;")

    return mangle


def broken(tmp_path: Path, vendor: str, how: str) -> tuple[Harness, Mangling]:
    h = make_harness(vendor, tmp_path, tickets=24)
    target = TARGETS[vendor]
    mangle = (break_xml if target.xml else break_json)(target, how)
    h.transport = Mangling(h.transport, target, mangle)
    return h, h.transport


def live_and_deleted(h: Harness) -> dict[str, tuple[int, int]]:
    out = {}
    for entity in ("tickets", "notes", "time_entries", "people", "attachments"):
        row = h.wh.con.execute(
            f"SELECT count(*) FILTER (deleted_at IS NULL), count(*) FILTER (deleted_at IS NOT NULL) FROM {entity}"
        ).fetchone()
        out[entity] = (int(row[0]), int(row[1]))  # type: ignore[index]
    return out


@pytest.mark.parametrize("how", list(BREAKS))
@pytest.mark.parametrize("vendor", list(TARGETS))
async def test_malformed_page_fails_clearly_and_keeps_rows(
    tmp_path: Path, vendor: str, how: str
) -> None:
    """A broken page fails the run with one short line naming the vendor; no row is lost or invented."""
    h, transport = broken(tmp_path, vendor, how)
    try:
        await h.sync()
        h.assert_truth()
        before = live_and_deleted(h)
        transport.active = True
        with pytest.raises(DeskbridgeError) as info:
            await h.sync(full_refresh=True)
        message = str(info.value)
        assert transport.mangled, "the test broke no page"
        assert isinstance(info.value, PayloadError), message[:300]
        assert vendor in message and "\n" not in message and len(message) < 400, message[:400]
        run = h.runs()[-1]
        assert run[1] == "failed" and run[4].endswith(message)
        assert live_and_deleted(h) == before
        h.assert_truth()
    finally:
        h.wh.close()


async def test_kayako_staff_with_empty_values_deletes_no_staff(tmp_path: Path) -> None:
    """A staff list whose ids came back empty fails the run; the real staff stay live."""
    h = make_harness("kayako", tmp_path, tickets=12)
    target = Target(
        lambda r: r.url.params.get("e") == "/Base/Staff", list, "id", "fullname", "id", xml=True
    )

    def empty(body: bytes) -> bytes:
        root = ElementTree.fromstring(body)
        for staff in root:
            for child in staff:
                child.text = ""
        return ElementTree.tostring(root)

    h.transport = transport = Mangling(h.transport, target, empty)
    try:
        await h.sync()
        staff = h.wh.con.execute(
            "SELECT count(*) FROM people WHERE kind = 'staff' AND deleted_at IS NULL"
        ).fetchone()
        transport.active = True
        with pytest.raises(
            PayloadError, match=r"kayako /Base/Staff: record 0 of \d+: id is missing"
        ):
            await h.sync()
        assert (
            h.wh.con.execute(
                "SELECT count(*) FROM people WHERE kind = 'staff' AND deleted_at IS NULL"
            ).fetchone()
            == staff
        )
        assert h.wh.con.execute(
            "SELECT count(*) FROM people WHERE source_id = 'staff:'"
        ).fetchone() == (0,)
        h.assert_truth()
    finally:
        h.wh.close()


class Echoing(httpx.AsyncBaseTransport):
    """Once active, every answer is a 500 page echoing the request's URL, headers and body, as
    some vendors' error pages do; it remembers each credential value it echoed."""

    NAMES = (
        "apikey",
        "salt",
        "signature",
        "identifier",
        "secret",
        "password",
        "accesskey",
        "username",
        "token",
    )

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.active, self.echoed = inner, False, set[str]()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.active or request.url.path.endswith(
            "/oauth/token"
        ):  # Keliweb mints its token first
            return await self.inner.handle_async_request(request)
        body = request.content.decode()
        fields = [*request.url.params.multi_items(), *httpx.QueryParams(body).multi_items()]
        self.echoed.update(v for k, v in fields if k.lower() in self.NAMES)
        auth = request.headers.get("authorization", "")
        self.echoed.update(p for p in (auth, auth.partition(" ")[2]) if p)
        headers = "; ".join(f"{k}: {v}" for k, v in request.headers.items())
        page = f"Internal error at {request.url} (body {body}; headers {headers})"
        return httpx.Response(500, text=page, request=request)


@pytest.mark.parametrize("vendor", [*TARGETS, "keliweb"])
async def test_echoed_request_leaks_no_credential(
    tmp_path: Path, vendor: str, log_capture: Any
) -> None:
    """An error page echoing the request: no credential, per request or not, reaches the run
    record, the console line, the JSON log or the warehouse file."""
    from io import StringIO

    from rich.console import Console

    from deskbridge.cli.sync import sync_with_progress
    from deskbridge.testing import secret_hits

    options = {"flavor": "keliweb", "ticket_ids": [1, 2, 3]} if vendor == "keliweb" else {}
    h = make_harness(
        "whmcs" if vendor == "keliweb" else vendor, tmp_path, tickets=12, options=options
    )
    h.transport = echo = Echoing(h.transport)
    try:
        await h.sync()
        echo.active = True
        out = StringIO()
        console = Console(file=out, width=400)
        assert await sync_with_progress(h.wh, h.config, True, console, transport=echo) is None
        secrets = sorted(s for s in echo.echoed if len(s) >= 6)
        assert secrets, "the vendor's requests carried no credential"
        run_error = h.runs()[-1][4]
        assert "Internal error at" in run_error and "500" in out.getvalue()
        places = {
            "sync_runs.error": run_error,
            "console": out.getvalue(),
            "log": log_capture.getvalue(),
        }
        assert {where: [s[:6] for s in secrets if s in text] for where, text in places.items()} == {
            where: [] for where in places
        }
        h.wh.con.execute("CHECKPOINT")
        assert secret_hits(h.wh.path, secrets) == []
    finally:
        h.wh.close()
