"""WHMCS incremental sync: what each run costs, what each pass catches, and vendor quirks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import Harness, make_harness

from deskbridge.pull.engine import build_connector
from deskbridge.sdk.errors import ConfigError, PermissionDenied
from deskbridge.testing import CutAfter
from deskbridge_connectors.whmcs.emulator.store import STATUS_BY_TITLE, Ticket

API = "/includes/api.php"
PAGE = 50
N = 150
LOOKUPS = 2  # GetSupportDepartments, GetAdminUsers


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    harness = make_harness(
        "whmcs", tmp_path, tickets=N, options={"page_size": PAGE, "recent_tickets": 0}
    )
    yield harness
    harness.wh.close()


def pages(n: int, size: int = PAGE) -> int:
    """GetTickets requests the overlapping pager makes to list ``n`` tickets."""
    overlap = max(1, size // 20)
    count, start = 1, 0
    while n - start > size:
        start += size - overlap
        count += 1
    return count


def tickets(h: Harness) -> list[Ticket]:
    return list(h.emulator.store.tickets.values())


def active(h: Harness) -> list[Ticket]:
    return [t for t in tickets(h) if STATUS_BY_TITLE[t.status].active]


def newest_first(h: Harness) -> list[Ticket]:
    return sorted(tickets(h), key=lambda t: (-t.lastreply, -t.id))


def reply(h: Harness, t: Ticket, text: str = "Any news?") -> None:
    h.emulator.store.add_reply(
        t,
        "Customer-Reply",
        userid=t.userid,
        name="" if t.userid else t.name,
        email="" if t.userid else t.email,
        admin="",
        date=int(time.time()),
        message=text,
    )


def last_run(h: Harness) -> tuple[int, int]:
    return h.wh.con.execute(
        "SELECT requests, reconcile_requests FROM sync_runs ORDER BY run_id DESC LIMIT 1"
    ).fetchone()  # type: ignore[return-value]


async def test_first_run_cost(h: Harness) -> None:
    """A first run: two lookups, the whole listing and one GetTicket per ticket; reconcile only lists."""
    await h.sync()
    n = len(tickets(h))
    assert last_run(h) == (LOOKUPS + pages(n) + n, pages(len(active(h))))
    assert h.emulator.requests[API] == sum(last_run(h))
    h.assert_truth()


async def test_rerun_costs_one_page_plus_active_tickets(h: Harness) -> None:
    """With nothing changed: lookups, one listing page, and the reconcile of the active tickets."""
    await h.sync()
    h.emulator.reset_counts()
    result = await h.sync()
    n_active = len(active(h))
    assert last_run(h) == (LOOKUPS + 1, pages(n_active) + n_active)
    assert h.emulator.total_requests == sum(last_run(h))
    assert {
        k: v for k, v in result.counts.items() if k.endswith(("changed", "deleted")) and v
    } == {}


async def test_new_replies_cost_one_get_ticket_each(h: Harness) -> None:
    """Three tickets get a reply: the walk costs one page plus three GetTicket requests."""
    await h.sync()
    targets = [t for t in newest_first(h) if t.status == "Closed"][-3:]
    for t in targets:
        reply(h, t)
    h.emulator.reset_counts()
    await h.sync()
    n_active = len(active(h))  # the three are active now, and already read by the walk
    assert last_run(h) == (LOOKUPS + 1 + 3, pages(n_active) + n_active - 3)
    assert h.emulator.total_requests == sum(last_run(h))
    h.assert_truth()


async def test_quiet_changes_on_active_tickets_are_reconciled(h: Harness) -> None:
    """A note, a reply edit, a reply deletion and a priority change on active tickets are caught."""
    await h.sync()
    store = h.emulator.store
    with_replies = [t for t in active(h) if t.replies]
    store.add_note(with_replies[0], "Ops Bot", int(time.time()), "Checked the logs")
    store.replies[with_replies[1].replies[0]].message = "Edited text"
    store.delete_reply(store.replies[with_replies[2].replies[-1]])
    with_replies[3].priority = "High" if with_replies[3].priority != "High" else "Low"
    store.changed()
    await h.sync()
    h.assert_truth()
    requests, _ = last_run(h)
    assert requests == LOOKUPS + 1  # lastreply moved nowhere: the walk found nothing


async def test_quietly_closed_and_deleted_tickets(h: Harness) -> None:
    """An active ticket closed without a reply is re-read; a deleted one is marked deleted, notes too."""
    await h.sync()
    closed, deleted = active(h)[:2]
    closed.status = "Closed"
    h.emulator.store.delete_ticket(deleted)
    await h.sync()
    h.assert_truth()
    gone = h.wh.con.execute(
        "SELECT count(*) FILTER (WHERE deleted_at IS NULL), count(*) FROM notes WHERE ticket_id = ?",
        [str(deleted.id)],
    ).fetchone()
    assert gone == (0, 1 + len(deleted.replies) + len(deleted.notes))


async def test_recent_window_covers_recently_closed_tickets(tmp_path: Path) -> None:
    """A note on a closed ticket among the most recent ones is caught; an older one waits for a refresh."""
    h = make_harness(
        "whmcs", tmp_path, tickets=N, options={"page_size": PAGE, "recent_tickets": 40}
    )
    await h.sync()
    order = newest_first(h)
    recent = next(t for t in order[:40] if t.status == "Closed")
    old = next(t for t in order[80:] if t.status == "Closed")
    for t in (recent, old):
        h.emulator.store.add_note(t, "Ops Bot", int(time.time()), f"Note on {t.id}")
    h.emulator.reset_counts()
    await h.sync()
    n_active = len(active(h))
    closed_in_window = sum(t.status == "Closed" for t in order[:40])
    assert last_run(h)[1] == pages(n_active) + pages(40) + n_active + closed_in_window
    notes = {
        r[0] for r in h.wh.con.execute("SELECT body FROM notes WHERE kind = 'note'").fetchall()
    }
    assert f"Note on {recent.id}" in notes and f"Note on {old.id}" not in notes
    await h.sync(full_refresh=True)
    h.assert_truth()
    h.wh.close()


async def test_deep_reconcile_finds_changes_on_old_closed_tickets(tmp_path: Path) -> None:
    """The deep pass lists everything: a priority change and a deletion on old closed tickets are caught."""
    options = {"page_size": PAGE, "recent_tickets": 0, "deep_reconcile_every": "0s"}
    h = make_harness("whmcs", tmp_path, tickets=N, options=options)
    await h.sync()
    old = [t for t in newest_first(h)[80:] if t.status == "Closed"]
    old[0].priority = "High" if old[0].priority != "High" else "Low"
    h.emulator.store.delete_ticket(old[1])
    h.emulator.reset_counts()
    await h.sync()
    h.assert_truth()
    n, n_active = len(tickets(h)), len(active(h))
    assert last_run(h) == (LOOKUPS + 1, pages(n_active) + n_active + pages(n) + 1 + 1)
    h.wh.close()


async def test_resumed_first_run_reads_each_ticket_once(h: Harness) -> None:
    """A first run that dies mid-walk resumes: committed tickets are not fetched again."""
    h.transport = FailAfter(h.transport, 80)
    with pytest.raises(Exception, match="ConnectError"):
        await h.sync(commit_rows=1)
    (committed,) = h.wh.con.execute("SELECT count(*) FROM tickets").fetchone()  # type: ignore[misc]
    assert 0 < committed < len(tickets(h))
    h.transport = h.transport.inner  # type: ignore[attr-defined]
    h.emulator.reset_counts()
    await h.sync()
    h.assert_truth()
    gets = h.wh.con.execute(
        "SELECT requests FROM sync_runs ORDER BY run_id DESC LIMIT 1"
    ).fetchone()[0]  # type: ignore[index]
    uncommitted = len(tickets(h)) - committed
    assert LOOKUPS + uncommitted <= gets - pages(len(tickets(h))) <= LOOKUPS + uncommitted + 2


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def FailAfter(inner: httpx.AsyncBaseTransport, n: int) -> CutAfter:
    """A transport that drops every connection after the first ``n`` requests."""
    return CutAfter(inner, n, refused)


async def test_empty_install_ends_paging_on_numreturned_zero(tmp_path: Path) -> None:
    """An install without tickets answers numreturned 0 and no tickets key: one page, no loop."""
    h = make_harness("whmcs", tmp_path, tickets=0)
    await h.sync()
    h.assert_truth()
    assert last_run(h) == (LOOKUPS + 1, 2)  # the active listing and the recent window
    h.wh.close()


async def test_refused_ip_is_a_clear_permission_error(h: Harness) -> None:
    """Without accesskey, a source IP outside the allow-list fails with WHMCS's own message."""
    h.emulator.allowed_ips = {"10.0.0.1"}
    creds = {k: v for k, v in h.config.credentials.items() if k != "accesskey"}
    h.config = h.config.model_copy(update={"credentials": creds})
    with pytest.raises(
        PermissionDenied,
        match=r"Invalid IP 127\.0\.0\.1 \(allow this IP in WHMCS or set an accesskey\)",
    ):
        await h.sync()
    assert h.runs()[-1][1] == "failed"


