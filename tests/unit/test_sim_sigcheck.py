"""SigV4 verification in the sim, against requests signed by botocore itself."""

from __future__ import annotations

import base64
import calendar
from datetime import datetime

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ekstrio.sim import sigcheck
from ekstrio.sim.state import IssuedCredentials

from botocore_clock import botocore_signing_time  # isort: skip

WHEN = datetime(2026, 11, 28, 12, 0, 0)
NOW = float(calendar.timegm(WHEN.timetuple()))
HOST = "127.0.0.1:4000"
ISSUED = IssuedCredentials("ASIAEXAMPLEEXAMPLE00", "secret-key", "session-token",
                           "111122223333", "AdministratorAccess", NOW + 3600)
CREDS = Credentials(ISSUED.access_key_id, ISSUED.secret_access_key, ISSUED.session_token)


def lookup(akid: str) -> IssuedCredentials | None:
    return ISSUED if akid == ISSUED.access_key_id else None


def signed(path: str = "/clusters", query: str = "", *, creds: Credentials = CREDS,
           service: str = "eks", region: str = "eu-west-1", method: str = "GET",
           body: bytes = b"") -> dict[str, str]:
    url = f"http://{HOST}{path}" + (f"?{query}" if query else "")
    req = AWSRequest(method, url, data=body)
    with botocore_signing_time(WHEN):
        SigV4Auth(creds, service, region).add_auth(req)
    headers = {k.lower(): v for k, v in req.headers.items()}
    headers["host"] = HOST
    return headers


def verify(headers: dict[str, str], path: str = "/clusters", query: str = "", *,
           now: float = NOW, service: str = "eks", method: str = "GET",
           body: bytes = b"") -> sigcheck.Identity | sigcheck.SigFailure:
    return sigcheck.verify_header(method=method, host=HOST, raw_path=path, raw_query=query,
                                  headers=headers, body=body, service=service, lookup=lookup,
                                  now=now)


def kind(result: sigcheck.Identity | sigcheck.SigFailure) -> str:
    return result.kind if isinstance(result, sigcheck.SigFailure) else "ok"


def test_botocore_signature_verifies_and_names_region() -> None:
    query = "maxResults=5&nextToken=%2B%2F%2B%2Fab%3D%3D"
    result = verify(signed(query=query), query=query)
    assert isinstance(result, sigcheck.Identity)
    assert result.region == "eu-west-1"
    assert result.credentials is ISSUED


def test_post_body_is_covered() -> None:
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    headers = signed("/", method="POST", service="sts", body=body)
    assert kind(verify(headers, "/", method="POST", service="sts", body=body)) == "ok"
    assert kind(verify(headers, "/", method="POST", service="sts", body=body + b"x")) == \
        "signature"


@pytest.mark.parametrize(("change", "expected"), [
    (lambda h: h.pop("authorization"), "missing"),
    (lambda h: h.update(authorization="AWS4-HMAC-SHA256 Credential=x"), "incomplete"),
    (lambda h: h.update({"x-amz-security-token": "other"}), "unrecognized"),
    (lambda h: h.update(authorization=h["authorization"].replace("ASIAEXAMPLE", "ASIAOTHERXX")),
     "unrecognized"),
])
def test_header_problems(change: object, expected: str) -> None:
    headers = signed()
    change(headers)  # type: ignore[operator]
    assert kind(verify(headers)) == expected


def test_wrong_secret_path_query_or_service() -> None:
    bad = Credentials(CREDS.access_key, "wrong", CREDS.token)
    assert kind(verify(signed(creds=bad))) == "signature"
    assert kind(verify(signed("/clusters/a"), "/clusters/b")) == "signature"
    assert kind(verify(signed(query="maxResults=5"), query="maxResults=6")) == "signature"
    assert kind(verify(signed(service="sts"))) == "scope"


def test_time_checks() -> None:
    headers = signed()
    assert kind(verify(headers, now=NOW + 299)) == "ok"
    assert kind(verify(headers, now=NOW + 301)) == "skew"
    assert kind(verify(headers, now=NOW - 301)) == "skew"
    assert kind(verify(headers, now=NOW + 3600)) == "expired"  # the credentials themselves


def presigned_token(cluster: str = "web", host: str = "sts.eu-west-1.amazonaws.com") -> str:
    req = AWSRequest("GET", f"https://{host}/?Action=GetCallerIdentity&Version=2011-06-15",
                     headers={"x-k8s-aws-id": cluster})
    with botocore_signing_time(WHEN):
        SigV4QueryAuth(CREDS, "sts", "eu-west-1", expires=60).add_auth(req)
    return "k8s-aws-v1." + base64.urlsafe_b64encode(req.url.encode()).decode().rstrip("=")


def check_token(token: str, cluster: str = "web", now: float = NOW) -> str:
    url = sigcheck.decode_eks_token(token)
    assert isinstance(url, str)
    return kind(sigcheck.verify_presigned(
        url, cluster_name=cluster, lookup=lookup, now=now,
        sts_hosts=frozenset({"sts.eu-west-1.amazonaws.com", "sts.amazonaws.com"}),
        local_hosts=frozenset({HOST})))


def test_presigned_token_checks() -> None:
    token = presigned_token()
    assert check_token(token) == "ok"
    assert check_token(token, cluster="api") == "signature"
    # Valid until X-Amz-Date + 15 min, whatever X-Amz-Expires (60 s) says.
    assert check_token(token, now=NOW + 899) == "ok"
    assert check_token(token, now=NOW + 901) == "expired"
    assert check_token(presigned_token(host="sts.example.com")) == "incomplete"


def test_decode_eks_token() -> None:
    assert isinstance(sigcheck.decode_eks_token("k8s-aws-v1.!!!"), sigcheck.SigFailure)
    assert sigcheck.decode_eks_token(
        "k8s-aws-v1." + base64.urlsafe_b64encode(b"https://x/").decode().rstrip("=")
    ) == "https://x/"
