"""access_aws: which calls a verdict costs, denied calls as answers, one STS call per role."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
import respx
import trio
from wire_fakes import ACCOUNT, CREDS, EKS_BASE, REGION, aws_error

from ekstrio.access import AccessState, AccessVerdict, UnknownReason
from ekstrio.access_aws import AccessStats, CallerCache, check_cluster_access
from ekstrio.aws import eks_access
from ekstrio.aws.endpoints import resolve
from ekstrio.aws.transport import Transport
from ekstrio.model import ClusterInfo

ROLE = "AWSReservedSSO_View_0123456789abcdef"
SSO_ARN = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/{ROLE}"
EKS = EKS_BASE
STS = "https://sts.eu-west-1.amazonaws.com"
WHO = (f'{{"GetCallerIdentityResponse":{{"GetCallerIdentityResult":{{"Account":"{ACCOUNT}",'
       f'"Arn":"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/alice","UserId":"AROA:alice"}}}}}}')


def cluster(name: str = "web", mode: str | None = "API", status: str = "ACTIVE") -> ClusterInfo:
    return ClusterInfo(name=name, arn=f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{name}",
                       status=status, authentication_mode=mode,
                       endpoint=None if status == "CREATING" else "https://x.eks.amazonaws.com")


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    # Not conftest's router: no base URL (EKS and STS), and every test's STS answers WHO.
    with respx.mock(assert_all_called=False) as mock:
        mock.post(STS + "/").respond(200, content=WHO.encode())
        yield mock


async def check(t: Transport, info: ClusterInfo, callers: CallerCache | None = None,
                stats: AccessStats | None = None) -> AccessVerdict:
    return await check_cluster_access(
        t, eks_endpoint=resolve("eks", REGION, env={}), sts_endpoint=resolve("sts", REGION, env={}),
        creds=CREDS, account_id=ACCOUNT, region=REGION, cluster=info,
        callers=callers or CallerCache(), stats=stats or AccessStats(), sso_region="us-east-1")


def entries(router: respx.MockRouter, arns: list[str], name: str = "web") -> respx.Route:
    return router.get(f"{EKS}/clusters/{name}/access-entries").respond(
        json={"accessEntries": arns})


async def test_namespaced_entry(router: respx.MockRouter, transport: Transport) -> None:
    listed = entries(router, ["arn:aws:iam::111122223333:role/other", SSO_ARN])
    path = eks_access.describe_access_entry_request("web", SSO_ARN).path
    router.get(EKS + path).respond(json={"accessEntry": {"principalArn": SSO_ARN}})
    router.get(EKS + path + "/access-policies").respond(json={"associatedAccessPolicies": [{
        "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
        "accessScope": {"type": "namespace", "namespaces": ["ns1", "ns2"]}}]})
    verdict = await check(transport, cluster())
    assert verdict.label == "namespaced(view: ns1, ns2)"
    assert listed.call_count == 1
    assert transport.stats.calls == 4  # STS + list + describe + policies


async def test_no_entry_in_api_mode(router: respx.MockRouter, transport: Transport) -> None:
    entries(router, ["arn:aws:iam::111122223333:role/other"])
    verdict = await check(transport, cluster())
    assert verdict.state is AccessState.NO_ENTRY
    assert verdict.principal_arn == SSO_ARN
    assert transport.stats.calls == 2


async def test_denied_listing_is_an_answer(router: respx.MockRouter,
                                           transport: Transport) -> None:
    router.get(f"{EKS}/clusters/web/access-entries").mock(
        return_value=aws_error("AccessDeniedException", 403))
    stats = AccessStats()
    verdict = await check(transport, cluster(), stats=stats)
    assert (verdict.state, verdict.reason, verdict.detail) == (
        AccessState.UNKNOWN, UnknownReason.DENIED, "AccessDeniedException")
    assert (stats.checked, stats.denied, stats.errors) == (1, 1, 0)


async def test_other_failure_is_unknown_error(router: respx.MockRouter,
                                              transport: Transport) -> None:
    router.get(f"{EKS}/clusters/web/access-entries").mock(
        return_value=aws_error("ServerException", 500))
    stats = AccessStats()
    verdict = await check(transport, cluster(), stats=stats)
    assert verdict.reason is UnknownReason.ERROR
    assert stats.errors == 1


@pytest.mark.parametrize(("mode", "reason"), [(None, UnknownReason.CONFIG_MAP),
                                              ("CONFIG_MAP", UnknownReason.CONFIG_MAP)])
async def test_config_map_costs_no_eks_call(router: respx.MockRouter, transport: Transport,
                                            mode: str | None, reason: UnknownReason) -> None:
    listed = entries(router, [])
    verdict = await check(transport, cluster(mode=mode))
    assert verdict.reason is reason
    assert listed.call_count == 0
    assert verdict.aws_auth_arn == f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"


async def test_inactive_cluster_costs_nothing(router: respx.MockRouter,
                                              transport: Transport) -> None:
    verdict = await check(transport, cluster(status="CREATING"))
    assert verdict.reason is UnknownReason.NO_ENDPOINT
    assert transport.stats.calls == 0


async def test_one_sts_call_per_credentials(router: respx.MockRouter,
                                            transport: Transport) -> None:
    for name in ("a", "b", "c"):
        entries(router, [], name)
    callers = CallerCache()
    async with trio.open_nursery() as nursery:
        for name in ("a", "b", "c"):
            nursery.start_soon(check, transport, cluster(name), callers)
    assert router.routes[0].call_count == 1


async def test_sts_failure_is_cached_and_unknown(transport: Transport) -> None:
    with respx.mock() as mock:
        sts_route = mock.post(STS + "/").mock(return_value=httpx2.Response(403, content=(
            b"<ErrorResponse><Error><Code>InvalidClientTokenId</Code></Error></ErrorResponse>")))
        callers, stats = CallerCache(), AccessStats()
        for _ in range(2):
            verdict = await check(transport, cluster(), callers, stats)
            assert verdict.reason is UnknownReason.DENIED
        assert sts_route.call_count == 1
        assert stats.denied == 2
