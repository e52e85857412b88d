"""Sign-in flows against a fake SSO OIDC (httpx2.MockTransport) and a real loopback socket."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
import trio

from ekstrio.auth.device import login_device
from ekstrio.auth.logout import logout
from ekstrio.auth.loopback import CallbackResult, open_loopback, parse_callback
from ekstrio.auth.pkce import login_pkce
from ekstrio.auth.sign_in import SignIn, browser_available
from ekstrio.aws import oidc
from ekstrio.aws import token_cache as tc
from ekstrio.aws.endpoints import Endpoint
from ekstrio.aws.transport import CallPolicy, CallStats, RateLimits, Transport
from ekstrio.errors import AuthError
from ekstrio.model import SsoSession

CORP = SsoSession("https://d-corp.awsapps.com/start", "us-east-1", "corp")
EP = Endpoint("https://oidc.test", "us-east-1", "aws")
PORTAL = Endpoint("https://portal.test", "us-east-1", "aws")
FAR = int((datetime.now(UTC) + timedelta(days=90)).timestamp())


class FakeOidc:
    """Just enough SSO OIDC: registers clients, runs a device code, issues tokens."""

    def __init__(self, device_answers: list[str] | None = None, *, expires_in: int = 600,
                 interval: int = 5) -> None:
        self.registrations: list[dict[str, Any]] = []
        self.token_calls: list[tuple[float, dict[str, Any]]] = []
        self.device_answers = list(device_answers or [])
        self.expires_in = expires_in
        self.interval = interval
        self.authorize_url: str | None = None
        self.logouts: list[str] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        doc = json.loads(request.content) if request.content else {}
        if path == "/client/register":
            self.registrations.append(doc)
            n = len(self.registrations)
            return httpx2.Response(200, json={"clientId": f"cid-{n}", "clientSecret": f"cs-{n}",
                                             "clientSecretExpiresAt": FAR})
        if path == "/device_authorization":
            return httpx2.Response(200, json={
                "deviceCode": "DEVICE-SECRET", "userCode": "ABCD-EFGH",
                "verificationUri": "https://device.test",
                "verificationUriComplete": "https://device.test?user_code=ABCD-EFGH",
                "expiresIn": self.expires_in, "interval": self.interval})
        if path == "/token":
            self.token_calls.append((trio.current_time(), doc))
            if doc["grantType"] == oidc.GRANT_DEVICE_CODE:
                answer = self.device_answers.pop(0) if self.device_answers else (
                    "authorization_pending")
                if answer != "ok":
                    return httpx2.Response(400, json={"error": answer,
                                                     "error_description": answer})
            return httpx2.Response(200, json={"accessToken": "ACCESS-SECRET", "expiresIn": 3600,
                                             "refreshToken": "REFRESH-SECRET",
                                             "tokenType": "Bearer"})
        if path == "/logout":
            self.logouts.append(request.headers["x-amz-sso_bearer_token"])
            return httpx2.Response(200)
        return httpx2.Response(404, json={"message": "no route"})


def make_transport(handler: Callable[[httpx2.Request], httpx2.Response]) -> Transport:
    client = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    return Transport(client, limiter=trio.CapacityLimiter(4),
                     rates=RateLimits(default_rate=float("inf")),
                     policy=CallPolicy(call_timeout=30, attempts=2, backoff_initial=0.01),
                     stats=CallStats())


def no_browser(url: str) -> None:
    raise AssertionError("the browser must not be opened")


# -- helpers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("env", "platform", "expected"), [
    ({"DISPLAY": ":0"}, "linux", True),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
    ({}, "linux", False),
    ({"DISPLAY": ":0", "SSH_CONNECTION": "1.2.3.4 5 6.7.8.9 22"}, "linux", False),
    ({"SSH_TTY": "/dev/pts/1"}, "darwin", False),
    ({}, "darwin", True),
    ({}, "win32", True),
])
def test_browser_available(env: dict[str, str], platform: str, expected: bool) -> None:
    assert browser_available(env, platform) is expected


@pytest.mark.parametrize(("target", "status", "result"), [
    ("/oauth/callback?code=C&state=S", 200, CallbackResult(code="C")),
    ("/oauth/callback?code=C&state=WRONG", 400, None),
    ("/oauth/callback?code=C", 400, None),
    ("/oauth/callback?state=S", 400, None),
    ("/oauth/callback?error=access_denied&error_description=no&state=S", 200,
     CallbackResult(error="access_denied", error_description="no")),
    ("/favicon.ico", 404, None),
])
def test_parse_callback(target: str, status: int, result: CallbackResult | None) -> None:
    assert parse_callback(target, "S") == (status, result)


# -- device code ----------------------------------------------------------------------------------


async def test_device_flow_pending_slow_down_then_ok(
    autojump_clock: trio.testing.MockClock, isolated_home: Path,
) -> None:
    fake = FakeOidc(["authorization_pending", "slow_down", "authorization_pending", "ok"])
    err = io.StringIO()
    opened: list[str] = []
    token = await login_device(SignIn(CORP, make_transport(fake), endpoint=EP, stderr=err,
                                    opener=opened.append))
    times = [round(t) for t, _ in fake.token_calls]
    # Immediately, then every `interval`; slow_down adds 5 s for good.
    assert times == [0, 5, 15, 25]
    assert {doc["deviceCode"] for _, doc in fake.token_calls} == {"DEVICE-SECRET"}
    assert opened == ["https://device.test?user_code=ABCD-EFGH"]
    text = err.getvalue()
    assert "ABCD-EFGH" in text
    assert "https://device.test" in text
    for secret in ("DEVICE-SECRET", "ACCESS-SECRET", "REFRESH-SECRET", "cs-1"):
        assert secret not in text
    assert token.access_token == "ACCESS-SECRET"
    doc = json.loads(tc.token_path(CORP).read_text())
    assert doc["refreshToken"] == "REFRESH-SECRET"
    assert (doc["clientId"], doc["clientSecret"]) == ("cid-1", "cs-1")
    assert doc["startUrl"] == CORP.start_url
    # No grant types, as the AWS CLI registers it; scopes so that a refresh token comes back.
    assert fake.registrations == [{"clientName": "ekstrio-corp", "clientType": "public",
                                   "scopes": ["sso:account:access"]}]
    assert tc.load_registration(CORP) is not None


@pytest.mark.parametrize(("answer", "message"), [
    ("expired_token", r"code ABCD-EFGH expired before it was approved; "
                      r"run: ekstrio login --sso-session corp"),
    ("access_denied", r"sign-in with code ABCD-EFGH was denied"),
    ("invalid_client", r"refused the sign-in: sso-oidc: invalid_client"),
])
async def test_device_flow_failures(
    autojump_clock: trio.testing.MockClock, answer: str, message: str,
) -> None:
    fake = FakeOidc(["authorization_pending", answer])
    with pytest.raises(AuthError, match=message):
        await login_device(SignIn(CORP, make_transport(fake), endpoint=EP, stderr=io.StringIO(),
                                open_browser=False, opener=no_browser))
    assert not tc.token_path(CORP).exists()


async def test_device_flow_gives_up_at_expires_in(
    autojump_clock: trio.testing.MockClock,
) -> None:
    fake = FakeOidc(expires_in=30, interval=5)
    with pytest.raises(AuthError, match=r"was not approved within 30 s"):
        await login_device(SignIn(CORP, make_transport(fake), endpoint=EP, stderr=io.StringIO(),
                                open_browser=False, opener=no_browser))
    assert trio.current_time() == pytest.approx(30)
    assert len(fake.token_calls) == 6  # at 0, 5, … 25


async def test_device_registration_of_legacy_session_has_no_scopes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    fake = FakeOidc(["ok"])
    legacy = SsoSession("https://d-legacy.awsapps.com/start", "us-east-1", None)
    await login_device(SignIn(legacy, make_transport(fake), endpoint=EP, stderr=io.StringIO(),
                            open_browser=False))
    [registration] = fake.registrations
    assert "scopes" not in registration
    assert registration["clientName"].startswith("ekstrio-")


async def test_device_registration_is_reused(autojump_clock: trio.testing.MockClock) -> None:
    fake = FakeOidc(["ok", "ok"])
    t = make_transport(fake)
    await login_device(SignIn(CORP, t, endpoint=EP, stderr=io.StringIO(), open_browser=False))
    await login_device(SignIn(CORP, t, endpoint=EP, stderr=io.StringIO(), open_browser=False))
    assert len(fake.registrations) == 1


# -- authorization code + PKCE (real loopback socket) -------------------------------------------


def browser_for(fake: FakeOidc, calls: list[tuple[int, str]]) -> Callable[[str], None]:
    """Stands in for the browser: a stray request, a forged state, then the real redirect."""

    def open_url(url: str) -> None:
        fake.authorize_url = url
        query = parse_qs(urlsplit(url).query)
        redirect = query["redirect_uri"][0]
        state = query["state"][0]
        with httpx2.Client() as client:
            for target in (redirect.replace("/oauth/callback", "/favicon.ico"),
                           f"{redirect}?code=FORGED&state=not-{state}",
                           f"{redirect}?code=THE-CODE&state={state}"):
                response = client.get(target)
                calls.append((response.status_code, response.text))

    return open_url


async def test_pkce_flow_end_to_end(isolated_home: Path) -> None:
    fake = FakeOidc()
    calls: list[tuple[int, str]] = []
    err = io.StringIO()
    token = await login_pkce(SignIn(CORP, make_transport(fake), endpoint=EP, stderr=err,
                                  opener=browser_for(fake, calls)))
    assert [status for status, _ in calls] == [404, 400, 200]
    assert "Signed in" in calls[-1][1]
    assert fake.registrations == [{
        "clientName": "ekstrio-corp", "clientType": "public", "scopes": ["sso:account:access"],
        "grantTypes": ["authorization_code", "refresh_token"],
        "redirectUris": ["http://127.0.0.1/oauth/callback"], "issuerUrl": CORP.start_url,
    }]
    assert fake.authorize_url is not None
    query = parse_qs(urlsplit(fake.authorize_url).query)
    assert fake.authorize_url.startswith("https://oidc.test/authorize?")
    redirect = query["redirect_uri"][0]
    assert redirect.startswith("http://127.0.0.1:")
    assert redirect.endswith("/oauth/callback")
    [(_, create)] = fake.token_calls
    assert create["grantType"] == "authorization_code"
    assert create["code"] == "THE-CODE"  # the forged one was refused
    assert create["redirectUri"] == redirect
    assert oidc.code_challenge(create["codeVerifier"]) == query["code_challenge"][0]
    assert token.refresh_token == "REFRESH-SECRET"
    assert fake.authorize_url in err.getvalue()
    assert "ACCESS-SECRET" not in err.getvalue()
    saved = tc.load_sso_token(CORP)
    assert saved is not None
    assert saved.client_id == "cid-1"


async def test_pkce_reuses_only_auth_code_registrations() -> None:
    fake = FakeOidc(["ok"])
    t = make_transport(fake)
    # A device-flow registration in the cache cannot serve PKCE …
    await login_device(SignIn(CORP, t, endpoint=EP, stderr=io.StringIO(), open_browser=False))
    calls: list[tuple[int, str]] = []
    await login_pkce(SignIn(CORP, t, endpoint=EP, stderr=io.StringIO(),
                          opener=browser_for(fake, calls)))
    assert len(fake.registrations) == 2
    # … but a PKCE one is reused by the next PKCE sign-in.
    await login_pkce(SignIn(CORP, t, endpoint=EP, stderr=io.StringIO(),
                          opener=browser_for(fake, calls)))
    assert len(fake.registrations) == 2


async def test_pkce_denied_in_browser() -> None:
    fake = FakeOidc()

    def deny(url: str) -> None:
        query = parse_qs(urlsplit(url).query)
        httpx2.get(f"{query['redirect_uri'][0]}?error=access_denied&state={query['state'][0]}")

    with pytest.raises(AuthError, match="sign-in was denied in the browser"):
        await login_pkce(SignIn(CORP, make_transport(fake), endpoint=EP, stderr=io.StringIO(),
                              opener=deny))
    assert fake.token_calls == []


async def test_pkce_no_browser_prints_url_and_times_out(
    autojump_clock: trio.testing.MockClock,
) -> None:
    err = io.StringIO()
    with pytest.raises(AuthError, match=r"did not come back within 600 s; "
                                        r"run: ekstrio login --sso-session corp"):
        await login_pkce(SignIn(CORP, make_transport(FakeOidc()), endpoint=EP, stderr=err,
                              open_browser=False, opener=no_browser))
    assert "https://oidc.test/authorize?response_type=code" in err.getvalue()


async def test_loopback_listens_on_127_0_0_1_only() -> None:
    listeners, port = await open_loopback()
    try:
        assert [listener.socket.getsockname()[0] for listener in listeners] == ["127.0.0.1"]
        assert port > 0
    finally:
        for listener in listeners:
            await listener.aclose()


# -- logout -------------------------------------------------------------------------------------


async def test_logout_calls_portal_and_removes_files(isolated_home: Path) -> None:
    fake = FakeOidc()
    tc.save_sso_token(CORP, tc.CachedToken("ACCESS-SECRET",
                                           datetime.now(UTC) + timedelta(hours=1)))
    tc.save_registration(CORP, tc.CachedRegistration("c", "s", datetime.now(UTC)))
    result = await logout(CORP, make_transport(fake), endpoint=PORTAL)
    assert fake.logouts == ["ACCESS-SECRET"]
    assert result.portal == "signed out"
    assert set(result.removed) == {tc.token_path(CORP), tc.registration_path(CORP)}


async def test_logout_with_expired_token_skips_portal() -> None:
    fake = FakeOidc()
    tc.save_sso_token(CORP, tc.CachedToken("x", datetime.now(UTC) - timedelta(hours=1)))
    result = await logout(CORP, make_transport(fake), endpoint=PORTAL)
    assert fake.logouts == []
    assert result.portal == "token already expired"
    assert result.removed == (tc.token_path(CORP),)


async def test_logout_portal_failure_still_removes() -> None:
    def broken(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(401, json={"message": "Session token not found or invalid",
                                         "__type": "x#UnauthorizedException"})

    tc.save_sso_token(CORP, tc.CachedToken("x", datetime.now(UTC) + timedelta(hours=1)))
    result = await logout(CORP, make_transport(broken), endpoint=PORTAL)
    assert result.portal.startswith("portal sign-out failed: sso: UnauthorizedException")
    assert result.removed == (tc.token_path(CORP),)


async def test_cancelled_pkce_closes_the_loopback() -> None:
    ports: list[int] = []

    def remember(url: str) -> None:
        redirect = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        ports.append(urlsplit(redirect).port or 0)

    with trio.move_on_after(0.5) as scope:
        await login_pkce(SignIn(CORP, make_transport(FakeOidc()), endpoint=EP,
                              stderr=io.StringIO(), opener=remember))
    assert scope.cancelled_caught
    assert ports
    with pytest.raises(OSError, match="connect"):
        await trio.open_tcp_stream("127.0.0.1", ports[0])
    assert not tc.token_path(CORP).exists()
