"""SSO OIDC (``sso-oidc``): RegisterClient, StartDeviceAuthorization, CreateToken.

All three are modelled ``smithy.api#noAuth`` and go out unsigned. Request
builders and response parsers are pure; the async functions send one call
each through a :class:`~ekstrio.aws.transport.Transport`.

OAuth answers (``{"error": "authorization_pending"}``) arrive as
:class:`~ekstrio.errors.OidcError`; :func:`oauth_error` names them the same way
whether the server put the OAuth value in the body or only the exception
type in ``x-amzn-ErrorType``. Transport never retries them: pending and
slow_down belong to the polling loop.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ekstrio.aws.token_cache import CachedRegistration, CachedToken
from ekstrio.aws.wire import WireRequest
from ekstrio.errors import AwsError
from ekstrio.model import SsoSession

if TYPE_CHECKING:
    from ekstrio.aws.endpoints import Endpoint
    from ekstrio.aws.transport import Transport

__all__ = [
    "DEFAULT_SCOPES",
    "GRANT_AUTHORIZATION_CODE",
    "GRANT_DEVICE_CODE",
    "GRANT_REFRESH_TOKEN",
    "REDIRECT_URI",
    "SERVICE",
    "DeviceAuthorization",
    "TokenGrant",
    "authorization_code_request",
    "authorize_url",
    "code_challenge",
    "create_token",
    "device_code_request",
    "make_code_verifier",
    "make_state",
    "oauth_error",
    "parse_device_authorization",
    "parse_registration",
    "parse_token",
    "refresh_token_request",
    "refreshed_token",
    "register_client",
    "register_client_request",
    "start_device_authorization",
    "start_device_authorization_request",
]

SERVICE = "sso-oidc"
GRANT_DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
GRANT_AUTHORIZATION_CODE = "authorization_code"
GRANT_REFRESH_TOKEN = "refresh_token"  # noqa: S105  (an OAuth grant name, not a secret)
DEFAULT_SCOPES = ("sso:account:access",)
# Registered without a port (RFC 8252 loopback: any port is accepted at authorize time).
REDIRECT_URI = "http://127.0.0.1/oauth/callback"
CALLBACK_PATH = "/oauth/callback"

_VERIFIER_ALPHABET = string.ascii_letters + string.digits + "-._~"

# Exception type names → the OAuth error value, for answers that carry only the header.
_OAUTH_NAMES = {
    "AuthorizationPendingException": "authorization_pending",
    "SlowDownException": "slow_down",
    "ExpiredTokenException": "expired_token",
    "AccessDeniedException": "access_denied",
    "InvalidGrantException": "invalid_grant",
    "InvalidClientException": "invalid_client",
    "InvalidRequestException": "invalid_request",
    "InvalidScopeException": "invalid_scope",
    "UnauthorizedClientException": "unauthorized_client",
    "UnsupportedGrantTypeException": "unsupported_grant_type",
}


def oauth_error(exc: AwsError) -> str:
    """``authorization_pending``, ``slow_down``, ``expired_token``, … for an OIDC error."""
    return _OAUTH_NAMES.get(exc.code, exc.code)


# -- values -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceAuthorization:
    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: int
    interval: int


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """A CreateToken answer. ``expires_at`` = the time of the answer + ``expiresIn``."""

    access_token: str = field(repr=False)
    expires_at: datetime
    refresh_token: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (f"TokenGrant(expires_at={self.expires_at.isoformat()}, "
                f"refresh_token={'yes' if self.refresh_token else 'no'})")


# -- PKCE -----------------------------------------------------------------------------------------


def make_code_verifier() -> str:
    """64 random characters from the RFC 7636 unreserved set (as the AWS CLI does)."""
    return "".join(secrets.choice(_VERIFIER_ALPHABET) for _ in range(64))


def code_challenge(verifier: str) -> str:
    """``base64url(sha256(verifier))`` without padding (method S256)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def make_state() -> str:
    return secrets.token_urlsafe(24)


