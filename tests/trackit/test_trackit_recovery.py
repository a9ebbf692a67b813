"""Track-It!'s recovery key: the creating request itself carries the marker, in ``recovery_field``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from trackit_helpers import emu_of, trackit

from deskbridge.pull import engine
from deskbridge.sdk.contract import WriteContext, WriteOp
from deskbridge_connectors.trackit.connector import TrackitConnector, TrackitOptions

MARKER = "[deskbridge:0a1b2c3d:a2b:0123456789ab]"
PAYLOAD = {
    "subject": "Scanner jams",
    "status_category": "open",
    "body": f"Synced from kayako ticket 7. {MARKER}",
}


class Recording(httpx.AsyncBaseTransport):
    """The emulator's transport, keeping the body of every ``POST /tickets``."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.creates = inner, []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.lower().endswith("/tickets"):
            self.creates.append(json.loads(await request.aread()))
        return await self.inner.handle_async_request(request)


async def create(
    tmp_path: Path, rename: str | None = None, **options: Any
) -> tuple[Any, dict[str, Any], str]:
    """One CREATE_TICKET with a marker; the emulator, the POST /tickets body and the new id."""
    h = trackit(tmp_path, tickets=3, **options)
    if rename:
        emu_of(h).rename_field(90, rename)
    wire = Recording(h.transport)
    try:
        built = engine.build_connector(h.config, wire)
        assert isinstance(built, TrackitConnector)
        async with built:
            new_id = await built.write(WriteOp.CREATE_TICKET, None, PAYLOAD, WriteContext(MARKER))
        assert new_id is not None and len(wire.creates) == 1
        await h.sync()
        raw = h.wh.con.execute("SELECT raw FROM tickets WHERE source_id = ?", [new_id]).fetchone()
        return emu_of(h), {"body": wire.creates[0], "raw": json.loads(raw[0])}, new_id
    finally:
        h.wh.close()


@pytest.mark.asyncio
async def test_the_creating_request_carries_the_marker_in_custom_text_6(tmp_path: Path) -> None:
    """POST /tickets sends the marker as Custom Text 6; the server keeps it and the pull reads it back."""
    emu, seen, new_id = await create(tmp_path)
    assert seen["body"] == {
        "Properties": {"Ticket Summary": "Scanner jams", "Status": "Open", "Custom Text 6": MARKER},
        "OptionalParams": {},
    }
    ticket = emu.store.tickets[int(new_id)]
    assert (ticket.own or {}).get(90) == MARKER
    assert [n.body for n in ticket.notes] == [PAYLOAD["body"]]  # the description keeps it too
    assert seen["raw"]["90"] == MARKER


@pytest.mark.asyncio
async def test_a_renamed_recovery_field_is_written_by_its_current_name(tmp_path: Path) -> None:
    """The option names the field by its sequence's default name; the request uses the installation's name."""
    emu, seen, new_id = await create(tmp_path, rename="Migration Key")
    assert seen["body"]["Properties"]["Migration Key"] == MARKER
    assert "Custom Text 6" not in seen["body"]["Properties"]
    assert (emu.store.tickets[int(new_id)].own or {}).get(90) == MARKER


@pytest.mark.asyncio
async def test_an_empty_recovery_field_leaves_the_marker_out(tmp_path: Path) -> None:
    """``recovery_field = ""``: the request carries only the mapped fields; the description still has the marker."""
    emu, seen, new_id = await create(tmp_path, recovery_field="")
    assert seen["body"] == {
        "Properties": {"Ticket Summary": "Scanner jams", "Status": "Open"},
        "OptionalParams": {},
    }
    ticket = emu.store.tickets[int(new_id)]
    assert 90 not in (ticket.own or {}) and "90" not in seen["raw"]
    assert [n.body for n in ticket.notes] == [PAYLOAD["body"]]


def test_recovery_field_must_be_a_free_updatable_field() -> None:
    """A sequence number works; an unknown, read-only or mapped field is refused with what to pick."""
    assert TrackitOptions(recovery_field="85").recovery_seq == 85
    assert TrackitOptions(recovery_field="custom text 5").recovery_seq == 89
    assert TrackitOptions(recovery_field="").recovery_seq is None
    for value, reason in (
        ("Custom Text 9", "no Track-It ticket field is named"),
        ("Ticket ID", "read-only"),
        ("Ticket Summary", "carries 'subject'"),
    ):
        with pytest.raises(ValidationError, match=reason):
            TrackitOptions(recovery_field=value)
