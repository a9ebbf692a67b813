"""The Keliweb flavour: OAuth2 password grant with refresh, get-ticket by known ids, two writes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Harness, make_harness

from deskbridge.pull.engine import build_connector
from deskbridge.sdk.contract import WriteOp
from deskbridge.sdk.errors import AuthError
from deskbridge.testing import Truth, assert_matches_truth, duplicate_keys

TOKEN, GET = "/oauth/token", "/api/v2/keliweb/get-ticket"


class ExpireEvery(httpx.AsyncBaseTransport):
    """Expires every access token the emulator issued before each ``every``-th API request."""

    def __init__(self, inner: httpx.AsyncBaseTransport, emulator: Any, every: int) -> None:
        self.inner, self.emulator, self.every, self.n = inner, emulator, every, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != TOKEN:
            self.n += 1
            if self.n % self.every == 0:
                tokens = self.emulator.tokens
                tokens.access = dict.fromkeys(tokens.access, 0.0)
        return await self.inner.handle_async_request(request)


RESELLER = 1  # the emulator's Keliweb login is client 1


def keliweb(tmp_path: Path, ticket_ids: list[int], **settings: Any) -> Harness:
    return make_harness(
        "whmcs",
        tmp_path,
        tickets=80,
        options={"flavor": "keliweb", "ticket_ids": ticket_ids},
        **settings,
    )


def follow(h: Harness, ticket_ids: list[int]) -> None:
    h.config = h.config.model_copy(
        update={"options": {"flavor": "keliweb", "ticket_ids": ticket_ids}}
    )


def own_ids(h: Harness) -> list[int]:
    return sorted(t.id for t in h.emulator.store.tickets.values() if t.userid == RESELLER)


def visible_truth(h: Harness, ids: list[int]) -> Truth:
    """The emulator's truth cut down to what the reseller can see: its tickets and their people."""
    truth, store, keep = h.emulator.ground_truth(), h.emulator.store, {str(i) for i in ids}
    people = set()
    for t in (store.tickets[i] for i in ids if i in store.tickets):
        people.add(f"client:{t.userid}" if t.userid else f"guest:{t.email.lower()}")
        for r in (store.replies[rid] for rid in t.replies if not store.replies[rid].admin):
            people.add(f"client:{r.userid}" if r.userid else f"guest:{r.email.lower()}")
    return {
        "tickets": {k: v for k, v in truth["tickets"].items() if k in keep},
        "notes": {k: v for k, v in truth["notes"].items() if v["ticket_id"] in keep},
        "time_entries": {},
        "people": {k: truth["people"][k] for k in people},
    }


def assert_visible(h: Harness, ids: list[int]) -> None:
    assert_matches_truth(h.wh.con, h.config.name, visible_truth(h, ids))
    assert duplicate_keys(h.wh.con) == {}


async def write(
    h: Harness, op: WriteOp, ticket_id: str | None, payload: dict[str, Any]
) -> str | None:
    async with build_connector(h.config, h.transport) as connector:
        return await connector.write(op, ticket_id, payload)


async def test_pull_reads_each_known_id_once(tmp_path: Path) -> None:
    """One token, one get-ticket per configured id; another client's ticket is simply not visible."""
    h = keliweb(tmp_path, [])
    other = next(t.id for t in h.emulator.store.tickets.values() if t.userid != RESELLER)
    ids = own_ids(h)
    follow(h, [*ids, other])
    result = await h.sync()
    assert_visible(h, ids)
    assert (h.emulator.requests[TOKEN], h.emulator.requests[GET]) == (1, len(ids) + 1)
    assert result.requests == {"incremental": len(ids) + 2}
    h.wh.close()


async def test_pulled_tickets_stay_followed_until_gone(tmp_path: Path) -> None:
    """Tickets already in the warehouse are re-read without being configured; a deleted one is marked."""
    h = keliweb(tmp_path, [])
    ids = own_ids(h)
    follow(h, ids)
    await h.sync()
    follow(h, [])
    store = h.emulator.store
    store.add_note(store.tickets[ids[0]], "Ops Bot", 1_790_000_000, "Quiet note")
    store.delete_ticket(store.tickets[ids[-1]])
    h.emulator.reset_counts()
    await h.sync()
    assert_visible(h, ids[:-1])
    assert h.emulator.requests[GET] == len(ids)
    assert h.wh.con.execute(
        "SELECT deleted_at IS NOT NULL FROM tickets WHERE source_id = ?", [str(ids[-1])]
    ).fetchone() == (True,)
    h.wh.close()


