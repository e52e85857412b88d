"""Shared pieces for the aws/ wire-layer tests: credentials, a transport, fake answers."""

from __future__ import annotations

import math
import re
import ssl
from datetime import UTC, datetime
from typing import Any

import httpx2
import trio
from botocore.auth import SigV4Auth as BotocoreSigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.loaders import Loader

from ekstrio.aws.transport import CallPolicy, CallStats, RateLimits, Transport
from ekstrio.model import RoleCredentials

# The region and account of the wire tests, and the EKS host they mock.
REGION = "eu-west-1"
ACCOUNT = "111122223333"
EKS_BASE = f"https://eks.{REGION}.amazonaws.com"

CREDS = RoleCredentials(
    access_key_id="ASIATESTACCESSKEY01",
    secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    session_token="FwoGZXIvYXdzEXAMPLE/session+token==",
    expiration=datetime(2030, 1, 1, tzinfo=UTC),
)

# Building an SSL context costs ~0.2 s; respx never does TLS, so all test clients share one.
_SSL = ssl.create_default_context()


def respx_client() -> httpx2.AsyncClient:
    """An httpx2 client for respx-mocked tests."""
    return httpx2.AsyncClient(verify=_SSL)


# No backoff, one attempt: error-mapping tests see the first answer as it is.
ONE_SHOT = CallPolicy(call_timeout=30.0, attempts=1, backoff_initial=0.0, backoff_max=0.0,
                      backoff_jitter=0.0)


def make_transport(
    client: httpx2.AsyncClient,
    *,
    policy: CallPolicy = ONE_SHOT,
    rates: RateLimits | None = None,
    in_flight: int = 100,
) -> Transport:
    return Transport(
        client,
        limiter=trio.CapacityLimiter(in_flight),
        rates=rates or RateLimits(default_rate=math.inf),
        policy=policy,
        stats=CallStats(),
    )


def model_errors(service: str, operation: str) -> list[tuple[str, int]]:
    """(error shape name, HTTP status) for every error botocore's model names for an operation."""
    model: dict[str, Any] = Loader().load_service_model(service, "service-2")
    shapes = model["shapes"]
    return [
        (ref["shape"], shapes[ref["shape"]]["error"]["httpStatusCode"])
        for ref in model["operations"][operation].get("errors", [])
    ]


def aws_error(
    code: str, status: int, message: str = "boom", headers: dict[str, str] | None = None
) -> httpx2.Response:
    """An error answer shaped like AWS rest-json: x-amzn-ErrorType + JSON body."""
    return httpx2.Response(
        status,
        headers={"x-amzn-ErrorType": f"{code}:http://internal.amazon.com/coral/x/",
                 "x-amzn-RequestId": "req-123", **(headers or {})},
        json={"message": message, "__type": f"com.amazonaws.x#{code}"},
    )


AUTH_HEADER = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<signed>[^,]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)


def recompute_signature(sent: httpx2.Request, service: str, region: str) -> str:
    """What botocore signs for the request exactly as it went on the wire: same
    method, raw URL, body, and the values of the headers it claims to sign."""
    match = AUTH_HEADER.match(sent.headers["Authorization"])
    assert match, sent.headers["Authorization"]
    signed = match["signed"].split(";")
    aws_request = AWSRequest(
        method=sent.method,
        url=str(sent.url),
        headers={name: sent.headers[name] for name in signed},
        data=sent.content,
    )
    aws_request.context["timestamp"] = sent.headers["X-Amz-Date"]
    signer = BotocoreSigV4Auth(
        Credentials(CREDS.access_key_id, CREDS.secret_access_key, CREDS.session_token),
        service, region)
    canonical = signer.canonical_request(aws_request)
    return str(signer.signature(signer.string_to_sign(aws_request, canonical), aws_request))


def assert_signed(sent: httpx2.Request, service: str, region: str = REGION, *,
                  signed_headers: str | None = None) -> None:
    """``sent`` carries SigV4 for :data:`CREDS` (session token included), ``service`` and
    ``region``, and its signature is botocore's for the request exactly as it went out;
    ``signed_headers``: also the exact SignedHeaders list."""
    authorization = sent.headers["Authorization"]
    match = AUTH_HEADER.match(authorization)
    assert match, authorization
    assert (match["key"], match["region"], match["service"]) == (
        CREDS.access_key_id, region, service)
    assert signed_headers is None or match["signed"] == signed_headers
    assert "x-amz-security-token" in match["signed"].split(";")
    assert sent.headers["X-Amz-Security-Token"] == CREDS.session_token
    assert match["signature"] == recompute_signature(sent, service, region)