def authorize_url(
    endpoint_url: str,
    *,
    client_id: str,
    redirect_uri: str,
    state: str,
    challenge: str,
    scopes: Sequence[str],
) -> str:
    """The browser URL of the authorization-code flow (parameter ``scopes``, plural)."""
    query = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("state", state),
        ("code_challenge_method", "S256"),
        ("scopes", " ".join(scopes)),
        ("code_challenge", challenge),
    ]
    encoded = "&".join(f"{k}={quote(v, safe='-_.~')}" for k, v in query)
    return f"{endpoint_url.rstrip('/')}/authorize?{encoded}"


# -- requests -------------------------------------------------------------------------------------


def _json(method: str, path: str, body: dict[str, Any]) -> WireRequest:
    return WireRequest(method, path, (), (("Content-Type", "application/json"),),
                       json.dumps(body).encode("utf-8"))


def register_client_request(
    client_name: str,
    *,
    scopes: Sequence[str] = (),
    grant_types: Sequence[str] = (),
    redirect_uris: Sequence[str] = (),
    issuer_url: str | None = None,
) -> WireRequest:
    body: dict[str, Any] = {"clientName": client_name, "clientType": "public"}
    if scopes:
        body["scopes"] = list(scopes)
    if grant_types:
        body["grantTypes"] = list(grant_types)
    if redirect_uris:
        body["redirectUris"] = list(redirect_uris)
    if issuer_url:
        body["issuerUrl"] = issuer_url
    return _json("POST", "/client/register", body)


def start_device_authorization_request(
    client_id: str, client_secret: str, start_url: str
) -> WireRequest:
    return _json("POST", "/device_authorization",
                 {"clientId": client_id, "clientSecret": client_secret, "startUrl": start_url})


def device_code_request(client_id: str, client_secret: str, device_code: str) -> WireRequest:
    return _json("POST", "/token", {
        "clientId": client_id, "clientSecret": client_secret,
        "grantType": GRANT_DEVICE_CODE, "deviceCode": device_code,
    })


def authorization_code_request(
    client_id: str, client_secret: str, *, code: str, redirect_uri: str, code_verifier: str
) -> WireRequest:
    return _json("POST", "/token", {
        "clientId": client_id, "clientSecret": client_secret,
        "grantType": GRANT_AUTHORIZATION_CODE, "code": code,
        "redirectUri": redirect_uri, "codeVerifier": code_verifier,
    })


def refresh_token_request(client_id: str, client_secret: str, refresh_token: str) -> WireRequest:
    return _json("POST", "/token", {
        "clientId": client_id, "clientSecret": client_secret,
        "grantType": GRANT_REFRESH_TOKEN, "refreshToken": refresh_token,
    })


# -- responses ------------------------------------------------------------------------------------


def _invalid(what: str) -> AwsError:
    return AwsError("InvalidResponse", what, service=SERVICE)