async def test_token_expiry_mid_run_is_refreshed_transparently(tmp_path: Path) -> None:
    """Access tokens that expire during a run are refreshed on the 401; the run never notices."""
    h = keliweb(tmp_path, [], concurrency=1)
    ids = own_ids(h)
    follow(h, ids)
    h.transport = ExpireEvery(
        h.transport, h.emulator, every=4
    )  # tokens die mid-run, whatever the machine's speed
    await h.sync()
    await h.sync()
    assert_visible(h, ids)
    assert h.emulator.requests[TOKEN] >= 3  # a password grant per run, and refreshes
    assert h.emulator.tokens.issued == h.emulator.requests[TOKEN]  # every token request succeeded
    assert len(h.emulator.tokens.refresh) < h.emulator.tokens.issued  # refresh grants redeemed some
    assert [r[1] for r in h.runs()] == ["success", "success"]
    h.wh.close()


async def test_concurrent_401s_cost_one_refresh(tmp_path: Path) -> None:
    """Many requests out when the token dies: one refresh grant serves them all."""
    h = keliweb(tmp_path, [])
    ids = [str(i) for i in own_ids(h)] * 4
    async with build_connector(h.config, h.transport) as connector:
        await connector.client.ticket(ids[0])  # type: ignore[attr-defined]
        h.emulator.tokens.access = dict.fromkeys(h.emulator.tokens.access, 0.0)
        h.emulator.knobs.latency_ms = 20  # keeps the requests out together
        found = await asyncio.gather(*(connector.client.ticket(i) for i in ids))  # type: ignore[attr-defined]
    assert all(found) and h.emulator.requests[TOKEN] == 2
    assert len(h.emulator.tokens.refresh) == 1  # the first refresh token was redeemed
    h.wh.close()


@pytest.mark.parametrize("fault", ["500", "html200", "malformed"])
async def test_transient_faults_on_token_and_calls_are_retried(tmp_path: Path, fault: str) -> None:
    """A bad answer to the token request, then to a get-ticket, is retried; the pull completes."""
    h = keliweb(tmp_path, [])
    follow(h, own_ids(h))
    h.emulator.inject(fault, 1)
    await h.sync()
    h.emulator.inject(fault, 1)
    await h.sync()
    assert_visible(h, own_ids(h))
    h.wh.close()


async def test_bad_password_is_an_auth_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused password grant fails the run with Passport's message."""
    h = keliweb(tmp_path, [1])
    monkeypatch.setenv(
        h.config.credentials["keliweb_password"].removeprefix("env:"), "not-the-password"
    )
    with pytest.raises(
        AuthError, match="the password grant was refused: The user credentials were incorrect"
    ):
        await h.sync()
    h.wh.close()


async def test_open_ticket_and_reply_then_pull(tmp_path: Path) -> None:
    """open-ticket and add-ticket-reply act as the reseller; the new ticket pulls back once followed."""
    h = keliweb(tmp_path, [])
    payload = {
        "subject": "Domain transfer",
        "body": "Please move it",
        "department_id": "4",
        "priority": "high",
    }
    created = await write(h, WriteOp.CREATE_TICKET, None, payload)
    t = h.emulator.store.tickets[int(created)]  # type: ignore[arg-type]
    assert (t.userid, t.deptid, t.priority, t.subject) == (RESELLER, 4, "High", "Domain transfer")
    reply = await write(h, WriteOp.ADD_NOTE, created, {"kind": "reply", "body": "Any news?"})
    assert reply == f"reply:{t.replies[-1]}"
    follow(h, [int(created)])  # type: ignore[arg-type]
    await h.sync()
    assert_visible(h, [t.id])
    row = h.wh.con.execute(
        "SELECT author_id, body FROM notes WHERE source_id = ?", [reply]
    ).fetchone()
    assert row == (f"client:{RESELLER}", "Any news?")
    h.wh.close()


@pytest.mark.parametrize(
    ("op", "payload"),
    [
        (WriteOp.ADD_NOTE, {"kind": "note", "body": "x"}),
        (WriteOp.DELETE_TICKET, {}),
        (WriteOp.CHANGE_STATUS, {"status": "Closed"}),
    ],
)
async def test_writes_keliweb_lacks_are_refused(
    tmp_path: Path, op: WriteOp, payload: dict[str, Any]
) -> None:
    """Keliweb documents open-ticket and add-ticket-reply only; anything else is refused unsent."""
    h = keliweb(tmp_path, [])
    with pytest.raises(
        NotImplementedError, match="flavor 'keliweb' supports open-ticket and public replies only"
    ):
        await write(h, op, "1", payload)
    assert h.emulator.total_requests == 0
    h.wh.close()
