"""TokenProvider: botocore's refresh windows, single flight, and what to run when expired."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trio

from ekstrio.auth.provider import MANDATORY_REFRESH, TokenProvider
from ekstrio.aws import token_cache as tc
from ekstrio.aws.endpoints import Endpoint
from ekstrio.aws.wire import WireRequest
from ekstrio.errors import AuthError, FileWriteError, OidcError, TransportError
from ekstrio.model import SsoSession

BASE = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)
CORP = SsoSession("https://d-corp.awsapps.com/start", "us-east-1", "corp")
LEGACY = SsoSession("https://d-legacy.awsapps.com/start", "us-west-2", None)
EP = Endpoint("https://oidc.example", "us-east-1", "aws")


def clock_now() -> datetime:
    # Wall time that follows trio's (autojump) clock, so windows and the
    # 60 s attempt limit move together.
    return BASE + timedelta(seconds=trio.current_time())


class FakeOidc:
    """Answers CreateToken(refresh_token); each call takes 1 s of trio time."""

    def __init__(self, answer: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.answer = answer or (lambda _: {"accessToken": f"new-{len(self.calls)}",
                                            "expiresIn": 3600, "refreshToken": "RT-2"})

    async def call(self, endpoint: Endpoint, request: WireRequest, *, service: str,
                   scope: object, auth: object = None) -> dict[str, Any]:
        assert (endpoint, service, request.path) == (EP, "sso-oidc", "/token")
        assert request.body is not None
        doc = json.loads(request.body)
        self.calls.append(doc)
        await trio.sleep(1)
        return self.answer(doc)


def write_token(session: SsoSession, expires_in: timedelta, *, refreshable: bool = True,
                registration_left: timedelta = timedelta(days=30), **extra: Any) -> None:
    token = tc.CachedToken(
        access_token="old", expires_at=BASE + expires_in, region=session.region,
        start_url=session.start_url,
        refresh_token="RT-1" if refreshable else None,
        client_id="cid" if refreshable else None,
        client_secret="csecret" if refreshable else None,
        registration_expires_at=BASE + registration_left if refreshable else None,
        raw=extra)
    tc.save_sso_token(session, token)


def provider(fake: FakeOidc, session: SsoSession = CORP, **kw: Any) -> TokenProvider:
    return TokenProvider(session, fake, endpoint=EP, now=clock_now, **kw)  # type: ignore[arg-type]


async def test_fresh_token_needs_no_call(autojump_clock: trio.testing.MockClock) -> None:
    write_token(CORP, timedelta(hours=1))
    fake = FakeOidc()
    p = provider(fake)
    assert await p.access_token() == "old"
    assert await p.access_token() == "old"
    assert fake.calls == []


async def test_refresh_in_advisory_window_rewrites_file(
    autojump_clock: trio.testing.MockClock,
) -> None:
    write_token(CORP, timedelta(minutes=12), futureField=1)
    fake = FakeOidc()
    p = provider(fake)
    assert await p.access_token() == "new-1"
    assert fake.calls == [{"clientId": "cid", "clientSecret": "csecret",
                           "grantType": "refresh_token", "refreshToken": "RT-1"}]
    doc = json.loads(tc.token_path(CORP).read_text())
    assert doc["accessToken"] == "new-1"
    assert doc["refreshToken"] == "RT-2"
    assert doc["clientId"] == "cid"
    assert doc["futureField"] == 1
    # expiresAt = answer time (1 s of fake latency after BASE) + expiresIn.
    assert doc["expiresAt"] == "2026-11-28T17:00:00Z"
    assert p.refreshes == 1


async def test_refresh_token_dropped_when_not_returned(
    autojump_clock: trio.testing.MockClock,
) -> None:
    write_token(CORP, timedelta(minutes=5))
    fake = FakeOidc(lambda _: {"accessToken": "AT2", "expiresIn": 3600})
    assert await provider(fake).access_token() == "AT2"
    assert "refreshToken" not in json.loads(tc.token_path(CORP).read_text())


@pytest.mark.parametrize("left", [timedelta(minutes=5), timedelta(minutes=12)])
async def test_fifty_concurrent_callers_cause_one_refresh(
    autojump_clock: trio.testing.MockClock, left: timedelta
) -> None:
    write_token(CORP, left)
    fake = FakeOidc()
    p = provider(fake)
    got: list[str] = []

    async def caller() -> None:
        got.append(await p.access_token())

    async with trio.open_nursery() as nursery:
        for _ in range(50):
            nursery.start_soon(caller)
    assert len(fake.calls) == 1
    assert len(got) == 50
    if left <= MANDATORY_REFRESH:
        # Everyone waited for the one refresh.
        assert set(got) == {"new-1"}
    else:
        # Advisory: the others went on with the still-valid token meanwhile.
        assert set(got) <= {"old", "new-1"}
        assert "new-1" in got
    assert await p.access_token() == "new-1"


async def test_failed_refresh_keeps_valid_token_and_waits_60s(
    autojump_clock: trio.testing.MockClock,
) -> None:
    write_token(CORP, timedelta(minutes=8))

    def fail(_: dict[str, Any]) -> dict[str, Any]:
        raise OidcError("invalid_grant", "nope", status=400, service="sso-oidc")

    fake = FakeOidc(fail)
    p = provider(fake)
    assert await p.access_token() == "old"
    assert await p.access_token() == "old"
    assert len(fake.calls) == 1  # at most one attempt per 60 s
    await trio.sleep(61)
    assert await p.access_token() == "old"
    assert len(fake.calls) == 2


async def test_transport_failure_is_not_fatal_while_valid(
    autojump_clock: trio.testing.MockClock,
) -> None:
    write_token(CORP, timedelta(minutes=3))

    def fail(_: dict[str, Any]) -> dict[str, Any]:
        raise TransportError("connection refused")

    assert await provider(FakeOidc(fail)).access_token() == "old"


async def test_expired_and_refresh_fails_says_what_to_run(
    autojump_clock: trio.testing.MockClock,
) -> None:
    write_token(CORP, -timedelta(minutes=1))

    def fail(_: dict[str, Any]) -> dict[str, Any]:
        raise OidcError("invalid_grant", "", status=400)

    with pytest.raises(AuthError, match=r"run: ekstrio login --sso-session corp$"):
        await provider(FakeOidc(fail)).access_token()


@pytest.mark.parametrize(("session", "kw", "hint"), [
    (CORP, {}, "ekstrio login --sso-session corp"),
    (LEGACY, {}, "ekstrio login --start-url https://d-legacy.awsapps.com/start "
                 "--sso-region us-west-2"),
    (LEGACY, {"profile": "dev"}, "ekstrio login --profile dev"),
])
async def test_expired_unrefreshable(
    autojump_clock: trio.testing.MockClock, session: SsoSession, kw: dict[str, str], hint: str
) -> None:
    write_token(session, -timedelta(seconds=1), refreshable=False)
    fake = FakeOidc()
    with pytest.raises(AuthError) as info:
        await provider(fake, session, **kw).access_token()
    assert str(info.value).endswith(f"has expired; run: {hint}")
    assert "old" not in str(info.value)
    assert fake.calls == []


async def test_legacy_session_is_never_refreshed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    write_token(LEGACY, timedelta(minutes=5))  # has refresh fields, but legacy
    fake = FakeOidc()
    assert await provider(fake, LEGACY).access_token() == "old"
    assert fake.calls == []


async def test_expired_registration_is_not_refreshed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    write_token(CORP, timedelta(minutes=5), registration_left=-timedelta(seconds=1))
    fake = FakeOidc()
    assert await provider(fake).access_token() == "old"
    assert fake.calls == []


async def test_not_signed_in(autojump_clock: trio.testing.MockClock) -> None:
    with pytest.raises(AuthError, match=r"not signed in to sso-session corp; "
                                        r"run: ekstrio login --sso-session corp"):
        await provider(FakeOidc()).access_token()


async def test_token_renewed_by_another_process_is_picked_up(
    autojump_clock: trio.testing.MockClock, isolated_home: Path,
) -> None:
    write_token(CORP, timedelta(minutes=20))
    fake = FakeOidc()
    p = provider(fake)
    assert await p.access_token() == "old"
    await trio.sleep(6 * 60)  # now inside the advisory window
    # `aws sso login` wrote a new token meanwhile.
    tc.save_sso_token(CORP, tc.CachedToken("fromcli", BASE + timedelta(hours=8)))
    assert await p.access_token() == "fromcli"
    assert fake.calls == []


async def test_refreshed_token_is_used_even_if_the_cache_cannot_take_it(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_token(CORP, timedelta(minutes=5))

    def refuse(*args: object, **kwargs: object) -> None:
        raise FileWriteError("cannot write: read-only file system")

    monkeypatch.setattr(tc, "save_sso_token", refuse)
    fake = FakeOidc()
    p = provider(fake)
    assert await p.access_token() == "new-1"
    assert await p.access_token() == "new-1"
    assert len(fake.calls) == 1
    # 50 min later the in-memory token is due again; the stale file must not replace it.
    await trio.sleep(50 * 60)
    assert await p.access_token() == "new-2"
    assert fake.calls[-1]["refreshToken"] == "RT-2"
