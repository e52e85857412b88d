"""Benchmark: SigV4 signing cost per call, botocore's signers vs ekstrio's one pure signer.

Not a test. Signs the same request ``--calls`` times with each signer, in alternating rounds in
one process, and prints the client CPU per call (best and median round) side by side:

* header auth, bare: ``botocore.auth.SigV4Auth.add_auth`` on an ``AWSRequest`` vs
  ``sigv4.authorization_headers`` (signing key cached, as in a scan; and derived every call);
* header auth as the scan drives it, on an ``httpx2.Request`` (a ListClusters GET with a
  ``nextToken``): the adapter ekstrio used before (copy to an ``AWSRequest``, sign with
  botocore, copy the headers back) vs ``sigv4_auth.SigV4Auth``;
* presigned URL (``ekstrio token``): ``SigV4QueryAuth`` vs ``sigv4.presigned_url``.

Every pair is checked to produce the same bytes before it is timed. Usage::

    python bench/sigv4_bench.py [--calls 5000] [--rounds 7]
"""

# ruff: noqa: T201 (a benchmark prints its table)
from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable, Generator
from datetime import UTC, datetime
from typing import Any

import botocore.auth
import httpx2
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ekstrio.aws import sigv4
from ekstrio.aws.sigv4_auth import SigV4Auth
from ekstrio.model import RoleCredentials

WHEN = datetime(2026, 12, 3, 15, 30, 0, tzinfo=UTC)
TIMESTAMP = "20261203T153000Z"
CREDS = RoleCredentials("ASIATESTACCESSKEY01", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                        "FwoGZXIvYXdzEXAMPLE/session+token==" * 8, WHEN)
BOTO_CREDS = Credentials(CREDS.access_key_id, CREDS.secret_access_key, CREDS.session_token)
IDENTITY = sigv4.SigningIdentity(CREDS.access_key_id, CREDS.secret_access_key,
                                 CREDS.session_token, "eu-west-1", "eks")
URL = ("https://eks.eu-west-1.amazonaws.com/clusters?maxResults=100"
       "&nextToken=ab%2Fc%2Bd%3D%3D%2Fe%2Bf%3D")
STS_URL = "https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15"

_UNSIGNED = frozenset({"accept", "accept-encoding", "connection", "content-length", "host",
                       "user-agent", "authorization", "x-amz-date", "x-amz-security-token"})


class BotocoreAdapter(httpx2.Auth):
    """The adapter the scan used before the pure signer (aws/sigv4.py until today)."""

    def __init__(self, service: str, region: str) -> None:
        self.service, self.region = service, region

    def sign(self, request: httpx2.Request) -> None:
        headers = {n: v for n, v in request.headers.items() if n.lower() not in _UNSIGNED}
        aws = AWSRequest(method=request.method, url=str(request.url), headers=headers,
                         data=request.content)
        botocore.auth.SigV4Auth(BOTO_CREDS, self.service, self.region).add_auth(aws)
        for name in ("X-Amz-Date", "X-Amz-Security-Token", "Authorization"):
            value = aws.headers.get(name)
            if value is not None:
                request.headers[name] = value

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, Any, None]:
        self.sign(request)
        yield request


def boto_header() -> str:
    aws = AWSRequest(method="GET", url=URL, headers={})
    botocore.auth.SigV4Auth(BOTO_CREDS, "eks", "eu-west-1").add_auth(aws)
    return str(aws.headers["Authorization"])


def pure_header() -> str:
    return sigv4.authorization_headers(IDENTITY, "GET", URL, (), b"",
                                       timestamp=TIMESTAMP).authorization


def pure_header_uncached() -> str:
    sigv4.signing_key.cache_clear()
    return pure_header()


def _request() -> httpx2.Request:
    return httpx2.Request("GET", URL, headers={"Accept": "*/*", "User-Agent": "ekstrio"})


OLD_ADAPTER = BotocoreAdapter("eks", "eu-west-1")
NEW_ADAPTER = SigV4Auth(CREDS, "eks", "eu-west-1", clock=WHEN.timestamp)


def adapter(auth: BotocoreAdapter | SigV4Auth, requests: list[httpx2.Request]) -> Callable[[], str]:
    # Signing mutates the request, so each call signs a fresh one, built before the clock runs.
    pending = iter(requests)

    def sign() -> str:
        request = next(pending)
        auth.sign(request)
        return request.headers["Authorization"]

    return sign


def boto_presign() -> str:
    aws = AWSRequest(method="GET", url=STS_URL, headers={"x-k8s-aws-id": "web"})
    botocore.auth.SigV4QueryAuth(
        BOTO_CREDS, "sts", "eu-west-1", expires=60).add_auth(aws)
    return str(aws.url)


STS_IDENTITY = sigv4.SigningIdentity(CREDS.access_key_id, CREDS.secret_access_key,
                                     CREDS.session_token, "eu-west-1", "sts")


def pure_presign() -> str:
    return sigv4.presigned_url(STS_IDENTITY, "GET", STS_URL, (("x-k8s-aws-id", "web"),),
                               timestamp=TIMESTAMP, expires=60)


def cpu_per_call(make: Callable[[], Callable[[], object]], calls: int) -> float:
    fn = make()
    start = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    # botocore reads the clock itself; pin it so both sides sign the same bytes.
    botocore.auth.get_current_datetime = lambda: WHEN.replace(tzinfo=None)
    def fixed(fn: Callable[[], str]) -> Callable[[], Callable[[], str]]:
        return lambda: fn

    def signing(auth: BotocoreAdapter | SigV4Auth) -> Callable[[], Callable[[], str]]:
        return lambda: adapter(auth, [_request() for _ in range(args.calls)])

    pairs = [
        ("header auth, bare (key cached)", fixed(boto_header), fixed(pure_header)),
        ("header auth, bare (key derived each call)", fixed(boto_header),
         fixed(pure_header_uncached)),
        ("httpx2.Auth adapter, signing a Request", signing(OLD_ADAPTER), signing(NEW_ADAPTER)),
        ("presigned STS URL (ekstrio token)", fixed(boto_presign), fixed(pure_presign)),
    ]
    for label, boto, pure in pairs:
        if boto()() != pure()():  # same bytes, or the timing means nothing
            raise SystemExit(f"{label}: the two signers disagree")
    rows = []
    for label, boto, pure in pairs:
        boto_times, pure_times = [], []
        for _ in range(args.rounds):  # alternate, so drift on a noisy machine hits both sides
            boto_times.append(cpu_per_call(boto, args.calls))
            pure_times.append(cpu_per_call(pure, args.calls))
        rows.append((label, boto_times, pure_times))
    print(f"SigV4 signing, CPU per call (µs), {args.calls} calls x {args.rounds} rounds, "
          f"best / median round; {platform.python_implementation()} {platform.python_version()}"
          f" on {platform.machine()}")
    print(f"{'':44} {'botocore':>17} {'pure signer':>17} {'ratio':>7}")
    for label, boto_times, pure_times in rows:
        b, p = min(boto_times), min(pure_times)
        bm, pm = statistics.median(boto_times), statistics.median(pure_times)
        print(f"{label:44} {b * 1e6:7.1f} / {bm * 1e6:7.1f} {p * 1e6:7.1f} / {pm * 1e6:7.1f}"
              f" {bm / pm:6.1f}x")
    print("ratio: botocore ÷ pure signer, median rounds. Before today the scan signed with the "
          "botocore adapter, ekstrio token with hand-written hmac code (now the pure signer).")


if __name__ == "__main__":
    main()
