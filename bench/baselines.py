"""The three ways to scan that ekstrio is compared with; each runs as its own process.

    BENCH_SSO_TOKEN=... python bench/baselines.py {sequential,old,botocore} --endpoint URL \
        --regions r1,r2 [--limit N]

* ``sequential``: one call at a time with a plain httpx2 client: accounts, then per account its
  roles, credentials, regions and clusters in turn.
* ``old``: the old design: a fixed pool of 10 worker threads (one account each at a time) and
  one global 100 ms gap between any two requests.
* ``botocore``: what a Python user writes: botocore ``sso`` and ``eks`` clients (paginators,
  ``Config(retries={"mode": "standard"})``) in a ``ThreadPoolExecutor(10)`` over accounts.

All three choose roles like ekstrio (``ekstrio.filters.order_roles``) and move to the next role
when EKS denies one, so they can find the same clusters. ``--limit N`` scans only the first N
accounts (the benchmark extrapolates from it on the large org). The process prints one JSON
line: the clusters found, the calls made (first tries), the retries and the failures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ekstrio.filters import order_roles

TOKEN_HEADER = "x-amz-sso_bearer_token"  # noqa: S105 - a header name


class Denied(Exception):
    """EKS refused this role (AccessDeniedException): try the next one."""


class Failed(Exception):
    """A call failed for good."""


class Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls = 0
        self.retries = 0

    def add(self, calls: int = 0, retries: int = 0) -> None:
        with self.lock:
            self.calls += calls
            self.retries += retries


# ----------------------------------------------------------------------------- httpx2 baselines
class HttpxScanner:
    """Sequential and old-design scans: plain sync httpx2, botocore's SigV4 signer for EKS."""

    def __init__(self, endpoint: str, token: str, counter: Counter,
                 pace: Callable[[], None] | None = None) -> None:
        import httpx2

        self.endpoint = endpoint
        self.token = token
        self.counter = counter
        self.pace = pace or (lambda: None)
        self._local = threading.local()
        self._httpx = httpx2

    @property
    def client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._httpx.Client(timeout=30.0, trust_env=False)
        return client

    def _send(self, method: str, url: str, headers: dict[str, str]) -> Any:
        """One call with a simple retry: 429, 5xx and broken connections, up to 5 tries."""
        self.counter.add(calls=1)
        for attempt in range(5):
            if attempt:
                self.counter.add(retries=1)
                time.sleep(min(0.25 * 2 ** attempt, 4.0))
            self.pace()
            try:
                response = self.client.request(method, url, headers=headers)
            except self._httpx.TransportError:
                continue
            if response.status_code == 429 or response.status_code >= 500:
                continue
            return response
        raise Failed(f"{method} {url.split('?')[0]}: gave up after 5 tries")

    def portal(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        from urllib.parse import urlencode

        url = f"{self.endpoint}{path}?{urlencode(params)}"
        response = self._send("GET", url, {TOKEN_HEADER: self.token})
        if response.status_code != 200:
            raise Failed(f"portal {path}: HTTP {response.status_code}")
        return dict(response.json())

    def eks(self, creds: dict[str, str], region: str, path: str,
            params: dict[str, str]) -> dict[str, Any]:
        from urllib.parse import quote, urlencode

        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        query = urlencode(params, quote_via=quote)
        url = f"{self.endpoint}{path}" + (f"?{query}" if query else "")
        request = AWSRequest("GET", url)
        SigV4Auth(Credentials(creds["accessKeyId"], creds["secretAccessKey"],
                              creds["sessionToken"]), "eks", region).add_auth(request)
        response = self._send("GET", url, dict(request.headers.items()))
        if response.status_code == 403 and "AccessDenied" in response.headers.get(
                "x-amzn-ErrorType", ""):
            raise Denied(path)
        if response.status_code != 200:
            raise Failed(f"eks {path}: HTTP {response.status_code}")
        return dict(response.json())

    def accounts(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        token = None
        while True:
            params = {"max_result": "100", **({"next_token": token} if token else {})}
            page = self.portal("/assignment/accounts", params)
            out.extend(page.get("accountList", []))
            token = page.get("nextToken")
            if not token:
                return out

    def scan_account(self, account_id: str, regions: list[str]) -> list[tuple[str, str, str]]:
        roles: list[str] = []
        token = None
        while True:
            params = {"account_id": account_id, "max_result": "100",
                      **({"next_token": token} if token else {})}
            page = self.portal("/assignment/roles", params)
            roles.extend(r["roleName"] for r in page.get("roleList", []))
            token = page.get("nextToken")
            if not token:
                break
        for role in order_roles(roles):
            creds = self.portal("/federation/credentials",
                                {"account_id": account_id, "role_name": role})["roleCredentials"]
            try:
                return [(account_id, region, name) for region in regions
                        for name in self.scan_region(creds, region)]
            except Denied:
                continue
        return []

    def scan_region(self, creds: dict[str, str], region: str) -> list[str]:
        names: list[str] = []
        token = None
        while True:
            params = {"maxResults": "100", **({"nextToken": token} if token else {})}
            page = self.eks(creds, region, "/clusters", params)
            names.extend(page.get("clusters", []))
            token = page.get("nextToken")
            if not token:
                break
        for name in names:
            self.eks(creds, region, f"/clusters/{name}", {})
        return names


def global_gap(seconds: float) -> Callable[[], None]:
    """The old design's pacing: any two requests, from any worker, start ``seconds`` apart."""
    lock = threading.Lock()
    next_at = [0.0]

    def pace() -> None:
        with lock:
            now = time.monotonic()
            wait = next_at[0] - now
            next_at[0] = max(now, next_at[0]) + seconds
        if wait > 0:
            time.sleep(wait)

    return pace


# --------------------------------------------------------------------------- botocore baseline
class BotocoreScanner:
    """botocore clients with standard retries, one EKS client per account and region."""

    def __init__(self, endpoint: str, token: str, sso_region: str, counter: Counter) -> None:
        import botocore.session
        from botocore.config import Config

        self.session = botocore.session.get_session()
        self.config = Config(retries={"mode": "standard"}, max_pool_connections=10)
        self.token = token
        self.counter = counter
        self.endpoint = endpoint
        self.sso = self.session.create_client("sso", region_name=sso_region,
                                              endpoint_url=endpoint, config=self.config)
        self._lock = threading.Lock()

    def _client(self, service: str, region: str, creds: dict[str, str]) -> Any:
        # botocore.session is not thread-safe while it loads data: serialise client creation.
        with self._lock:
            return self.session.create_client(
                service, region_name=region, endpoint_url=self.endpoint, config=self.config,
                aws_access_key_id=creds["accessKeyId"],
                aws_secret_access_key=creds["secretAccessKey"],
                aws_session_token=creds["sessionToken"])

    def accounts(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for page in self.sso.get_paginator("list_accounts").paginate(accessToken=self.token):
            self.counter.add(calls=1)
            out.extend(page["accountList"])
        return out

    def scan_account(self, account_id: str, regions: list[str]) -> list[tuple[str, str, str]]:
        from botocore.exceptions import ClientError

        roles: list[str] = []
        for page in self.sso.get_paginator("list_account_roles").paginate(
                accessToken=self.token, accountId=account_id):
            self.counter.add(calls=1)
            roles.extend(r["roleName"] for r in page["roleList"])
        for role in order_roles(roles):
            self.counter.add(calls=1)
            creds = self.sso.get_role_credentials(roleName=role, accountId=account_id,
                                                  accessToken=self.token)["roleCredentials"]
            found: list[tuple[str, str, str]] = []
            try:
                for region in regions:
                    eks = self._client("eks", region, creds)
                    for page in eks.get_paginator("list_clusters").paginate():
                        self.counter.add(calls=1)
                        for name in page["clusters"]:
                            self.counter.add(calls=1)
                            eks.describe_cluster(name=name)
                            found.append((account_id, region, name))
            except ClientError as exc:
                if exc.response["Error"]["Code"] == "AccessDeniedException":
                    # the denied call raised before the paginator yielded: count it here
                    self.counter.add(calls=1)
                    continue
                raise
            return found
        return []


# -------------------------------------------------------------------------------------- main
def run(kind: str, endpoint: str, token: str, sso_region: str, regions: list[str],
        limit: int | None) -> dict[str, Any]:
    counter = Counter()
    scanner: Any
    if kind == "botocore":
        scanner = BotocoreScanner(endpoint, token, sso_region, counter)
    elif kind == "old":
        scanner = HttpxScanner(endpoint, token, counter, pace=global_gap(0.1))
    else:
        scanner = HttpxScanner(endpoint, token, counter)
    accounts = scanner.accounts()
    if limit is not None:
        accounts = accounts[:limit]
    found: list[tuple[str, str, str]] = []
    errors: list[str] = []

    def one(account: dict[str, Any]) -> None:
        try:
            found.extend(scanner.scan_account(account["accountId"], regions))
        except Exception as exc:  # a failed account is a result here, as in any scan tool
            errors.append(f"{account['accountId']}: {type(exc).__name__}: {exc}"[:300])

    if kind == "sequential":
        for account in accounts:
            one(account)
    else:
        with ThreadPoolExecutor(max_workers=10) as pool:
            list(pool.map(one, accounts))
    return {"accounts": len(accounts), "clusters": sorted(found), "calls": counter.calls,
            "retries": counter.retries, "error_count": len(errors), "errors": errors[:5]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["sequential", "old", "botocore"])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--sso-region", default="us-east-1")
    parser.add_argument("--regions", required=True)
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    # The SSO token comes from the environment, not argv (argv is visible to every user).
    result = run(args.kind, args.endpoint, os.environ["BENCH_SSO_TOKEN"], args.sso_region,
                 args.regions.split(","), args.limit)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
