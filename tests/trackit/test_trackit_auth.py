"""Track-It! tokens: one login per run, transparent renewal, clear refusals, and no token leaks."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from trackit_helpers import by_route, emu_of, trackit

from deskbridge.sdk.errors import AuthError, DeskbridgeError
from deskbridge.testing import secret_hits

pytestmark = pytest.mark.asyncio


async def test_token_expiring_mid_run_is_renewed_once_with_the_refresh_grant(
    tmp_path: Path,
) -> None:
    """The server expires the token mid-walk: the requests refused in flight share one refresh grant."""
    h = trackit(tmp_path)
    emu = emu_of(h)
    emu.knobs.latency_ms = 5  # several requests in flight when the token lapses

    def expire_tokens(stream: str, done: int, total: int | None) -> None:
        if done == 20:  # after the walk's first window, before the next one is sent
            for session in emu.tokens.access.values():
                session.expires = 0

    result = await h.sync(progress=expire_tokens)
    h.assert_truth()
    assert by_route(emu)["token"] == 2
    assert (len(emu.tokens.access), len(emu.tokens.refresh)) == (
        2,
        1,
    )  # the refresh token was spent
    resent = emu.total_requests - sum(result.requests.values()) - 2
    assert 1 < resent <= 8  # each request refused in flight (concurrency 8) was sent again, once


async def test_token_renewed_ahead_of_expiry_without_a_401(tmp_path: Path) -> None:
    """A token one second from expiry is renewed before it is sent: no request is refused or resent."""
    h = trackit(tmp_path)
    emu = emu_of(h)
    emu.tokens.ttl_s = 2  # expires_in 1: renewed 0.9 s after issue

    def pause_once(stream: str, done: int, total: int | None) -> None:
        if done == 20:
            time.sleep(1)

    result = await h.sync(progress=pause_once)
    h.assert_truth()
    logins = by_route(emu)["token"]
    assert logins >= 2
    assert emu.total_requests == sum(result.requests.values()) + logins


async def test_a_401_mid_run_renews_once_and_resends(tmp_path: Path) -> None:
    """One 401 on a data request: one refresh grant, the request resent, the run unaffected."""
    h = trackit(tmp_path)
    emu = emu_of(h)
    armed = [True]

    def refuse_next_request(stream: str, done: int, total: int | None) -> None:
        if armed.pop() if armed else False:
            emu.inject("401")

    await h.sync(progress=refuse_next_request)
    h.assert_truth()
    assert by_route(emu)["token"] == 2
    assert (len(emu.tokens.access), len(emu.tokens.refresh)) == (2, 1)


async def test_wrong_password_fails_clearly_and_records_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong password: one login attempt, an AuthError quoting the server's reason, the run recorded failed."""
    h = trackit(tmp_path)
    monkeypatch.setenv(h.config.credentials["password"].removeprefix("env:"), "not-the-password")
    with pytest.raises(AuthError) as info:
        await h.sync()
    message = (
        "trackit token HTTP 400: authentication failed: The user name or password is incorrect.; "
        "check connections.trackit_test.credentials.username, "
        "connections.trackit_test.credentials.password"
    )
    assert str(info.value) == message
    assert (h.runs()[-1][1], h.runs()[-1][4]) == ("failed", f"AuthError: {message}")
    assert by_route(emu_of(h)) == {
        "token": 1
    }  # the walk's concurrent requests did not each try to log in


async def test_issued_tokens_appear_nowhere(tmp_path: Path, log_capture: io.StringIO) -> None:
    """Access and refresh tokens never reach a log line, an error message or the warehouse file."""
    h = trackit(tmp_path)
    emu = emu_of(h)
    await h.sync(progress=lambda *_: emu.inject("401") if by_route(emu)["token"] == 1 else None)
    with pytest.raises(DeskbridgeError) as info:
        await h.sync(progress=lambda *_: emu.inject("500", 200))
    tokens = [*emu.tokens.access, *emu.tokens.refresh]
    assert len(tokens) == 5  # three access tokens (one renewal), two live refresh tokens
    text = log_capture.getvalue() + str(info.value) + str(h.runs())
    assert "vendor answered 500" in text
    assert "Bearer" not in text and [t for t in tokens if t in text] == []
    h.wh.con.execute("CHECKPOINT")
    assert secret_hits(h.wh.path, tokens) == []


async def test_a_wrong_api_path_fails_as_a_configuration_error(tmp_path: Path) -> None:
    """A base URL without the WebApi behind it fails on the token call, naming the settings to check."""
    h = trackit(tmp_path, api_path="/Nope/WebApi")
    with pytest.raises(
        DeskbridgeError,
        match="no token endpoint at http://testserver/Nope/WebApi/token; check base_url",
    ):
        await h.sync()
    assert h.runs()[-1][1] == "failed"
