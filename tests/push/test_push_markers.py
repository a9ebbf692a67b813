"""Markers belong to one link: another link's marker, or a quoted one, is ordinary content."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from pushkit import EAGER, FAST, make_pair

from deskbridge.config import LinkConfig, Settings
from deskbridge.push.markers import marker_for, own_marker
from deskbridge.push.migrate import migrate, migration_link
from deskbridge.push.run import run_link
from deskbridge.sandbox import build_emulator, sandbox_connection
from deskbridge.sdk.contract import WriteOp
from deskbridge.sdk.emulator import Emulator
from deskbridge.warehouse.store import Warehouse


def chain(
    tmp_path: Path, *vendors: tuple[str, str, int], **links: dict[str, Any]
) -> tuple[dict[str, Emulator], Settings, Warehouse]:
    """Sandboxes named as given, and one-way links between them (``links``: name -> LinkConfig fields)."""
    emulators, connections = {}, {}
    for n, (name, vendor, tickets) in enumerate(vendors):
        emulators[name] = build_emulator(vendor, tickets=tickets, seed=7 + n)
        connections[name] = sandbox_connection(
            emulators[name], "http://testserver", name=name, options=EAGER.get(vendor, {}), **FAST
        )
    configs = {
        n: LinkConfig.model_validate({"name": n, "direction": "a_to_b", **body})
        for n, body in links.items()
    }
    return (
        emulators,
        Settings(connections=connections, links=configs),
        Warehouse(tmp_path / "chain.duckdb"),
    )


def test_marker_names_link_and_direction() -> None:
    """A marker carries its link's digest and direction; only the link's own marker, at the end, is its write."""
    mine = marker_for("pair", "notes", "a", "reply:7")
    theirs = marker_for("other", "notes", "a", "reply:7")
    assert mine.startswith("[deskbridge:") and ":a2b:" in mine and mine != theirs
    assert own_marker(f"Fixed.\n\n— Jane, 2026-01-01 10:00 UTC {mine}\n", "pair") == mine
    assert own_marker(f"<p>Fixed. {mine}</p>", "pair") == mine
    assert own_marker(f"Fixed. {theirs}", "pair") is None  # another link's: content
    assert (
        own_marker(f"> Fixed. {mine}\n\nThanks, that worked", "pair") is None
    )  # quoted, then written on
    old = "[deskbridge:0123456789ab]"  # written before markers named their link
    assert own_marker(f"Fixed. {old}", "pair", {old}) == old  # this link's crosswalk holds it
    assert own_marker(f"Fixed. {old}", "pair", set()) is None


async def test_chain_of_two_migrations_moves_everything(tmp_path: Path) -> None:
    """Kayako -> WHMCS, then WHMCS -> Omnidesk: every WHMCS ticket arrives, those the first migration made too."""
    emulators, settings, wh = chain(
        tmp_path,
        ("kayako", "kayako", 16),
        ("whmcs", "whmcs", 4),
        ("omni", "omnidesk", 2),
        k2w={
            "a": "kayako",
            "b": "whmcs",
            "author": {"b": "admin:1"},
            "defaults": {"b": {"department": "Technical Support"}},
        },
        w2o={"a": "whmcs", "b": "omni", "author": {"b": "staff:1"}},
    )
    transport = lambda name: httpx.ASGITransport(app=emulators[name].app)  # noqa: E731
    try:
        first = migration_link(settings, "kayako", "whmcs", None)
        result, _ = await migrate(wh, settings, first, transport_for=transport)
        assert result.failures == [], result.failures[:3]
        whmcs = emulators["whmcs"].ground_truth()
        assert len(whmcs["tickets"]) == 20
        second = migration_link(settings, "whmcs", "omni", None)
        result, report = await migrate(wh, settings, second, transport_for=transport)
        assert result.failures == [], result.failures[:3]
        twins = dict(
            wh.con.execute(
                "SELECT a_id, b_id FROM crosswalk WHERE link = ? AND entity = 'tickets' "
                "AND state = 'linked'",
                [second.name],
            ).fetchall()
        )
        assert set(twins) == set(whmcs["tickets"])
        omni = emulators["omni"].ground_truth()
        assert sorted(omni["tickets"][twins[t]]["subject"] for t in twins) == sorted(
            t["subject"] for t in whmcs["tickets"].values()
        )
        notes = dict(
            wh.con.execute(
                "SELECT a_id, b_id FROM crosswalk WHERE link = ? AND entity = 'notes' "
                "AND state = 'linked'",
                [second.name],
            ).fetchall()
        )
        opening = {
            f"message:{t}" for t in whmcs["tickets"]
        }  # the opening message is the new ticket's body
        assert set(notes) | opening == set(whmcs["notes"])
        for (
            a_id,
            b_id,
        ) in notes.items():  # each copy carries the WHMCS text, first migration's marker and all
            assert omni["notes"][b_id]["body"].startswith(whmcs["notes"][a_id]["body"] + "\n\n— ")
        written = {
            a
            for a, n in whmcs["notes"].items()
            if own_marker(n["body"], "k2w") and not a.startswith("message:")
        }
        assert len(written) > 40 and written <= set(
            notes
        )  # every reply and note the first migration wrote moved on
        assert report.rows["tickets"]["migrated"] == 20
        again, _ = await migrate(wh, settings, second, transport_for=transport)
        assert again.actions == []
    finally:
        wh.close()


async def test_quoted_marker_on_two_way_link_is_pushed(tmp_path: Path) -> None:
    """A customer reply quoting deskbridge's copy of a reply is pushed; the copy itself is never echoed."""
    pair = make_pair(
        tmp_path,
        ("whmcs", 3),
        ("whmcs", 2),
        author={"a": "admin:1", "b": "admin:1"},
        fields=["subject"],
        defaults={s: {"department": "Technical Support"} for s in ("a", "b")},
    )
    try:
        assert (await pair.cycle()).failures == []
        assert (await pair.cycle()).actions == []
        a_id, b_id = pair.wh.con.execute(
            "SELECT a_id, b_id FROM crosswalk WHERE link = 'pair' AND entity = 'tickets' AND origin = 'a' ORDER BY a_id LIMIT 1"
        ).fetchone()  # type: ignore[misc]
        await pair.write(
            "a_side",
            WriteOp.ADD_NOTE,
            a_id,
            {"kind": "reply", "body": "Reboot the router.", "author_id": "admin:1"},
        )
        assert [a.kind for a in (await pair.cycle()).actions] == ["add_note"]
        assert (
            await pair.cycle()
        ).actions == []  # the copy, pulled from b, is the link's own write
        (copy,) = pair.wh.con.execute(
            "SELECT body FROM notes WHERE connection = 'b_side' AND ticket_id = ? AND body LIKE 'Reboot the router.%'",
            [b_id],
        ).fetchone()  # type: ignore[misc]
        quoted = "That worked, thanks!\n\n> " + copy.replace("\n", "\n> ")
        client = pair.wh.con.execute(
            "SELECT requester_id FROM tickets WHERE connection = 'b_side' AND source_id = ?", [b_id]
        ).fetchone()[0]  # type: ignore[index]
        reply = await pair.write(
            "b_side",
            WriteOp.ADD_NOTE,
            b_id,
            {"kind": "reply", "body": quoted, "author_id": client, "author_name": "Customer"},
        )
        result = await pair.cycle()
        assert result.failures == []
        assert [(a.kind, a.origin_id) for a in result.actions] == [("add_note", reply)]
        truth = pair.emulators["a_side"].ground_truth()["notes"]
        landed = [n for n in truth.values() if n["body"].startswith("That worked, thanks!")]
        assert len(landed) == 1 and copy.rstrip() in landed[0]["body"].replace("\n> ", "\n")
        again = await pair.cycle()
        assert again.actions == []  # the copy on a carries the link's own marker: never echoed back
    finally:
        pair.wh.close()


