"""Both ways with botocore, against the sim: its SSO token loader, token provider and SSO
credential provider accept what ekstrio writes, and ekstrio accepts what botocore writes.
"""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.credentials
import botocore.session
import botocore.tokens
import pytest
import trio
from botocore.utils import JSONFileCache, SSOTokenLoader

from ekstrio.auth.pkce import login_pkce
from ekstrio.auth.provider import TokenProvider
from ekstrio.auth.sign_in import SignIn
from ekstrio.aws import endpoints, role_cache
from ekstrio.aws import token_cache as tc
from ekstrio.aws.transport import CallPolicy, CallStats, RateLimits, Transport, make_http_client
from ekstrio.model import RoleCredentials, SsoSession

from auth_fixtures import write_sim_config, write_sim_token  # isort: skip


@pytest.fixture
def botocore_home(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """botocore computes ~/.aws/sso/cache when it is imported; point it at this test's HOME."""
    sso_cache = isolated_home / ".aws" / "sso" / "cache"
    monkeypatch.setattr(botocore.credentials.SSOProvider, "_SSO_TOKEN_CACHE_DIR", str(sso_cache))
    monkeypatch.setattr(botocore.tokens.SSOTokenProvider, "_SSO_TOKEN_CACHE_DIR",
                        str(sso_cache))
    return isolated_home


def an_account_role(sim: Any) -> tuple[str, str]:
    account = sim.org["accounts"][0]
    return account["accountId"], account["roles"][0]["roleName"]


@pytest.fixture
def role_profile(sim: Any, monkeypatch: pytest.MonkeyPatch,
                 botocore_home: Path) -> tuple[SsoSession, str, str]:
    """``[profile sim-role]`` (sso_session = sim, an account and role of the sim's org)."""
    for key, value in sim.env.items():
        monkeypatch.setenv(key, value)
    account_id, role_name = an_account_role(sim)
    session = write_sim_config(sim, botocore_home, extra=(
        f"\n[profile sim-role]\nsso_session = sim\nsso_account_id = {account_id}\n"
        f"sso_role_name = {role_name}\nregion = {sim.sso_region}\n"))
    return session, account_id, role_name


def transport() -> Transport:
    return Transport(make_http_client(), limiter=trio.CapacityLimiter(4),
                     rates=RateLimits(default_rate=float("inf")),
                     policy=CallPolicy(call_timeout=10, attempts=2, backoff_initial=0.05),
                     stats=CallStats())


def caller_account(bsession: botocore.session.Session, region: str) -> str:
    sts = bsession.create_client("sts", region_name=region)
    return str(sts.get_caller_identity()["Account"])


async def pkce_sign_in(sim: Any, session: SsoSession) -> tc.CachedToken:
    import httpx2

    def allow(url: str) -> None:
        httpx2.get(url + "&approve=1", follow_redirects=True, trust_env=False, timeout=30)

    t = transport()
    try:
        return await login_pkce(SignIn(
            session, t, endpoint=endpoints.resolve("sso-oidc", sim.sso_region, env=sim.env),
            stderr=io.StringIO(), opener=allow))
    finally:
        await t.client.aclose()


# -- ekstrio writes, botocore reads -------------------------------------------------------------


def test_botocore_token_loader_reads_ekstrio_token(
    sim: Any, role_profile: tuple[SsoSession, str, str], botocore_home: Path,
) -> None:
    session, _, _ = role_profile
    write_sim_token(sim, session)
    ours = tc.load_sso_token(session)
    assert ours is not None
    loader = SSOTokenLoader(cache=JSONFileCache(str(botocore_home / ".aws/sso/cache")))
    theirs = loader(sim.start_url, session_name="sim")
    assert theirs["accessToken"] == ours.access_token
    assert theirs["expiresAt"] == tc.format_timestamp(ours.expires_at)


def test_botocore_sso_provider_gets_role_credentials_with_ekstrio_login(
    sim: Any, role_profile: tuple[SsoSession, str, str],
) -> None:
    session, account_id, _ = role_profile
    trio.run(pkce_sign_in, sim, session)  # the token file ekstrio writes after `login`
    bsession = botocore.session.Session(profile="sim-role")
    creds = bsession.get_credentials()
    assert creds is not None
    assert creds.method == "sso"
    # The credentials are real ones minted by the sim for that account.
    assert caller_account(bsession, sim.sso_region) == account_id


def test_botocore_legacy_profile_reads_ekstrio_start_url_token(
    sim: Any, monkeypatch: pytest.MonkeyPatch, botocore_home: Path,
) -> None:
    for key, value in sim.env.items():
        monkeypatch.setenv(key, value)
    account_id, role_name = an_account_role(sim)
    config = botocore_home / ".aws" / "config"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f"[profile legacy]\nsso_start_url = {sim.start_url}\n"
                      f"sso_region = {sim.sso_region}\nsso_account_id = {account_id}\n"
                      f"sso_role_name = {role_name}\n")
    write_sim_token(sim, SsoSession(sim.start_url, sim.sso_region, None))
    bsession = botocore.session.Session(profile="legacy")
    assert caller_account(bsession, sim.sso_region) == account_id


