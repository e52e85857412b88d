"""Quotas, faults and concurrency of the sim, over real sockets with trio + httpx2."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import botocore.session
import httpx2
import pytest
import trio
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, ConnectionClosedError

from ekstrio.sim.testing import SimHandle

TOKEN_HEADER = "x-amz-sso_bearer_token"


def eks_credentials(sim: SimHandle) -> tuple[str, Credentials]:
    acct = next(a for a in sim.org["accounts"] if any(r["eksAccess"] for r in a["roles"]))
    resp = httpx2.get(f"{sim.endpoint}/federation/credentials",
                     params={"account_id": acct["accountId"],
                             "role_name": sim.eks_role(acct["accountId"])},
                     headers={TOKEN_HEADER: sim.issue_token()})
    rc = resp.json()["roleCredentials"]
    return acct["accountId"], Credentials(rc["accessKeyId"], rc["secretAccessKey"],
                                          rc["sessionToken"])


def signed_list(sim: SimHandle, creds: Credentials, region: str) -> tuple[str, dict[str, str]]:
    req = AWSRequest("GET", f"{sim.endpoint}/clusters")
    SigV4Auth(creds, "eks", region).add_auth(req)
    return req.url, dict(req.headers)


async def burst(requests: list[tuple[str, dict[str, str]]]) -> list[httpx2.Response]:
    """Send all requests at once (one connection each) and return the responses in order."""
    out: list[Any] = [None] * len(requests)
    limits = httpx2.Limits(max_connections=len(requests) + 10)
    async with httpx2.AsyncClient(limits=limits, timeout=60) as http:

        async def one(i: int, url: str, headers: dict[str, str]) -> None:
            out[i] = await http.get(url, headers=headers)

        async with trio.open_nursery() as nursery:
            for i, (url, headers) in enumerate(requests):
                nursery.start_soon(one, i, url, headers)
    return out


async def test_portal_quota_is_per_bearer_token(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim(portal_rps=5)
    url = f"{sim.endpoint}/assignment/accounts"
    one = sim.issue_token()
    over = await burst([(url, {TOKEN_HEADER: one})] * 12)
    statuses = [r.status_code for r in over]
    assert statuses.count(429) >= 1
    assert set(statuses) <= {200, 429}
    throttled = next(r for r in over if r.status_code == 429)
    assert throttled.headers["x-amzn-errortype"] == "TooManyRequestsException"
    # The same load over two tokens (two scopes) stays within each one's quota.
    a, b = sim.issue_token(), sim.issue_token()
    split = await burst([(url, {TOKEN_HEADER: a})] * 5 + [(url, {TOKEN_HEADER: b})] * 5)
    assert [r.status_code for r in split] == [200] * 10


async def test_eks_quota_is_per_account_and_region(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim(eks_rps=5, regions=("eu-west-1", "us-east-1", "us-west-2"))
    _, creds = eks_credentials(sim)
    over = await burst([signed_list(sim, creds, "eu-west-1") for _ in range(12)])
    statuses = [r.status_code for r in over]
    assert statuses.count(429) >= 1
    assert set(statuses) <= {200, 429}
    throttled = next(r for r in over if r.status_code == 429)
    assert throttled.headers["x-amzn-errortype"] == "ThrottlingException"
    split = await burst([signed_list(sim, creds, "us-east-1") for _ in range(5)]
                        + [signed_list(sim, creds, "us-west-2") for _ in range(5)])
    assert [r.status_code for r in split] == [200] * 10


async def raw_get(endpoint: str, path: str, headers: dict[str, str]) -> int:
    """One HTTP/1.1 GET on its own TCP connection with plain trio streams; the status code.

    httpx2's pool costs ~10 ms of CPU per connection at 500 connections; raw streams keep this
    test about the server.
    """
    parts = urlsplit(endpoint)
    lines = [f"GET {path} HTTP/1.1", f"host: {parts.netloc}", "connection: close",
             *(f"{k}: {v}" for k, v in headers.items())]
    stream = await trio.open_tcp_stream(parts.hostname or "", parts.port or 80)
    async with stream:
        await stream.send_all(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while chunk := await stream.receive_some(65536):
            data += chunk
    return int(data.split(b" ", 2)[1])


@pytest.mark.parametrize("server", ["hypercorn", "h11"])
async def test_500_concurrent_connections_are_all_answered(
        make_sim: Callable[..., SimHandle], server: str) -> None:
    sim = make_sim(latency_ms=3000, portal_rps=0, server=server)
    headers = {TOKEN_HEADER: sim.issue_token()}
    statuses: list[int] = []

    async def one() -> None:
        statuses.append(await raw_get(sim.endpoint, "/assignment/accounts", headers))

    async with trio.open_nursery() as nursery:
        for _ in range(500):
            nursery.start_soon(one)
    assert statuses == [200] * 500
    # The latency is a sleep, so the requests really were open at the same time.
    assert sim.stats()["max_in_flight"] >= 400


def test_fault_rate_answers_5xx_in_each_services_shape(make_sim: Callable[..., SimHandle]) -> None:
    sim = make_sim(fault_rate=1.0)
    token = sim.issue_token()  # admin routes are never faulted
    cfg = Config(retries={"total_max_attempts": 1})
    session = botocore.session.Session()
    sso = session.create_client("sso", region_name=sim.sso_region,
                                endpoint_url=sim.endpoint, config=cfg)
    codes = set()
    for _ in range(12):
        with pytest.raises(ClientError) as exc:
            sso.list_accounts(accessToken=token)
        codes.add((exc.value.response["Error"]["Code"],
                   exc.value.response["ResponseMetadata"]["HTTPStatusCode"]))
    assert codes <= {("InternalServerException", 500), ("ServiceUnavailableException", 503)}
    assert len(codes) == 2
    creds = Credentials("ASIAANYTHING00000000", "x", "y")  # faults come before the signature
    eks = session.create_client("eks", region_name="eu-west-1", endpoint_url=sim.endpoint,
                                config=cfg, aws_access_key_id=creds.access_key,
                                aws_secret_access_key=creds.secret_key,
                                aws_session_token=creds.token)
    with pytest.raises(ClientError) as exc:
        eks.list_clusters()
    assert exc.value.response["Error"]["Code"] in ("ServerException", "ServiceUnavailableException")
    # OIDC is not faulted.
    oidc = session.create_client("sso-oidc", region_name=sim.sso_region,
                                 endpoint_url=sim.endpoint, config=cfg)
    assert oidc.register_client(clientName="x", clientType="public")["clientId"]
    assert sim.stats()["faults"] == 13


@pytest.mark.parametrize("server", ["hypercorn", "h11"])
def test_reset_rate_drops_the_connection(make_sim: Callable[..., SimHandle],
                                        server: str) -> None:
    sim = make_sim(reset_rate=1.0, server=server)
    token = sim.issue_token()
    with pytest.raises(httpx2.RemoteProtocolError, match="without sending a response"):
        httpx2.get(f"{sim.endpoint}/assignment/accounts", headers={TOKEN_HEADER: token})
    sso = botocore.session.Session().create_client(
        "sso", region_name=sim.sso_region, endpoint_url=sim.endpoint,
        config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(ConnectionClosedError):
        sso.list_accounts(accessToken=token)
    stats = sim.stats()
    assert stats["resets"] == 2
    assert stats["by_status"] == {"200": 1}  # the admin token call; resets have no status


@pytest.mark.parametrize("server", ["hypercorn", "h11"])
def test_hang_rate_never_answers(make_sim: Callable[..., SimHandle], server: str) -> None:
    sim = make_sim(hang_rate=1.0, server=server)
    with pytest.raises(httpx2.ReadTimeout):
        httpx2.get(f"{sim.endpoint}/assignment/accounts",
                  headers={TOKEN_HEADER: sim.issue_token()}, timeout=0.5)
    assert sim.stats()["hangs"] == 1