async def test_access_key_bypasses_the_ip_check(h: Harness) -> None:
    """With accesskey in the credentials, the same refused IP syncs."""
    h.emulator.allowed_ips = {"10.0.0.1"}
    await h.sync()
    h.assert_truth()


async def test_legacy_admin_password_login(tmp_path: Path) -> None:
    """auth = 'password' logs in with the admin username and the MD5 of the password."""
    h = make_harness("whmcs", tmp_path, tickets=40, options={"auth": "password"})
    await h.sync()
    h.assert_truth()
    h.wh.close()


@pytest.mark.parametrize(
    ("options", "drop", "key"),
    [
        ({}, "secret", "secret"),
        ({"auth": "password"}, "admin_password", "admin_password"),
        ({"flavor": "keliweb"}, "keliweb_client_secret", "keliweb_client_secret"),
    ],
)
async def test_missing_credentials_name_the_key(
    tmp_path: Path, options: dict, drop: str, key: str
) -> None:
    """The credentials a flavour and auth mode need are checked up front, naming the missing key."""
    h = make_harness("whmcs", tmp_path, tickets=5, options=options)
    creds = {k: v for k, v in h.config.credentials.items() if k != drop}
    h.config = h.config.model_copy(update={"credentials": creds})
    with pytest.raises(
        ConfigError, match=rf"connections\.whmcs_test\.credentials\.{key}: missing credential"
    ):
        await h.sync()
    h.wh.close()


async def test_reconcile_every_spaces_out_the_reconcile(tmp_path: Path) -> None:
    """With reconcile_every = 1h, a second run within the hour only walks."""
    h = make_harness("whmcs", tmp_path, tickets=40, options={"reconcile_every": "1h"})
    await h.sync()
    h.emulator.reset_counts()
    await h.sync()
    assert last_run(h) == (LOOKUPS + 1, 0)
    h.wh.close()


@pytest.mark.parametrize(
    ("options", "summary"), [({}, "5 support departments"), ({"flavor": "keliweb"}, "Keliweb")]
)
async def test_check_proves_auth_with_one_call(tmp_path: Path, options: dict, summary: str) -> None:
    """check() authenticates with one cheap call and says what it saw."""
    h = make_harness("whmcs", tmp_path, tickets=5, options=options)
    async with build_connector(h.config, h.transport) as connector:
        assert summary in await connector.check()
    assert h.emulator.total_requests <= 2  # Keliweb: the token, then get-ticket
    h.wh.close()
