"""access_scan: every (cluster, role) of a scan gets a verdict, best role first, and with live
the cluster's own answer (respx for EKS/STS, a fake API server over real TLS for live)."""

from __future__ import annotations

from typing import Any

import respx
from kube_fakes import fake_kube
from wire_fakes import CREDS, aws_error, make_transport, respx_client

from ekstrio.access import AccessState, UnknownReason
from ekstrio.access_aws import AccessStats
from ekstrio.access_live import LiveOutcome
from ekstrio.access_record import RoleAccess, best_first
from ekstrio.access_scan import check_access
from ekstrio.aws import eks_access, eks_token
from ekstrio.aws.endpoints import resolve
from ekstrio.model import Cluster, ClusterInfo, RoleCredentials

ACCOUNT = "111122223333"
REGION = "eu-west-1"
EKS = "https://eks.eu-west-1.amazonaws.com"
STS = "https://sts.eu-west-1.amazonaws.com"
ADMIN = "AWSReservedSSO_Admin_0123456789abcdef"
ARN = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/{ADMIN}"
WHO = (f'{{"GetCallerIdentityResponse":{{"GetCallerIdentityResult":{{"Account":"{ACCOUNT}",'
       f'"Arn":"arn:aws:sts::{ACCOUNT}:assumed-role/{ADMIN}/alice","UserId":"AROA:alice"}}}}}}')


def kube_answer(path: str, doc: dict[str, Any], token: str) -> tuple[int, dict[str, Any]]:
    if not token.startswith(eks_token.TOKEN_PREFIX):
        return 401, {}
    if "x-k8s-aws-id" not in eks_token.decode_url(token):
        return 401, {}
    if path.endswith("/selfsubjectreviews"):
        return 201, {"status": {"userInfo": {"username": "alice", "groups": ["g"]}}}
    return 201, {"status": {"allowed": True}}


async def test_verdicts_and_live_for_every_role() -> None:
    async with fake_kube(kube_answer) as kube:
        info = ClusterInfo(name="web", arn="arn", status="ACTIVE", endpoint=kube.endpoint,
                           certificate_authority_data=kube.ca_data, authentication_mode="API")
        cluster = Cluster(ACCOUNT, "prod", REGION, info, ("Viewer", "Admin"))
        path = eks_access.describe_access_entry_request("web", ARN).path
        with respx.mock(assert_all_called=False) as mock:
            # respx patches httpx2, which the live check uses too: let it reach the fake
            # API server on 127.0.0.1 over real TLS.
            mock.route(host="127.0.0.1").pass_through()
            mock.post(STS + "/").respond(200, content=WHO.encode())
            mock.get(f"{EKS}/clusters/web/access-entries").respond(
                json={"accessEntries": [ARN]})
            mock.get(EKS + path).respond(json={"accessEntry": {"principalArn": ARN}})
            mock.get(EKS + path + "/access-policies").respond(json={"associatedAccessPolicies": [
                {"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                 "accessScope": {"type": "cluster"}}]})
            async with respx_client() as client:
                t = make_transport(client)
                stats = AccessStats()

                async def credentials(account: str, role: str) -> RoleCredentials | None:
                    return CREDS if role == "Admin" else None

                got = await check_access(
                    [cluster], transport=lambda _r: t,
                    eks_endpoint=lambda r: resolve("eks", r, env={}),
                    sts_endpoint=lambda r: resolve("sts", r, env={}),
                    credentials=credentials, sso_region="us-east-1", live=True, stats=stats)
    roles = got[(ACCOUNT, REGION, "web")]
    assert list(roles) == ["Admin", "Viewer"]  # best first
    admin = roles["Admin"]
    assert admin.verdict.state is AccessState.ADMIN
    assert admin.live is not None
    assert (admin.live.outcome, admin.live.username) == (LiveOutcome.OK, "alice")
    assert admin.gets_in
    assert admin.label == "admin; live ok(list namespaces, get pods in default)"
    viewer = roles["Viewer"]
    assert viewer.verdict.reason is UnknownReason.ERROR
    assert (viewer.live, viewer.gets_in) == (None, False)
    assert RoleAccess.from_json(admin.to_json()) == admin
    assert best_first({"b": viewer, "a": admin}) == ["a", "b"]
    assert stats.checked == 1
    assert t.stats.calls == 4


async def test_aws_only_makes_no_live_call() -> None:
    info = ClusterInfo(name="web", arn="arn", status="ACTIVE", endpoint="https://127.0.0.1:1",
                       certificate_authority_data="eA==", authentication_mode="API")
    with respx.mock() as mock:
        mock.post(STS + "/").respond(200, content=WHO.encode())
        mock.get(f"{EKS}/clusters/web/access-entries").mock(
            return_value=aws_error("AccessDeniedException", 403))
        async with respx_client() as client:
            t = make_transport(client)

            async def credentials(account: str, role: str) -> RoleCredentials | None:
                return CREDS

            got = await check_access(
                [Cluster(ACCOUNT, "prod", REGION, info, ("Admin",))], transport=lambda _r: t,
                eks_endpoint=lambda r: resolve("eks", r, env={}),
                sts_endpoint=lambda r: resolve("sts", r, env={}),
                credentials=credentials, sso_region=None)
    only = got[(ACCOUNT, REGION, "web")]["Admin"]
    assert (only.verdict.label, only.live) == ("unknown(denied)", None)