class LoseFirstCreate(httpx.AsyncBaseTransport):
    """Track-It's transport; the server applies the first ``POST /tickets`` but its answer never arrives."""

    def __init__(self, emulator: Emulator) -> None:
        self.inner, self.lost = httpx.ASGITransport(app=emulator.app), 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if (
            request.method == "POST"
            and request.url.path.lower().endswith("/tickets")
            and not self.lost
        ):
            self.lost = 1
            await response.aread()
            raise httpx.ReadError(
                "connection reset after the vendor applied the request", request=request
            )
        return response


async def test_trackit_create_whose_answer_was_lost_is_resumed_and_never_echoed(
    tmp_path: Path,
) -> None:
    """Kayako <-> Track-It: the ticket found by the marker in its recovery field is resumed, and not pushed back."""
    pair = make_pair(
        tmp_path, ("kayako", 3), ("trackit", 2), author={"a": "staff:1"}, entities=["tickets"]
    )
    kayako, trackit = (
        len(pair.emulators[s].ground_truth()["tickets"]) for s in ("a_side", "b_side")
    )
    lossy = LoseFirstCreate(pair.emulators["b_side"])
    try:
        try:
            to = {"a_side": pair.transport("a_side"), "b_side": lossy}
            await run_link(pair.wh, pair.settings, pair.link, transport_for=to.__getitem__)
        except Exception:
            pass
        assert lossy.lost == 1
        for _ in range(3):
            if not (await pair.cycle()).actions:
                break
        assert (await pair.cycle()).actions == []
        truth = pair.emulators["b_side"].ground_truth()
        assert (
            len(truth["tickets"]) == trackit + kayako
        )  # each Kayako ticket once, the lost create included
        described = [
            n["ticket_id"]
            for n in truth["notes"].values()
            if n["body"].startswith("Synced from kayako")
        ]
        assert (
            len(described) == len(set(described)) == kayako
        )  # its description was added on resume
        assert (
            len(pair.emulators["a_side"].ground_truth()["tickets"]) == kayako + trackit
        )  # no copy came back
        states = pair.wh.con.execute(
            "SELECT state, count(*) FROM crosswalk WHERE entity = 'tickets' GROUP BY 1"
        ).fetchall()
        assert states == [("linked", kayako + trackit)]
    finally:
        pair.wh.close()
