"""Cross-check against a third-party model of EKS: moto's server on 127.0.0.1.

Clusters are created with botocore's own EKS client in two accounts (moto
puts STS AssumeRole credentials in the role's account) and two regions, more
than 100 in one account-region so that ListClusters pages. ekstrio's own
``iter_cluster_names`` + ``describe_cluster`` must return exactly those, and a
third account's credentials must see none of them.

moto quirks (protocol reference §7/§8): every cluster shares one random
endpoint host apart from the region; CA data is random base64; no
accessConfig; nextToken is the next cluster's name.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.session
import moto.eks.utils
import pytest
import trio
from moto.server import ThreadedMotoServer

from ekstrio.aws import eks
from ekstrio.aws.endpoints import resolve
from ekstrio.aws.transport import CallPolicy, CallStats, RateLimits, Transport, make_http_client
from ekstrio.model import ClusterInfo, RoleCredentials

pytestmark = pytest.mark.slow

# Account ids unlikely to be used by any other moto test in this process
# (ThreadedMotoServer shares moto's in-process backends).
ACCOUNT_A = "481516234201"
ACCOUNT_B = "481516234202"
ACCOUNT_C = "481516234203"
REGION_1 = "eu-west-1"
REGION_2 = "ap-southeast-2"
MANY = 105  # > 100: ListClusters must page


@dataclass(frozen=True)
class MotoWorld:
    url: str
    creds: dict[str, RoleCredentials]
    created: dict[tuple[str, str], dict[str, dict[str, Any]]]  # (account, region) -> name -> tags


@dataclass(frozen=True)
class _Partitions:
    partitions: tuple[str, ...]

    def get_available_partitions(self) -> list[str]:
        return list(self.partitions)


def _client(service: str, url: str, region: str, creds: RoleCredentials | None = None) -> Any:
    session = botocore.session.Session()
    return session.create_client(
        service,
        region_name=region,
        endpoint_url=url,
        aws_access_key_id=creds.access_key_id if creds else "testing",
        aws_secret_access_key=creds.secret_access_key if creds else "testing",
        aws_session_token=creds.session_token if creds else None,
    )


def _assume(url: str, account: str) -> RoleCredentials:
    answer = _client("sts", url, "us-east-1").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/scanner", RoleSessionName="ekstrio-test")
    c = answer["Credentials"]
    return RoleCredentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"],
                           c["Expiration"].astimezone(UTC))


@pytest.fixture(scope="module")
def moto_world() -> Iterator[MotoWorld]:
    with pytest.MonkeyPatch.context() as mp:
        # A developer's proxy settings must not capture loopback traffic.
        mp.setenv("NO_PROXY", "127.0.0.1,localhost")
        for name in ("MOTO_ACCOUNT_ID", "AWS_ENDPOINT_URL", "HTTP_PROXY", "HTTPS_PROXY",
                     "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            mp.delenv(name, raising=False)
        # moto validates each CreateCluster role ARN against boto3's partition
        # list, building a new boto3 Session (and re-reading endpoints.json)
        # every time: ~0.4 s per cluster. Same check, computed once.
        partitions = tuple(boto3.Session().get_available_partitions())
        mp.setattr(moto.eks.utils, "Session", lambda: _Partitions(partitions))
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            url = f"http://{host}:{port}"
            creds = {account: _assume(url, account)
                     for account in (ACCOUNT_A, ACCOUNT_B, ACCOUNT_C)}
            plan = {
                (ACCOUNT_A, REGION_1): [f"a1-{i:03}" for i in range(MANY)],
                (ACCOUNT_A, REGION_2): ["a2-web", "a2-batch"],
                (ACCOUNT_B, REGION_1): ["b1-only"],
                (ACCOUNT_B, REGION_2): ["b2-x", "b2-y", "b2-z"],
            }
            created: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
            for (account, region), names in plan.items():
                client = _client("eks", url, region, creds[account])
                created[(account, region)] = {}
                for i, name in enumerate(names):
                    tags = {"idx": str(i), "owner": account}
                    client.create_cluster(
                        name=name, version="1.31", tags=tags,
                        roleArn=f"arn:aws:iam::{account}:role/eks",
                        resourcesVpcConfig={"subnetIds": ["subnet-1"]})
                    created[(account, region)][name] = tags
            yield MotoWorld(url, creds, created)
        finally:
            server.stop()


async def _scan(world: MotoWorld, account: str, region: str) -> tuple[list[list[str]],
                                                                      list[ClusterInfo],
                                                                      CallStats]:
    endpoint = resolve("eks", region, env={"AWS_ENDPOINT_URL": world.url})
    stats = CallStats()
    async with make_http_client() as client:
        t = Transport(client, limiter=trio.CapacityLimiter(20),
                      rates=RateLimits(default_rate=1000.0),
                      policy=CallPolicy(call_timeout=20.0, attempts=2, backoff_initial=0.1,
                                        backoff_max=0.5),
                      stats=stats)
        creds = world.creds[account]
        pages = [page async for page in eks.iter_cluster_names(
            t, endpoint, creds, account_id=account, region=region)]
        infos: list[ClusterInfo] = []

        async def describe(name: str) -> None:
            infos.append(await eks.describe_cluster(t, endpoint, creds, account_id=account,
                                                    region=region, name=name))

        async with trio.open_nursery() as nursery:
            for page in pages:
                for name in page:
                    nursery.start_soon(describe, name)
    return pages, infos, stats


@pytest.mark.parametrize(("account", "region"), [(ACCOUNT_A, REGION_1), (ACCOUNT_A, REGION_2),
                                                 (ACCOUNT_B, REGION_1), (ACCOUNT_B, REGION_2)])
async def test_ekstrio_sees_exactly_the_clusters_botocore_created(
    moto_world: MotoWorld, account: str, region: str
) -> None:
    expected = moto_world.created[(account, region)]
    pages, infos, stats = await _scan(moto_world, account, region)
    listed = [name for page in pages for name in page]
    assert sorted(listed) == sorted(expected)
    assert len(listed) == len(set(listed))
    if len(expected) > 100:
        assert [len(page) for page in pages] == [100, len(expected) - 100]
    assert {info.name for info in infos} == set(expected)
    now = datetime.now(UTC)
    for info in infos:
        assert info.arn == f"arn:aws:eks:{region}:{account}:cluster/{info.name}"
        assert info.status == "ACTIVE"
        assert info.version == "1.31"
        assert dict(info.tags) == expected[info.name]
        assert info.endpoint is not None
        assert f".{region}.eks.amazonaws.com" in info.endpoint
        assert info.certificate_authority_data
        assert info.created_at is not None
        assert now - timedelta(hours=1) < info.created_at <= now + timedelta(minutes=1)
        assert info.authentication_mode is None  # moto models no accessConfig
        assert info.outpost_id is None
    assert stats.errors == 0
    assert stats.calls == len(pages) + len(expected)


@pytest.mark.parametrize("region", [REGION_1, REGION_2])
async def test_another_accounts_credentials_see_none_of_them(moto_world: MotoWorld,
                                                             region: str) -> None:
    pages, infos, _ = await _scan(moto_world, ACCOUNT_C, region)
    assert pages == [[]]
    assert infos == []
