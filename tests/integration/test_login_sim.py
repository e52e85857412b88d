"""Sign-in against the local AWS organisation (the sim, over real sockets).

The sim's ``/authorize`` page stands in for the browser in the PKCE flow, and its device page /
admin routes approve or deny device codes.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
import trio

from ekstrio import cli, exec_cache
from ekstrio.auth.pkce import login_pkce
from ekstrio.auth.provider import TokenProvider
from ekstrio.auth.sign_in import SignIn
from ekstrio.aws import endpoints, oidc, portal, role_cache
from ekstrio.aws import token_cache as tc
from ekstrio.aws.transport import CallPolicy, CallStats, RateLimits, Transport, make_http_client
from ekstrio.errors import AuthError, AwsError
from ekstrio.model import RoleCredentials, SsoSession


@pytest.fixture
def browser_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A desktop session: a display, no SSH (so `ekstrio login` picks PKCE)."""
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    monkeypatch.delenv("SSH_TTY", raising=False)


def fake_browser(monkeypatch: pytest.MonkeyPatch, visit: Callable[[str], None]) -> list[str]:
    opened: list[str] = []

    def open_url(url: str, *args: Any, **kwargs: Any) -> bool:
        opened.append(url)
        visit(url)
        return True

    monkeypatch.setattr("webbrowser.open", open_url)
    return opened


def allow_in_browser(url: str) -> None:
    # The sim's sign-in page links "Allow" to the same URL + approve=1; following the
    # redirect lands on ekstrio's loopback server, as a browser would.
    response = httpx2.get(url + "&approve=1", follow_redirects=True, trust_env=False, timeout=30)
    assert response.status_code == 200, response.text
    assert "Signed in" in response.text


def user_code_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["user_code"][0]


def later(seconds: float, action: Callable[[], object]) -> None:
    timer = threading.Timer(seconds, action)
    timer.daemon = True
    timer.start()


def transport() -> Transport:
    return Transport(make_http_client(), limiter=trio.CapacityLimiter(8),
                     rates=RateLimits(default_rate=float("inf")),
                     policy=CallPolicy(call_timeout=10, attempts=2, backoff_initial=0.05),
                     stats=CallStats())


async def account_ids(sim: Any, access_token: str) -> set[str]:
    ep = endpoints.resolve("sso", sim.sso_region, env=sim.env)
    found: set[str] = set()
    t = transport()
    try:
        async for page in portal.iter_accounts(t, ep, access_token):
            found.update(a.account_id for a in page)
    finally:
        await t.client.aclose()
    return found


def expected_accounts(sim: Any) -> set[str]:
    return {a["accountId"] for a in sim.org["accounts"]}


# -- PKCE -------------------------------------------------------------------------------------


