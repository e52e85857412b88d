"""The two SSO token refresh paths save the same token for the same CreateToken answer.

The scan's ``auth.provider.TokenProvider`` (trio, the Transport) and ``ekstrio token``'s
``token_credentials.refresh_sso_token`` (urllib) both end in ``aws.oidc.refreshed_token``. Each
path is driven here from the same token file with the same answer, and the files they leave must
be equal, and be what botocore writes (``tokens.SSOTokenProvider._attempt_create_token``, see
aws-protocols.md): ``refreshToken`` only when the answer carries one. A path that stops using the
shared rule, or saves something else, fails here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ekstrio import token_credentials
from ekstrio.auth.provider import TokenProvider
from ekstrio.aws import token_cache as tc
from ekstrio.aws import urllib_send
from ekstrio.aws.endpoints import Endpoint
from ekstrio.aws.wire import WireRequest
from ekstrio.exec_plugin import parse_args
from ekstrio.model import SsoSession

NOW = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)
CORP = SsoSession("https://d-corp.awsapps.com/start", "us-east-1", "corp")
ARGS = ["--cluster", "web", "--region", "eu-west-1", "--account", "111122223333",
        "--role", "Admin", "--sso-session", "corp"]
REFRESH_CALL = {"clientId": "cid", "clientSecret": "csecret", "grantType": "refresh_token",
                "refreshToken": "RT-1"}


def write_expiring_token() -> None:
    # 30 s left: inside both paths' windows (TokenProvider's 10 min, ekstrio token's 1 min).
    tc.save_sso_token(CORP, tc.CachedToken(
        access_token="AT-1", expires_at=NOW + timedelta(seconds=30), region=CORP.region,
        start_url=CORP.start_url, refresh_token="RT-1", client_id="cid",
        client_secret="csecret", registration_expires_at=NOW + timedelta(days=30),
        raw={"futureField": 1}))


def saved_file() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(tc.token_path(CORP).read_text())
    return doc


class FakeTransport:
    """The Transport as TokenProvider calls it: one CreateToken answer."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.calls: list[dict[str, Any]] = []

    async def call(self, endpoint: Endpoint, request: WireRequest, *, service: str,
                   scope: object, auth: object = None) -> dict[str, Any]:
        assert (service, request.path, request.body is not None) == ("sso-oidc", "/token", True)
        self.calls.append(json.loads(request.body or b""))
        return self.answer


@pytest.mark.parametrize("answer", [
    {"accessToken": "AT-2", "expiresIn": 3600},
    {"accessToken": "AT-2", "expiresIn": 3600, "refreshToken": "RT-2"},
], ids=["answer-without-refresh-token", "answer-with-refresh-token"])
async def test_both_refresh_paths_save_the_same_token(
        answer: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    expected = {
        "startUrl": CORP.start_url, "region": "us-east-1", "accessToken": "AT-2",
        "expiresAt": "2026-11-28T17:00:00Z", "clientId": "cid", "clientSecret": "csecret",
        "registrationExpiresAt": "2026-12-28T16:00:00Z", "futureField": 1,
        **({"refreshToken": answer["refreshToken"]} if "refreshToken" in answer else {}),
    }

    # `ekstrio token`: urllib's send replaced by the answer.
    write_expiring_token()
    sent: list[dict[str, Any]] = []

    def send(base_url: str, request: WireRequest, env: object) -> bytes:
        assert (base_url, request.path) == ("https://oidc.us-east-1.amazonaws.com", "/token")
        sent.append(json.loads(request.body or b""))
        return json.dumps(answer).encode()

    monkeypatch.setattr(urllib_send, "send", send)
    args = parse_args(ARGS)
    token = token_credentials.refresh_sso_token(
        args, token_credentials.sso_session_of(args), {}, NOW)
    assert token is not None
    assert token.access_token == "AT-2"
    assert sent == [REFRESH_CALL]
    by_token_path = saved_file()

    # The scan's TokenProvider, from the same file.
    write_expiring_token()
    fake = FakeTransport(answer)
    endpoint = Endpoint("https://oidc.example", "us-east-1", "aws")
    provider = TokenProvider(CORP, fake, endpoint=endpoint,  # type: ignore[arg-type]
                             now=lambda: NOW)
    assert await provider.access_token() == "AT-2"
    assert fake.calls == [REFRESH_CALL]
    by_provider = saved_file()

    assert by_token_path == by_provider == expected
