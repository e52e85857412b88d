"""aws/sigv4, the one signer: byte for byte what botocore's SigV4Auth / SigV4QueryAuth produce
for the same credentials and time (botocore is the oracle)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import botocore.auth
import httpx2
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from wire_fakes import CREDS

from ekstrio.aws import sigv4
from ekstrio.aws.sigv4_auth import SigV4Auth
from ekstrio.aws.wire import WireRequest, build_url
from ekstrio.model import RoleCredentials

WHEN = datetime(2026, 11, 28, 16, 5, 9, tzinfo=UTC)
TIMESTAMP = "20261128T160509Z"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKENS = ["FwoGZXIvYXdzEXAMPLE/session+token==", None]
PARTITIONS = [  # (region, EKS host) of aws, aws-cn and aws-us-gov
    ("eu-west-1", "eks.eu-west-1.amazonaws.com"),
    ("cn-north-1", "eks.cn-north-1.amazonaws.com.cn"),
    ("us-gov-west-1", "eks.us-gov-west-1.amazonaws.com"),
]


@pytest.fixture(autouse=True)
def pinned_botocore_clock() -> Iterator[None]:
    # Whatever botocore is installed (the lowest-versions CI step runs the declared floor).
    from botocore_clock import botocore_signing_time

    with botocore_signing_time(WHEN):
        yield


def botocore_headers(token: str | None, region: str, service: str, method: str, url: str,
                     headers: Sequence[tuple[str, str]], body: bytes) -> dict[str, str | None]:
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    botocore.auth.SigV4Auth(Credentials("ASIAKEY", SECRET, token), service,
                            region).add_auth(request)
    return {name: request.headers.get(name)
            for name in ("X-Amz-Date", "X-Amz-Security-Token", "Authorization")}


def pure_headers(token: str | None, region: str, service: str, method: str, url: str,
                 headers: Sequence[tuple[str, str]], body: bytes) -> dict[str, str | None]:
    identity = sigv4.SigningIdentity("ASIAKEY", SECRET, token, region, service)
    added = dict(sigv4.authorization_headers(identity, method, url, headers, body,
                                             timestamp=TIMESTAMP).items())
    return {name: added.get(name)
            for name in ("X-Amz-Date", "X-Amz-Security-Token", "Authorization")}


EKS_GETS = [
    # (path, query pairs as the scan builds them, extra headers)
    ("/clusters", (("maxResults", "100"), ("nextToken", "ab/c+d==/e+f=")), ()),
    ("/clusters", (("nextToken", "Zz/+=é ~x✓"), ("include", "all"), ("include", "")), ()),
    ("/clusters", (), (("Accept", "*/*"), ("X-Custom", "  a   b  "))),
    ("/clusters", (("a", "1"),), (("x-amzn-trace-id", "Root=1"), ("traceparent", "00-1"))),
]
ODD_CLUSTERS = ["my-cluster", "My_Cluster.v2", "clüster", "a b", "x/../y", "50%", "~tilde+plus="]


@pytest.mark.parametrize("token", TOKENS)
@pytest.mark.parametrize(("region", "host"), PARTITIONS)
@pytest.mark.parametrize(("path", "query", "headers"), EKS_GETS)
def test_eks_get_with_awkward_queries_is_botocore_identical(
        token: str | None, region: str, host: str, path: str,
        query: tuple[tuple[str, str], ...], headers: tuple[tuple[str, str], ...]) -> None:
    if (any(name.lower() == "traceparent" for name, _ in headers)
            and "traceparent" not in botocore.auth.SIGNED_HEADERS_BLACKLIST):
        pytest.skip("this botocore (older than the one the signer follows) signs traceparent")
    url = build_url(f"https://{host}", WireRequest("GET", path, query))
    args = (token, region, "eks", "GET", url, headers, b"")
    assert pure_headers(*args) == botocore_headers(*args)


@pytest.mark.parametrize("name", ODD_CLUSTERS)
@pytest.mark.parametrize(("region", "host"), PARTITIONS)
def test_describe_paths_with_odd_cluster_names_are_botocore_identical(
        name: str, region: str, host: str) -> None:
    from ekstrio.aws.wire import path_segment

    url = build_url(f"https://{host}", WireRequest("GET", f"/clusters/{path_segment(name)}"))
    args = (TOKENS[0], region, "eks", "GET", url, (), b"")
    assert pure_headers(*args) == botocore_headers(*args)


@pytest.mark.parametrize("url", [
    "https://EKS.eu-west-1.amazonaws.com:443/clusters/a/../b//c/./d/",  # case, default port, dots
    "http://127.0.0.1:4566/base/clusters?x",  # a port that is kept, a name with no '='
    "http://[::1]:8080/clusters?b=2&a=1&a=0",  # IPv6 host, repeated names sorted by value
    "https://eks.eu-west-1.amazonaws.com",  # no path at all
])
def test_hosts_ports_and_paths_are_botocore_identical(url: str) -> None:
    args = (TOKENS[0], "eu-west-1", "eks", "GET", url, (), b"")
    assert pure_headers(*args) == botocore_headers(*args)


@pytest.mark.parametrize("token", TOKENS)
@pytest.mark.parametrize(("region", "host"), PARTITIONS)
def test_post_json_body_is_botocore_identical(token: str | None, region: str, host: str) -> None:
    body = '{"name": "clüster", "tags": {"a": "b/+="}}'.encode()
    headers = (("Content-Type", "application/x-amz-json-1.1"),
               ("X-Amz-Target", "AWSSecurityTokenServiceV20110615.GetCallerIdentity"))
    args = (token, region, "eks", "POST", f"https://{host}/clusters", headers, body)
    assert pure_headers(*args) == botocore_headers(*args)


def test_signature_changes_with_every_input() -> None:
    # The equalities above could not pass by accident: each input moves the signature.
    base = (TOKENS[0], "eu-west-1", "eks", "GET", "https://h/clusters?a=1", (), b"")
    signature = pure_headers(*base)["Authorization"]
    for i, other in [(1, "eu-west-2"), (2, "sts"), (3, "POST"), (4, "https://h/clusters?a=2"),
                     (5, (("X-Custom", "1"),)), (6, b"{}")]:
        changed = list(base)
        changed[i] = other
        assert pure_headers(*changed)["Authorization"] != signature, other


def botocore_presigned(token: str | None, region: str, url: str,
                       headers: Sequence[tuple[str, str]], expires: int = 60) -> str:
    request = AWSRequest(method="GET", url=url, headers=dict(headers))
    botocore.auth.SigV4QueryAuth(Credentials("ASIAKEY", SECRET, token), "sts", region,
                                 expires=expires).add_auth(request)
    return str(request.url)


@pytest.mark.parametrize("token", [*TOKENS, "tok/with+chars=="])
@pytest.mark.parametrize(("region", "host"), [
    ("eu-west-1", "https://sts.eu-west-1.amazonaws.com"),
    ("cn-north-1", "https://sts.cn-north-1.amazonaws.com.cn"),
    ("us-gov-west-1", "https://sts.us-gov-west-1.amazonaws.com"),
    ("eu-west-1", "https://sts.eu-west-1.amazonaws.com:443"),
    ("ap-southeast-2", "http://127.0.0.1:8080"),
])
@pytest.mark.parametrize("cluster", ["web", "cluster with  spaces ", "op-0123456789abcdef0",
                                     "ünï/+="])
def test_sts_presign_is_botocore_identical(token: str | None, region: str, host: str,
                                           cluster: str) -> None:
    url = f"{host}/?Action=GetCallerIdentity&Version=2011-06-15"
    headers = (("x-k8s-aws-id", cluster),)
    identity = sigv4.SigningIdentity("ASIAKEY", SECRET, token, region, "sts")
    ours = sigv4.presigned_url(identity, "GET", url, headers, timestamp=TIMESTAMP, expires=60)
    assert ours == botocore_presigned(token, region, url, headers)


def test_presign_reencodes_the_operation_query_like_botocore() -> None:
    url = "https://sts.eu-west-1.amazonaws.com/p?b=x+y&a=%2F&a=dup&c="
    identity = sigv4.SigningIdentity("ASIAKEY", SECRET, None, "eu-west-1", "sts")
    ours = sigv4.presigned_url(identity, "GET", url, (), timestamp=TIMESTAMP, expires=900)
    assert ours == botocore_presigned(None, "eu-west-1", url, (), expires=900)
    assert "?b=x%20y&a=%2F&c=&X-Amz-Algorithm=" in ours


def test_signing_key_is_cached_per_secret_day_region_and_service() -> None:
    sigv4.signing_key.cache_clear()
    for _ in range(3):
        sigv4.signing_key(SECRET, "20261128", "eu-west-1", "eks")
    sigv4.signing_key(SECRET, "20261129", "eu-west-1", "eks")
    sigv4.signing_key(SECRET + "x", "20261128", "eu-west-1", "eks")
    info = sigv4.signing_key.cache_info()
    assert (info.hits, info.misses) == (2, 3)


def test_identity_hides_secrets_and_treats_an_empty_token_as_none() -> None:
    identity = sigv4.SigningIdentity("ASIAKEY", SECRET, "", "eu-west-1", "eks")
    assert identity.session_token is None
    shown = repr(sigv4.SigningIdentity("ASIAKEY", SECRET, "tok-secret", "eu-west-1", "eks"))
    assert SECRET not in shown
    assert "tok-secret" not in shown
    with_token = sigv4.SigningIdentity("ASIAKEY", SECRET, "tok-secret", "eu-west-1", "eks")
    added = sigv4.authorization_headers(with_token, "GET", "https://h/", (), b"",
                                        timestamp=TIMESTAMP)
    assert ("X-Amz-Security-Token", "tok-secret") in added.items()
    assert "tok-secret" not in repr(added)


# -- the scan's driver: the httpx2.Auth adapter ------------------------------------------------

def old_botocore_adapter(request: httpx2.Request, creds: RoleCredentials, region: str) -> None:
    """What the scan's adapter did before the pure signer: copy to an AWSRequest, let botocore
    sign, copy the three headers back."""
    unsigned = {"accept", "accept-encoding", "connection", "content-length", "host",
                "user-agent", "authorization", "x-amz-date", "x-amz-security-token"}
    aws = AWSRequest(method=request.method, url=str(request.url),
                     headers={n: v for n, v in request.headers.items()
                              if n.lower() not in unsigned},
                     data=request.content)
    botocore.auth.SigV4Auth(Credentials(creds.access_key_id, creds.secret_access_key,
                                        creds.session_token or None), "eks", region).add_auth(aws)
    for name in ("X-Amz-Date", "X-Amz-Security-Token", "Authorization"):
        if aws.headers.get(name) is not None:
            request.headers[name] = aws.headers[name]


@pytest.mark.parametrize("session_token", [CREDS.session_token, ""])
@pytest.mark.parametrize(("method", "url", "content"), [
    ("GET", build_url("https://eks.eu-west-1.amazonaws.com", WireRequest(
        "GET", "/clusters", (("maxResults", "100"), ("nextToken", "ab/c+d==é")))), b""),
    ("GET", "https://eks.cn-north-1.amazonaws.com.cn/clusters/odd%20n%C3%A4me", b""),
    ("POST", "http://127.0.0.1:4566/base/clusters", b'{"name": "x"}'),
])
def test_adapter_sends_what_botocore_signed_before(session_token: str, method: str, url: str,
                                                   content: bytes) -> None:
    creds = RoleCredentials(CREDS.access_key_id, CREDS.secret_access_key, session_token,
                            CREDS.expiration)
    region = "cn-north-1" if ".cn/" in url else "eu-west-1"
    headers = {"Content-Type": "application/json", "User-Agent": "ekstrio/test",
               "Accept": "*/*", "X-Amz-Date": "stale", "Authorization": "stale"}
    ours = httpx2.Request(method, url, headers=headers, content=content)
    theirs = httpx2.Request(method, url, headers=headers, content=content)
    SigV4Auth(creds, "eks", region, clock=WHEN.timestamp).sign(ours)
    old_botocore_adapter(theirs, creds, region)
    assert list(ours.headers.multi_items()) == list(theirs.headers.multi_items())
    assert ("x-amz-security-token" in ours.headers) == bool(session_token)


def test_signer_imports_only_the_standard_library() -> None:
    # `ekstrio token` (run by kubectl before every request) presigns with it.
    probe = ("import sys, ekstrio.aws.sigv4, ekstrio.aws.eks_token; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'botocore', 'httpx', "
             "'httpx2', 'httpcore', 'httpcore2', 'trio', 'yaml', 'rich', 'cyclopts'}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, timeout=60)
    assert done.stdout.strip() == "[]"