def test_botocore_uses_role_credentials_ekstrio_cached(
    sim: Any, role_profile: tuple[SsoSession, str, str], botocore_home: Path,
) -> None:
    session, account_id, role_name = role_profile
    write_sim_token(sim, session)
    cached = RoleCredentials("ASIAEKSTRIOCACHED", "secret", "session-token",
                             datetime.now(UTC) + timedelta(hours=1))
    role_cache.save_role_credentials(session, account_id, role_name, cached)
    bsession = botocore.session.Session(profile="sim-role")
    resolver = botocore.credentials.create_credential_resolver(
        bsession, cache=JSONFileCache(str(botocore_home / ".aws/cli/cache")))
    creds = resolver.load_credentials()
    assert creds is not None
    # From the file, not from the portal (the sim would mint a different key).
    assert creds.get_frozen_credentials().access_key == "ASIAEKSTRIOCACHED"


# -- botocore writes, ekstrio reads -------------------------------------------------------------


def test_ekstrio_reads_token_refreshed_by_botocore(
    sim: Any, role_profile: tuple[SsoSession, str, str],
) -> None:
    session, _, _ = role_profile
    first = trio.run(pkce_sign_in, sim, session)
    # Make botocore refresh (its mandatory window) and rewrite the file in its own format.
    aged = dataclasses.replace(first, expires_at=datetime.now(UTC) + timedelta(minutes=5))
    tc.save_sso_token(session, aged)
    bsession = botocore.session.Session(profile="sim-role")
    provider = botocore.tokens.SSOTokenProvider(bsession, profile_name="sim-role")
    frozen = provider.load_token().get_frozen_token()
    assert frozen.token != first.access_token

    raw = json.loads(tc.token_path(session).read_text())
    assert raw["accessToken"] == frozen.token
    ours = tc.load_sso_token(session)
    assert ours is not None
    assert ours.access_token == frozen.token
    assert ours.remaining() > timedelta(hours=7)
    assert ours.can_refresh()
    assert ours.client_id == first.client_id

    async def token_now() -> str:
        t = transport()
        try:
            return await TokenProvider(session, t).access_token()
        finally:
            await t.client.aclose()

    assert trio.run(token_now) == frozen.token


def test_ekstrio_reads_role_credentials_botocore_cached(
    sim: Any, role_profile: tuple[SsoSession, str, str], botocore_home: Path,
) -> None:
    session, account_id, role_name = role_profile
    write_sim_token(sim, session)
    bsession = botocore.session.Session(profile="sim-role")
    resolver = botocore.credentials.create_credential_resolver(
        bsession, cache=JSONFileCache(str(botocore_home / ".aws/cli/cache")))
    creds = resolver.load_credentials().get_frozen_credentials()
    ours = role_cache.load_role_credentials(session, account_id, role_name)
    assert ours is not None
    assert ours.access_key_id == creds.access_key
    assert ours.secret_access_key == creds.secret_key
    assert ours.session_token == creds.token


def test_ekstrio_reads_exact_aws_cli_token_file(isolated_home: Path) -> None:
    """The bytes CLI v2 leaves after `aws sso login` (field order and formats as written)."""
    session = SsoSession("https://d-90670ca891.awsapps.com/start", "us-east-1", "my-sso")
    path = isolated_home / ".aws/sso/cache/0ad374308c5a4e22f723adf10145eafad7c4031c.json"
    path.parent.mkdir(parents=True)
    path.write_text(
        '{"startUrl": "https://d-90670ca891.awsapps.com/start", "region": "us-east-1", '
        '"accessToken": "aoaEXAMPLE", "expiresAt": "2099-01-01T08:00:00Z", '
        '"clientId": "cid", "clientSecret": "csecret", '
        '"registrationExpiresAt": "2099-03-01T00:00:00Z", "refreshToken": "aorEXAMPLE"}')
    token = tc.load_sso_token(session)
    assert token is not None
    assert token.access_token == "aoaEXAMPLE"
    assert token.expires_at == datetime(2099, 1, 1, 8, tzinfo=UTC)
    assert token.can_refresh()