def test_pkce_login_end_to_end(
    sim: Any, sim_config: SsoSession, browser_env: None, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    opened = fake_browser(monkeypatch, allow_in_browser)
    assert cli.run(["login"]) == 0
    out, err = capsys.readouterr()
    assert len(opened) == 1
    assert opened[0].startswith(f"{sim.endpoint}/authorize?response_type=code")
    assert opened[0] in err  # printed too, in case the browser does not open
    assert "Signed in to sso-session sim" in out
    assert "refreshes it before then" in out

    doc = json.loads(tc.token_path(sim_config).read_text())
    assert set(doc) >= {"startUrl", "region", "accessToken", "expiresAt", "clientId",
                        "clientSecret", "registrationExpiresAt", "refreshToken"}
    assert doc["accessToken"] not in out + err
    assert doc["refreshToken"] not in out + err
    assert doc["clientSecret"] not in out + err
    reg = tc.load_registration(sim_config)
    assert reg is not None
    assert "authorization_code" in reg.grant_types
    # The token works at the portal.
    assert trio.run(account_ids, sim, doc["accessToken"]) == expected_accounts(sim)


def test_pkce_login_denied_exits_3(
    sim: Any, sim_config: SsoSession, browser_env: None, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def deny(url: str) -> None:
        httpx2.get(url + "&deny=1", follow_redirects=True, trust_env=False, timeout=30)

    fake_browser(monkeypatch, deny)
    assert cli.run(["login"]) == 3
    assert capsys.readouterr().err.endswith(
        "ekstrio: error: sign-in was denied in the browser\n")
    assert not tc.token_path(sim_config).exists()


# -- device code ------------------------------------------------------------------------------


@pytest.fixture
def manual_sim(make_sim: Callable[..., Any]) -> Any:
    """A sim where device codes wait for an explicit approve/deny."""
    return make_sim(auto_approve=False)


def test_device_login_pending_then_approved(
    manual_sim: Any, use_sim: Callable[..., SsoSession], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim = manual_sim
    sim_config = use_sim(sim)
    # The "browser" approves 2.5 s later: CreateToken answers authorization_pending meanwhile.
    fake_browser(monkeypatch, lambda url: later(2.5, lambda: sim.approve(user_code_of(url))))
    assert cli.run(["login", "--device-code"]) == 0
    err = capsys.readouterr().err
    assert "enter the code" in err
    token = tc.load_sso_token(sim_config)
    assert token is not None
    assert token.refresh_token is not None  # an sso-session sign-in is refreshable
    # Polls before the approval were answered 400 authorization_pending, about 1 s apart.
    assert 2 <= sim.stats()["by_status"].get("400", 0) <= 4
    assert trio.run(account_ids, sim, token.access_token) == expected_accounts(sim)


def test_device_login_slow_down_adds_five_seconds(
    make_sim: Callable[..., Any], use_sim: Callable[..., SsoSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The sim answers slow_down to polls closer than its interval (2 s). Make ekstrio believe
    # the interval is 1 s: the second poll earns a real slow_down, and the next one must wait
    # 1 + 5 s, by which time the code is approved.
    sim = make_sim(auto_approve=False, device_interval=2)
    use_sim(sim)
    real_parse = oidc.parse_device_authorization
    monkeypatch.setattr(oidc, "parse_device_authorization",
                        lambda doc: dataclasses.replace(real_parse(doc), interval=1))
    fake_browser(monkeypatch, lambda url: later(1.5, lambda: sim.approve(user_code_of(url))))
    started = time.monotonic()
    assert cli.run(["login", "--device-code"]) == 0
    assert time.monotonic() - started >= 6
    # pending, slow_down, then the token: two 400s.
    assert sim.stats()["by_status"].get("400", 0) == 2


def test_device_login_without_display_uses_device_flow(
    sim: Any, sim_config: SsoSession, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.1 5555 10.0.0.2 22")
    opened = fake_browser(monkeypatch, lambda url: sim.approve(user_code_of(url)))
    assert cli.run(["login"]) == 0
    assert opened[0].startswith(f"{sim.endpoint}/device?user_code=")


def test_device_login_no_browser_prints_code(
    manual_sim: Any, use_sim: Callable[..., SsoSession], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim = manual_sim
    use_sim(sim)
    # Nobody opens anything: read the code from stderr (as a user would) and approve it.
    opened = fake_browser(monkeypatch, lambda url: None)

    def approve_from_stderr() -> None:
        for _ in range(100):
            text = capsys.readouterr().err
            for line in text.splitlines():
                if line.startswith("  ") and "-" in line.strip():
                    sim.approve(line.strip())
                    return
            threading.Event().wait(0.1)

    later(0.5, approve_from_stderr)
    assert cli.run(["login", "--device-code", "--no-browser"]) == 0
    assert opened == []


def test_device_login_denied_exits_3(
    manual_sim: Any, use_sim: Callable[..., SsoSession], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim = manual_sim
    sim_config = use_sim(sim)
    codes: list[str] = []

    def deny_soon(url: str) -> None:
        codes.append(user_code_of(url))
        later(1.5, lambda: sim.deny(codes[0]))

    fake_browser(monkeypatch, deny_soon)
    assert cli.run(["login", "--device-code"]) == 3
    assert capsys.readouterr().err.endswith(
        f"ekstrio: error: sign-in with code {codes[0]} was denied\n")
    assert not tc.token_path(sim_config).exists()


def test_device_login_expires_exits_3(
    make_sim: Callable[..., Any], use_sim: Callable[..., SsoSession],
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    sim = make_sim(device_code_ttl=2, auto_approve=False)
    session = use_sim(sim)
    fake_browser(monkeypatch, lambda url: None)  # nobody approves
    assert cli.run(["login", "--device-code"]) == 3
    err = capsys.readouterr().err.splitlines()[-1]
    assert err.startswith("ekstrio: error: the sign-in code ")
    assert err.endswith("; run: ekstrio login --sso-session sim")
    assert ("expired before it was approved" in err) or ("was not approved within 2 s" in err)
    assert not tc.token_path(session).exists()


# -- refresh ----------------------------------------------------------------------------------


async def sign_in_pkce(sim: Any, session: SsoSession) -> tc.CachedToken:
    oidc_ep = endpoints.resolve("sso-oidc", sim.sso_region, env=sim.env)
    t = transport()
    try:
        return await login_pkce(SignIn(session, t, endpoint=oidc_ep, stderr=io.StringIO(),
                                     opener=allow_in_browser))
    finally:
        await t.client.aclose()


def age(session: SsoSession, left: timedelta) -> tc.CachedToken:
    """Pretend the cached token is about to expire (the sim still accepts it)."""
    token = tc.load_sso_token(session)
    assert token is not None
    aged = dataclasses.replace(token, expires_at=datetime.now(UTC) + left)
    tc.save_sso_token(session, aged)
    return aged


async def test_refresh_before_expiry(sim: Any, sim_config: SsoSession) -> None:
    first = await sign_in_pkce(sim, sim_config)
    age(sim_config, timedelta(minutes=12))  # advisory window
    t = transport()
    try:
        provider = TokenProvider(
            sim_config, t, endpoint=endpoints.resolve("sso-oidc", sim.sso_region, env=sim.env))
        fresh = await provider.access_token()
    finally:
        await t.client.aclose()
    assert fresh != first.access_token
    assert provider.refreshes == 1
    saved = tc.load_sso_token(sim_config)
    assert saved is not None
    assert saved.access_token == fresh
    assert saved.remaining() > timedelta(hours=7)
    assert saved.client_id == first.client_id
    assert await account_ids(sim, fresh) == expected_accounts(sim)


async def test_fifty_concurrent_callers_one_refresh(sim: Any, sim_config: SsoSession) -> None:
    await sign_in_pkce(sim, sim_config)
    age(sim_config, timedelta(minutes=5))  # mandatory window: everyone waits for one refresh
    t = transport()
    got: list[str] = []
    provider = TokenProvider(
        sim_config, t, endpoint=endpoints.resolve("sso-oidc", sim.sso_region, env=sim.env))

    async def caller() -> None:
        got.append(await provider.access_token())

    try:
        async with trio.open_nursery() as nursery:
            for _ in range(50):
                nursery.start_soon(caller)
    finally:
        await t.client.aclose()
    assert provider.refreshes == 1
    assert t.stats.calls == 1
    assert len(set(got)) == 1
    assert len(got) == 50


async def test_expired_without_refresh_names_the_command(
    sim: Any, signed_in: SsoSession,
) -> None:
    age(signed_in, -timedelta(seconds=1))
    t = transport()
    try:
        provider = TokenProvider(signed_in, t)
        with pytest.raises(AuthError) as info:
            await provider.access_token()
    finally:
        await t.client.aclose()
    assert str(info.value).endswith("run: ekstrio login --sso-session sim")


# -- logout -----------------------------------------------------------------------------------


def test_logout_revokes_and_removes(
    sim: Any, signed_in: SsoSession, capsys: pytest.CaptureFixture[str],
) -> None:
    token = tc.load_sso_token(signed_in)
    assert token is not None
    creds_file = role_cache.save_role_credentials(
        signed_in, "111122223333", "Admin",
        RoleCredentials("ASIA", "s", "t", datetime.now(UTC) + timedelta(hours=1)))
    # ekstrio token's cached ExecCredentials: this session's go, another session's stay.
    tokens = Path(exec_cache.cache_dir(os.environ))
    mine, other = tokens / "mine.json", tokens / "other.json"
    expiry = datetime.now(UTC) + timedelta(minutes=10)
    exec_cache.save_cached(mine, "k8s-aws-v1.mine", expiry, signed_in.cache_key)
    exec_cache.save_cached(other, "k8s-aws-v1.other", expiry, "another-session")
    assert cli.run(["logout", "-v"]) == 0
    captured = capsys.readouterr()
    # One summary line on stdout; -v lists each file on stderr.
    assert captured.out == "Signed out of sso-session sim; removed 3 cached files.\n"
    assert f"removed {mine}\n" in captured.err
    assert not mine.exists()
    assert other.exists()
    assert f"removed {tc.token_path(signed_in)}\n" in captured.err
    assert f"removed {creds_file}\n" in captured.err
    assert not tc.token_path(signed_in).exists()
    assert not creds_file.exists()
    # The portal no longer accepts the token.
    with pytest.raises(AwsError) as info:
        trio.run(account_ids, sim, token.access_token)
    assert info.value.code == "UnauthorizedException"


def test_device_login_replaces_a_registration_the_service_does_not_know(
    make_sim: Callable[..., Any], use_sim: Callable[..., SsoSession],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Two sims with the same seed share a start URL, so the registration cached by the
    # first is found for the second, which never issued it (as after AWS deletes one).
    first = make_sim(auto_approve=True)
    session = use_sim(first)
    assert cli.run(["login", "--device-code", "--no-browser"]) == 0
    stale = tc.load_registration(session)
    assert stale is not None
    second = make_sim(auto_approve=True)
    assert second.start_url == first.start_url
    use_sim(second)
    assert cli.run(["login", "--device-code", "--no-browser"]) == 0, capsys.readouterr().err
    fresh = tc.load_registration(session)
    assert fresh is not None
    assert fresh.client_id != stale.client_id
    token = tc.load_sso_token(session)
    assert token is not None
    assert token.client_id == fresh.client_id
