"""aws/eks_access: access-entry requests as botocore serialises them, signatures, pagination
bounds, parsing and error mapping (respx)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import httpx2
import pytest
import respx
from botocore.loaders import Loader
from botocore.model import ServiceModel
from botocore.serialize import create_serializer
from wire_fakes import (
    ACCOUNT,
    CREDS,
    EKS_BASE,
    REGION,
    assert_signed,
    aws_error,
    model_errors,
)

from ekstrio.aws import eks_access
from ekstrio.aws.eks_access import AccessEntry, AssociatedPolicy, ScopeType
from ekstrio.aws.endpoints import resolve
from ekstrio.aws.transport import Transport
from ekstrio.errors import (
    AccessDeniedError,
    AwsError,
    InvalidRequestError,
    NotFoundError,
    ServerError,
)

ENDPOINT = resolve("eks", REGION, env={})
BASE = EKS_BASE
SSO_ARN = (f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
           "AWSReservedSSO_Admin_0123456789abcdef")
KW: dict[str, Any] = {"account_id": ACCOUNT, "region": REGION, "cluster": "web"}

pytestmark = pytest.mark.usefixtures("live_retries")


def botocore_path(operation: str, params: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    model = ServiceModel(Loader().load_service_model("eks", "service-2"), "eks")
    request = create_serializer("rest-json").serialize_to_request(
        params, model.operation_model(operation))
    return request["method"], request["url_path"], request["query_string"]


@pytest.mark.parametrize("arn", [SSO_ARN, f"arn:aws:iam::{ACCOUNT}:role/plain",
                                 "arn:aws-cn:iam::1:role/a b/c+d"])
def test_requests_match_botocore_serialisation(arn: str) -> None:
    method, path, query = botocore_path("DescribeAccessEntry",
                                        {"clusterName": "web", "principalArn": arn})
    ours = eks_access.describe_access_entry_request("web", arn)
    assert (ours.method, ours.path, ours.query) == (method, path, ())
    method, path, query = botocore_path("ListAssociatedAccessPolicies", {
        "clusterName": "web", "principalArn": arn, "maxResults": 100, "nextToken": "t/=+"})
    ours = eks_access.list_associated_policies_request("web", arn, "t/=+")
    assert (ours.method, ours.path) == (method, path)
    assert dict(ours.query) == {k: str(v) for k, v in query.items()}
    method, path, query = botocore_path("ListAccessEntries",
                                        {"clusterName": "web", "maxResults": 100})
    ours = eks_access.list_access_entries_request("web")
    assert (ours.method, ours.path, dict(ours.query)) == (method, path, {"maxResults": "100"})


async def test_list_access_entries_pages_and_signs(router: respx.MockRouter,
                                                   transport: Transport) -> None:
    pages = {None: {"accessEntries": [SSO_ARN], "nextToken": "p/2=="},
             "p/2==": {"accessEntries": ["arn:aws:iam::1:role/x"], "nextToken": None}}

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json=pages[dict(parse_qsl(request.url.query.decode()))
                                              .get("nextToken")])

    route = router.get("/clusters/web/access-entries").mock(side_effect=answer)
    got = await eks_access.list_access_entries(transport, ENDPOINT, CREDS, **KW)
    assert got == [SSO_ARN, "arn:aws:iam::1:role/x"]
    assert len(route.calls) == 2
    for call in route.calls:
        assert_signed(call.request, "eks")
    assert b"nextToken=p%2F2%3D%3D" in route.calls[1].request.url.query


async def test_pagination_is_bounded(router: respx.MockRouter, transport: Transport) -> None:
    counter = iter(range(1000))
    router.get("/clusters/web/access-entries").mock(side_effect=lambda _r: httpx2.Response(
        200, json={"accessEntries": ["arn:aws:iam::1:role/x"], "nextToken": f"t{next(counter)}"}))
    with pytest.raises(AwsError, match="ListAccessEntries") as info:
        await eks_access.list_access_entries(transport, ENDPOINT, CREDS, **KW)
    assert "20" in str(info.value)
    assert next(counter) == eks_access.MAX_PAGES


async def test_empty_pages_with_tokens_stop(router: respx.MockRouter,
                                            transport: Transport) -> None:
    counter = iter(range(1000))
    router.get("/clusters/web/access-entries").mock(side_effect=lambda _r: httpx2.Response(
        200, json={"accessEntries": [], "nextToken": f"t{next(counter)}"}))
    with pytest.raises(AwsError, match="empty pages"):
        await eks_access.list_access_entries(transport, ENDPOINT, CREDS, **KW)


async def test_repeated_token_stops(router: respx.MockRouter, transport: Transport) -> None:
    router.get("/clusters/web/access-entries").respond(
        json={"accessEntries": [], "nextToken": "same"})
    with pytest.raises(AwsError, match="same nextToken"):
        await eks_access.list_access_entries(transport, ENDPOINT, CREDS, **KW)


async def test_describe_entry_with_a_path_in_the_arn(router: respx.MockRouter,
                                                     transport: Transport) -> None:
    encoded = eks_access.describe_access_entry_request("web", SSO_ARN).path
    assert "%2Faws-reserved%2Fsso.amazonaws.com%2F" in encoded
    route = router.get(url=BASE + encoded).respond(json={"accessEntry": {
        "clusterName": "web", "principalArn": SSO_ARN, "kubernetesGroups": ["ops", 7],
        "username": "arn:aws:sts::111122223333:assumed-role/X/{{SessionName}}",
        "type": "STANDARD", "createdAt": 1.7e9}})
    entry = await eks_access.describe_access_entry(transport, ENDPOINT, CREDS,
                                                   principal_arn=SSO_ARN, **KW)
    assert entry == AccessEntry(SSO_ARN, ("ops",),
                                "arn:aws:sts::111122223333:assumed-role/X/{{SessionName}}",
                                "STANDARD")
    sent = route.calls.last.request
    # httpx sent the encoded path as it is (botocore double-encodes it when signing).
    assert sent.url.raw_path.decode() == encoded
    assert_signed(sent, "eks")


async def test_associated_policies(router: respx.MockRouter, transport: Transport) -> None:
    path = eks_access.list_associated_policies_request("web", SSO_ARN).path
    router.get(url__startswith=BASE + path).respond(json={
        "clusterName": "web", "principalArn": SSO_ARN, "associatedAccessPolicies": [
            {"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
             "accessScope": {"type": "namespace", "namespaces": ["a", "b"]}},
            {"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
             "accessScope": {"type": "cluster"}},
            {"policyArn": "x", "accessScope": {"type": "galaxy"}},
            "junk"]})
    got = await eks_access.list_associated_policies(transport, ENDPOINT, CREDS,
                                                    principal_arn=SSO_ARN, **KW)
    assert got == [
        AssociatedPolicy("arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
                         ScopeType.NAMESPACE, ("a", "b")),
        AssociatedPolicy("arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
                         ScopeType.CLUSTER)]
    assert got[0].name == "AmazonEKSViewPolicy"


def test_parsers_reject_junk() -> None:
    for bad in ({}, {"accessEntry": []}, {"accessEntry": {"principalArn": ""}}):
        with pytest.raises(AwsError, match="InvalidResponse"):
            eks_access.parse_access_entry(bad)
    with pytest.raises(AwsError):
        eks_access.parse_entries_page({"accessEntries": "x"})
    with pytest.raises(AwsError):
        eks_access.parse_policies_page({"associatedAccessPolicies": {}})
    assert eks_access.parse_entries_page({}) == ([], None)


EXPECTED = {"ServerException": ServerError, "ResourceNotFoundException": NotFoundError,
            "InvalidRequestException": InvalidRequestError,
            "InvalidParameterException": InvalidRequestError}
CASES = [(op, code, status) for op in ("ListAccessEntries", "DescribeAccessEntry",
                                       "ListAssociatedAccessPolicies")
         for code, status in model_errors("eks", op)]


def test_every_modelled_error_is_covered() -> None:
    assert {code for _, code, _ in CASES} == set(EXPECTED)


async def call(operation: str, transport: Transport) -> object:
    if operation == "ListAccessEntries":
        return await eks_access.list_access_entries(transport, ENDPOINT, CREDS, **KW)
    if operation == "DescribeAccessEntry":
        return await eks_access.describe_access_entry(transport, ENDPOINT, CREDS,
                                                      principal_arn=SSO_ARN, **KW)
    return await eks_access.list_associated_policies(transport, ENDPOINT, CREDS,
                                                     principal_arn=SSO_ARN, **KW)


@pytest.mark.parametrize(("operation", "code", "status"), CASES)
async def test_modelled_errors(router: respx.MockRouter, transport: Transport, operation: str,
                               code: str, status: int) -> None:
    router.get(url__startswith=BASE + "/clusters/web/access-entries").mock(
        return_value=aws_error(code, status))
    with pytest.raises(EXPECTED[code]) as info:
        await call(operation, transport)
    assert (info.value.code, info.value.status) == (code, status)


@pytest.mark.parametrize("operation", ["ListAccessEntries", "DescribeAccessEntry",
                                       "ListAssociatedAccessPolicies"])
async def test_denied(router: respx.MockRouter, transport: Transport, operation: str) -> None:
    router.get(url__startswith=BASE + "/clusters/web/access-entries").mock(
        return_value=aws_error("AccessDeniedException", 403, "not authorized"))
    with pytest.raises(AccessDeniedError):
        await call(operation, transport)
