"""SSO OIDC request builders, parsers and calls (over respx, no network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
import respx
import trio

from ekstrio.aws import oidc
from ekstrio.aws.endpoints import Endpoint
from ekstrio.aws.transport import CallPolicy, CallStats, RateLimits, Transport
from ekstrio.errors import AccessDeniedError, AwsError, OidcError

NOW = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)
EP = Endpoint("https://oidc.us-east-1.amazonaws.com", "us-east-1", "aws")


def make_transport() -> Transport:
    return Transport(httpx2.AsyncClient(), limiter=trio.CapacityLimiter(4),
                     rates=RateLimits(default_rate=float("inf")),
                     policy=CallPolicy(call_timeout=5, attempts=2, backoff_initial=0.01),
                     stats=CallStats())


def body(request: object) -> dict[str, object]:
    raw = request.body  # type: ignore[attr-defined]
    assert raw is not None
    return json.loads(raw)


def test_pkce_challenge_rfc7636_vector() -> None:
    # RFC 7636 appendix B.
    assert oidc.code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == (
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")


def test_code_verifier_shape() -> None:
    verifiers = {oidc.make_code_verifier() for _ in range(20)}
    assert len(verifiers) == 20
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    for v in verifiers:
        assert len(v) == 64
        assert set(v) <= allowed


def test_authorize_url() -> None:
    url = oidc.authorize_url("https://oidc.us-east-1.amazonaws.com/", client_id="cid",
                             redirect_uri="http://127.0.0.1:4242/oauth/callback",
                             state="st", challenge="ch", scopes=["sso:account:access", "x:y"])
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https", "oidc.us-east-1.amazonaws.com", "/authorize")
    assert parse_qs(parts.query) == {
        "response_type": ["code"], "client_id": ["cid"],
        "redirect_uri": ["http://127.0.0.1:4242/oauth/callback"], "state": ["st"],
        "code_challenge_method": ["S256"], "scopes": ["sso:account:access x:y"],
        "code_challenge": ["ch"],
    }
    assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A4242%2Foauth%2Fcallback" in url


def test_register_client_request_pkce() -> None:
    req = oidc.register_client_request(
        "ekstrio-corp", scopes=["sso:account:access"],
        grant_types=["authorization_code", "refresh_token"],
        redirect_uris=[oidc.REDIRECT_URI], issuer_url="https://d.awsapps.com/start")
    assert (req.method, req.path) == ("POST", "/client/register")
    assert ("Content-Type", "application/json") in req.headers
    assert body(req) == {
        "clientName": "ekstrio-corp", "clientType": "public", "scopes": ["sso:account:access"],
        "grantTypes": ["authorization_code", "refresh_token"],
        "redirectUris": ["http://127.0.0.1/oauth/callback"],
        "issuerUrl": "https://d.awsapps.com/start",
    }


def test_register_client_request_device_minimal() -> None:
    assert body(oidc.register_client_request("n")) == {"clientName": "n", "clientType": "public"}


def test_token_requests() -> None:
    assert body(oidc.device_code_request("c", "s", "dc")) == {
        "clientId": "c", "clientSecret": "s",
        "grantType": "urn:ietf:params:oauth:grant-type:device_code", "deviceCode": "dc"}
    assert body(oidc.authorization_code_request(
        "c", "s", code="k", redirect_uri="http://127.0.0.1:1/oauth/callback",
        code_verifier="v")) == {
        "clientId": "c", "clientSecret": "s", "grantType": "authorization_code", "code": "k",
        "redirectUri": "http://127.0.0.1:1/oauth/callback", "codeVerifier": "v"}
    assert body(oidc.refresh_token_request("c", "s", "r")) == {
        "clientId": "c", "clientSecret": "s", "grantType": "refresh_token", "refreshToken": "r"}
    assert body(oidc.start_device_authorization_request("c", "s", "https://u")) == {
        "clientId": "c", "clientSecret": "s", "startUrl": "https://u"}


def test_parse_registration() -> None:
    reg = oidc.parse_registration(
        {"clientId": "c", "clientSecret": "s", "clientIdIssuedAt": 1,
         "clientSecretExpiresAt": int(NOW.timestamp())},
        grant_types=["authorization_code"])
    assert reg.expires_at == NOW
    assert reg.grant_types == ("authorization_code",)
    with pytest.raises(AwsError, match="clientSecretExpiresAt"):
        oidc.parse_registration({"clientId": "c", "clientSecret": "s"})


def test_parse_device_authorization_defaults_interval() -> None:
    dev = oidc.parse_device_authorization({
        "deviceCode": "dc", "userCode": "ABCD-EFGH", "verificationUri": "https://v",
        "expiresIn": 600})
    assert dev.interval == 5
    assert dev.verification_uri_complete is None
    assert "dc" not in repr(dev)


@pytest.mark.parametrize("absurd", [float("inf"), float("nan"), 1e300, -1e300])
def test_numbers_no_real_answer_holds_are_refused_not_crashes(absurd: float) -> None:
    # int(inf) raised OverflowError, int(nan) ValueError, 1e300 overflowed datetime/timedelta.
    with pytest.raises(AwsError, match="clientSecretExpiresAt"):
        oidc.parse_registration({"clientId": "c", "clientSecret": "s",
                                 "clientSecretExpiresAt": absurd})
    with pytest.raises(AwsError, match="expiresIn"):
        oidc.parse_token({"accessToken": "AT", "expiresIn": absurd}, now=NOW)


def test_the_device_flow_wait_is_bounded_whatever_the_answer_says() -> None:
    dev = oidc.parse_device_authorization({
        "deviceCode": "dc", "userCode": "ABCD-EFGH", "verificationUri": "https://v",
        "expiresIn": 10**9, "interval": 10**6})
    assert (dev.expires_in, dev.interval) == (3600, 60)


def test_parse_token() -> None:
    grant = oidc.parse_token({"accessToken": "AT", "expiresIn": 3600, "tokenType": "Bearer",
                              "refreshToken": "RT"}, now=NOW)
    assert grant.expires_at == NOW + timedelta(hours=1)
    assert grant.refresh_token == "RT"
    assert "AT" not in repr(grant)
    assert "RT" not in repr(grant)
    assert oidc.parse_token({"accessToken": "AT", "expiresIn": 1}, now=NOW).refresh_token is None
    with pytest.raises(AwsError, match="accessToken"):
        oidc.parse_token({"expiresIn": 1}, now=NOW)


@respx.mock
async def test_create_token_over_the_wire() -> None:
    route = respx.post("https://oidc.us-east-1.amazonaws.com/token").respond(
        200, json={"accessToken": "AT", "expiresIn": 28800, "tokenType": "Bearer"})
    grant = await oidc.create_token(make_transport(), EP,
                                    oidc.refresh_token_request("c", "s", "r"), now=NOW)
    assert grant.expires_at == NOW + timedelta(hours=8)
    sent = route.calls.last.request
    assert "authorization" not in sent.headers  # unsigned (smithy noAuth)
    assert sent.headers["content-type"] == "application/json"


@respx.mock
@pytest.mark.parametrize(("status", "headers", "payload", "kind", "cls"), [
    (400, {"x-amzn-ErrorType": "AuthorizationPendingException:http://internal.amazon.com/coral/"},
     {"error": "authorization_pending", "error_description": "pending"},
     "authorization_pending", OidcError),
    (400, {}, {"error": "slow_down"}, "slow_down", OidcError),
    (400, {"x-amzn-ErrorType": "ExpiredTokenException"}, None, "expired_token",
     AccessDeniedError),
    (400, {"x-amzn-ErrorType": "AccessDeniedException"}, None, "access_denied",
     AccessDeniedError),
    (401, {}, {"error": "invalid_client"}, "invalid_client", OidcError),
])
async def test_oauth_errors_are_named_alike(
    status: int, headers: dict[str, str], payload: object, kind: str, cls: type[AwsError]
) -> None:
    route = respx.post("https://oidc.us-east-1.amazonaws.com/token").respond(
        status, headers=headers, json=payload)
    with pytest.raises(cls) as info:
        await oidc.create_token(make_transport(), EP, oidc.device_code_request("c", "s", "d"))
    assert oidc.oauth_error(info.value) == kind
    # Polling answers are never retried by the transport.
    assert route.call_count == 1


@respx.mock
async def test_register_and_start_device_authorization() -> None:
    respx.post("https://oidc.us-east-1.amazonaws.com/client/register").respond(
        200, json={"clientId": "cid", "clientSecret": "cs",
                   "clientSecretExpiresAt": int(NOW.timestamp())})
    route = respx.post("https://oidc.us-east-1.amazonaws.com/device_authorization").respond(
        200, json={"deviceCode": "dc", "userCode": "UC", "verificationUri": "https://v",
                   "verificationUriComplete": "https://v?code=UC", "expiresIn": 300,
                   "interval": 2})
    t = make_transport()
    reg = await oidc.register_client(t, EP, "n", scopes=["a"])
    assert (reg.client_id, reg.scopes) == ("cid", ("a",))
    dev = await oidc.start_device_authorization(t, EP, reg, "https://d.awsapps.com/start")
    assert (dev.user_code, dev.interval, dev.expires_in) == ("UC", 2, 300)
    assert json.loads(route.calls.last.request.content)["startUrl"] == (
        "https://d.awsapps.com/start")