def _required_str(doc: dict[str, Any], key: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value:
        raise _invalid(f"the answer has no {key}")
    return value


# Seconds (durations, or epoch times) beyond this are not a real answer: 10**10 s is year 2286
# as an epoch and 300 years as a duration. int(inf) and int(nan) raised, and a huge value
# overflowed datetime/timedelta further on.
_MAX_SECONDS = 10**10
# The device flow polls until the code expires; AWS gives 600 s and asks 5 s between polls.
# A peer's answer cannot stretch the wait past an hour or a poll interval past a minute.
_MAX_DEVICE_WAIT = 3600
_MAX_POLL_INTERVAL = 60


def _number(doc: dict[str, Any], key: str) -> int | None:
    value = doc.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or abs(value) > _MAX_SECONDS:
        return None
    return int(value)


def parse_registration(
    doc: dict[str, Any], *, scopes: Sequence[str] = (), grant_types: Sequence[str] = ()
) -> CachedRegistration:
    """RegisterClient's answer as the cache keeps it (``clientSecretExpiresAt`` is epoch s)."""
    expires = _number(doc, "clientSecretExpiresAt")
    if expires is None:
        raise _invalid("the answer has no clientSecretExpiresAt")
    return CachedRegistration(
        client_id=_required_str(doc, "clientId"),
        client_secret=_required_str(doc, "clientSecret"),
        expires_at=datetime.fromtimestamp(expires, UTC),
        scopes=tuple(scopes),
        grant_types=tuple(grant_types),
    )


def parse_device_authorization(doc: dict[str, Any]) -> DeviceAuthorization:
    complete = doc.get("verificationUriComplete")
    interval = _number(doc, "interval")
    return DeviceAuthorization(
        device_code=_required_str(doc, "deviceCode"),
        user_code=_required_str(doc, "userCode"),
        verification_uri=_required_str(doc, "verificationUri"),
        verification_uri_complete=complete if isinstance(complete, str) and complete else None,
        expires_in=min(_number(doc, "expiresIn") or 600, _MAX_DEVICE_WAIT),
        # The CLI's rule: interval or 5.
        interval=min(interval, _MAX_POLL_INTERVAL) if interval and interval > 0 else 5,
    )


def parse_token(doc: dict[str, Any], *, now: datetime) -> TokenGrant:
    expires_in = _number(doc, "expiresIn")
    if expires_in is None:
        raise _invalid("the answer has no expiresIn")
    refresh = doc.get("refreshToken")
    return TokenGrant(
        access_token=_required_str(doc, "accessToken"),
        expires_at=now + timedelta(seconds=expires_in),
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
    )


def refreshed_token(token: CachedToken, grant: TokenGrant, session: SsoSession) -> CachedToken:
    """The cached token after CreateToken(grant ``refresh_token``) answered ``grant``.

    What botocore writes (``tokens.SSOTokenProvider._attempt_create_token``), which both
    refresh paths follow (``auth.provider.TokenProvider`` and ``ekstrio token``): the new
    access token and expiry; ``refreshToken`` only if the answer carries one, so an answer
    without one drops the old one (the token is not refreshed again, and sign-in is asked for
    when it expires); ``startUrl`` and ``region`` the session's (those of the file when the
    session does not name them, as ``ekstrio token --sso-session`` does not); the client
    registration and every unknown field kept.
    """
    return replace(token, access_token=grant.access_token, expires_at=grant.expires_at,
                   refresh_token=grant.refresh_token,
                   start_url=session.start_url or token.start_url,
                   region=session.region or token.region)


# -- calls ----------------------------------------------------------------------------------------


def _scope(endpoint: Endpoint) -> tuple[str, str]:
    return ("oidc", endpoint.url)


async def register_client(
    t: Transport,
    endpoint: Endpoint,
    client_name: str,
    *,
    scopes: Sequence[str] = (),
    grant_types: Sequence[str] = (),
    redirect_uris: Sequence[str] = (),
    issuer_url: str | None = None,
) -> CachedRegistration:
    request = register_client_request(client_name, scopes=scopes, grant_types=grant_types,
                                      redirect_uris=redirect_uris, issuer_url=issuer_url)
    doc = await t.call(endpoint, request, service=SERVICE, scope=_scope(endpoint))
    return parse_registration(doc, scopes=scopes, grant_types=grant_types)


async def start_device_authorization(
    t: Transport, endpoint: Endpoint, registration: CachedRegistration, start_url: str
) -> DeviceAuthorization:
    request = start_device_authorization_request(
        registration.client_id, registration.client_secret, start_url)
    doc = await t.call(endpoint, request, service=SERVICE, scope=_scope(endpoint))
    return parse_device_authorization(doc)


async def create_token(
    t: Transport, endpoint: Endpoint, request: WireRequest, *, now: datetime | None = None
) -> TokenGrant:
    """CreateToken with one of the ``*_request`` builders above."""
    doc = await t.call(endpoint, request, service=SERVICE, scope=_scope(endpoint))
    return parse_token(doc, now=now or datetime.now(UTC))
