"""The AWS side of --access against a third-party model: moto's server on 127.0.0.1.

moto models STS GetCallerIdentity (XML, the query protocol's default form) and EKS clusters
without ``accessConfig``; it does not model access entries (moto/eks/responses.py has no
ListAccessEntries), so those comparisons are skipped, with that reason, when moto answers 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC

import botocore.session
import pytest
import trio
from moto.server import ThreadedMotoServer

from ekstrio.access import AccessState, UnknownReason
from ekstrio.access_aws import AccessStats, CallerCache, check_cluster_access
from ekstrio.aws import eks, eks_access, sts
from ekstrio.aws.endpoints import resolve
from ekstrio.aws.transport import CallPolicy, CallStats, RateLimits, Transport, make_http_client
from ekstrio.errors import AwsError
from ekstrio.model import RoleCredentials

pytestmark = pytest.mark.slow

ACCOUNT = "481516234299"
REGION = "eu-west-1"


def _client(service: str, url: str, creds: RoleCredentials | None = None):  # type: ignore[no-untyped-def]
    return botocore.session.Session().create_client(
        service, region_name=REGION, endpoint_url=url,
        aws_access_key_id=creds.access_key_id if creds else "testing",
        aws_secret_access_key=creds.secret_access_key if creds else "testing",
        aws_session_token=creds.session_token if creds else None)


@pytest.fixture(scope="module")
def moto() -> Iterator[tuple[str, RoleCredentials]]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NO_PROXY", "127.0.0.1,localhost")
        for name in ("MOTO_ACCOUNT_ID", "AWS_ENDPOINT_URL", "HTTP_PROXY", "HTTPS_PROXY",
                     "http_proxy", "https_proxy"):
            mp.delenv(name, raising=False)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            url = f"http://{host}:{port}"
            answer = _client("sts", url).assume_role(
                RoleArn=f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/"
                        "AWSReservedSSO_Admin_0123456789abcdef",
                RoleSessionName="alice")
            c = answer["Credentials"]
            creds = RoleCredentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"],
                                    c["Expiration"].astimezone(UTC))
            _client("eks", url, creds).create_cluster(
                name="web", version="1.31", roleArn=f"arn:aws:iam::{ACCOUNT}:role/eks",
                resourcesVpcConfig={"subnetIds": ["subnet-1"]})
            yield url, creds
        finally:
            server.stop()


def transport(client: object) -> Transport:
    return Transport(client, limiter=trio.CapacityLimiter(4),  # type: ignore[arg-type]
                     rates=RateLimits(default_rate=1000.0),
                     policy=CallPolicy(call_timeout=20.0, attempts=2, backoff_initial=0.1,
                                       backoff_max=0.5), stats=CallStats())


async def test_caller_identity_matches_botocore(moto: tuple[str, RoleCredentials]) -> None:
    url, creds = moto
    theirs = _client("sts", url, creds).get_caller_identity()
    async with make_http_client() as client:
        ours = await sts.get_caller_identity(
            transport(client), resolve("sts", REGION, env={"AWS_ENDPOINT_URL": url}), creds,
            account_id=ACCOUNT)
    assert (ours.account, ours.arn) == (theirs["Account"], theirs["Arn"])
    # moto makes up a new role id on every call (the role does not exist in its IAM).
    assert ours.user_id.endswith(":alice")
    assert theirs["UserId"].endswith(":alice")
    # The session ARN carries the role's name but not its path.
    assert ours.role_name == "AWSReservedSSO_Admin_0123456789abcdef"


async def test_cluster_without_access_config_is_config_map(
        moto: tuple[str, RoleCredentials]) -> None:
    url, creds = moto
    env = {"AWS_ENDPOINT_URL": url}
    async with make_http_client() as client:
        t = transport(client)
        info = await eks.describe_cluster(t, resolve("eks", REGION, env=env), creds,
                                          account_id=ACCOUNT, region=REGION, name="web")
        verdict = await check_cluster_access(
            t, eks_endpoint=resolve("eks", REGION, env=env),
            sts_endpoint=resolve("sts", REGION, env=env), creds=creds, account_id=ACCOUNT,
            region=REGION, cluster=info, callers=CallerCache(), stats=AccessStats(),
            sso_region="us-east-1")
    assert (verdict.state, verdict.reason) == (AccessState.UNKNOWN, UnknownReason.CONFIG_MAP)
    assert verdict.aws_auth_arn == (f"arn:aws:iam::{ACCOUNT}:role/"
                                    "AWSReservedSSO_Admin_0123456789abcdef")
    assert verdict.principal_arn == (f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/"
                                     "sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef")


def test_access_entries_where_moto_models_them(moto: tuple[str, RoleCredentials]) -> None:
    # A plain test around trio.run: pytest-trio reports a skip raised in the async test
    # without its reason, and the reason is the point here.
    url, creds = moto

    async def list_entries() -> list[str] | AwsError:
        async with make_http_client() as client:
            try:
                return await eks_access.list_access_entries(
                    transport(client), resolve("eks", REGION, env={"AWS_ENDPOINT_URL": url}),
                    creds, account_id=ACCOUNT, region=REGION, cluster="web")
            except AwsError as exc:
                return exc

    entries = trio.run(list_entries)
    if isinstance(entries, AwsError) and entries.status == 404:
        pytest.skip(f"moto does not model EKS access entries (ListAccessEntries: {entries.code},"
                    f" HTTP {entries.status})")
    assert not isinstance(entries, AwsError), entries
    theirs = _client("eks", url, creds).list_access_entries(clusterName="web")
    assert entries == theirs["accessEntries"]
