"""aws/eks: signed request shapes, pagination, DescribeCluster parsing, error mapping (respx)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl

import httpx2
import pytest
import respx
from wire_fakes import (
    ACCOUNT,
    CREDS,
    EKS_BASE,
    REGION,
    assert_signed,
    aws_error,
    model_errors,
)

from ekstrio.aws import eks
from ekstrio.aws.endpoints import Endpoint, resolve
from ekstrio.aws.transport import Transport
from ekstrio.errors import (
    AccessDeniedError,
    AwsError,
    InvalidRequestError,
    NotFoundError,
    ServerError,
)
from ekstrio.model import ClusterInfo

ENDPOINT = resolve("eks", REGION, env={})
BASE = EKS_BASE
GET_SIGNED = "host;x-amz-date;x-amz-security-token"  # what a GET of EKS signs


pytestmark = pytest.mark.usefixtures("live_retries")


async def names(transport: Transport, endpoint: Endpoint = ENDPOINT) -> list[list[str]]:
    return [page async for page in eks.iter_cluster_names(
        transport, endpoint, CREDS, account_id=ACCOUNT, region=REGION)]


async def test_list_clusters_pages_with_awkward_tokens(router: respx.MockRouter,
                                                       transport: Transport) -> None:
    tokens = [None, "eyJ2Ijo/+xyz==", "a/b+c=d"]
    pages = {
        tokens[0]: {"clusters": [f"c{i:03}" for i in range(100)], "nextToken": tokens[1]},
        tokens[1]: {"clusters": [f"d{i:03}" for i in range(100)], "nextToken": tokens[2]},
        tokens[2]: {"clusters": ["e000"], "nextToken": None},
    }

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json=pages[dict(parse_qsl(request.url.query.decode()))
                                              .get("nextToken")])

    route = router.get("/clusters").mock(side_effect=answer)
    got = await names(transport)
    assert [len(page) for page in got] == [100, 100, 1]
    assert got[2] == ["e000"]
    sent = [call.request for call in route.calls]
    assert [parse_qsl(r.url.query.decode()) for r in sent] == [
        [("maxResults", "100")],
        [("maxResults", "100"), ("nextToken", tokens[1])],
        [("maxResults", "100"), ("nextToken", tokens[2])],
    ]
    for request in sent:
        assert request.method == "GET"
        assert request.url.path == "/clusters"
        assert_signed(request, "eks", signed_headers=GET_SIGNED)
    assert b"nextToken=eyJ2Ijo%2F%2Bxyz%3D%3D" in sent[1].url.query


async def test_a_page_that_repeats_a_token_is_returned_before_the_list_stops(
        router: respx.MockRouter, transport: Transport) -> None:
    # The guard judges a page's token when the next page is asked for, so what the page
    # listed is still given out (as the generator this replaced did), and no further
    # request is sent once the loop is seen.
    pages = {None: {"clusters": ["a"], "nextToken": "t"},
             "t": {"clusters": ["b"], "nextToken": "t"}}

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json=pages[dict(parse_qsl(request.url.query.decode()))
                                              .get("nextToken")])

    route = router.get("/clusters").mock(side_effect=answer)
    got: list[list[str]] = []

    async def collect() -> None:
        async for page in eks.iter_cluster_names(transport, ENDPOINT, CREDS,
                                                 account_id=ACCOUNT, region=REGION):
            got.append(page)

    with pytest.raises(AwsError) as info:
        await collect()
    assert info.value.code == "InvalidResponse"
    assert got == [["a"], ["b"]]
    assert route.call_count == 2


async def test_list_clusters_can_include_connected_clusters(router: respx.MockRouter,
                                                            transport: Transport) -> None:
    route = router.get("/clusters").respond(json={"clusters": ["ext"]})
    pages = [page async for page in eks.iter_cluster_names(
        transport, ENDPOINT, CREDS, account_id=ACCOUNT, region=REGION, include_connected=True)]
    assert pages == [["ext"]]
    assert ("include", "all") in parse_qsl(route.calls.last.request.url.query.decode())


async def test_override_changes_host_not_signing_region(transport: Transport) -> None:
    endpoint = resolve("eks", "ap-south-2", env={"AWS_ENDPOINT_URL_EKS": "http://127.0.0.1:4566"})
    with respx.mock() as mock:
        route = mock.get("http://127.0.0.1:4566/clusters").respond(json={"clusters": []})
        assert await names(transport, endpoint) == [[]]
    assert_signed(route.calls.last.request, "eks", "ap-south-2", signed_headers=GET_SIGNED)


FULL = {
    "name": "web",
    "arn": f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/web",
    "createdAt": 1767323045.713,
    "version": "1.31",
    "endpoint": "https://ABCDEF0123456789.gr7.eu-west-1.eks.amazonaws.com",
    "roleArn": f"arn:aws:iam::{ACCOUNT}:role/eks",
    "status": "ACTIVE",
    "certificateAuthority": {"data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM="},
    "platformVersion": "eks.5",
    "tags": {"team": "web", "env": "prod"},
    "accessConfig": {"authenticationMode": "API_AND_CONFIG_MAP",
                     "bootstrapClusterCreatorAdminPermissions": True},
}


async def test_describe_cluster_request_and_all_fields(router: respx.MockRouter,
                                                       transport: Transport) -> None:
    route = router.get("/clusters/web").respond(json={"cluster": FULL})
    info = await eks.describe_cluster(transport, ENDPOINT, CREDS, account_id=ACCOUNT,
                                      region=REGION, name="web")
    assert info == ClusterInfo(
        name="web",
        arn=f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/web",
        status="ACTIVE",
        endpoint="https://ABCDEF0123456789.gr7.eu-west-1.eks.amazonaws.com",
        certificate_authority_data="LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=",
        version="1.31",
        platform_version="eks.5",
        created_at=datetime(2026, 1, 2, 3, 4, 5, 713000, tzinfo=UTC),
        tags={"team": "web", "env": "prod"},
        authentication_mode="API_AND_CONFIG_MAP",
        outpost_id=None,
        connector_provider=None,
    )
    request = route.calls.last.request
    assert request.method == "GET"
    assert request.url.query == b""
    assert_signed(request, "eks", signed_headers=GET_SIGNED)


def test_parse_outposts_cluster() -> None:
    doc = {"cluster": {**FULL, "id": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
                       "outpostConfig": {"outpostArns": ["arn:aws:outposts:..."],
                                         "controlPlaneInstanceType": "m5.large"},
                       "createdAt": 1700000000}}
    info = eks.parse_cluster(doc)
    assert info.outpost_id == "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"
    assert info.created_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def test_parse_connected_and_creating_clusters() -> None:
    connected = eks.parse_cluster({"cluster": {
        "name": "ext", "arn": "arn:aws:eks:eu-west-1:111122223333:cluster/ext", "status": "ACTIVE",
        "id": "not-an-outpost", "connectorConfig": {"provider": "AKS", "activationId": "x"}}})
    assert connected.connector_provider == "AKS"
    assert connected.outpost_id is None  # an id without outpostConfig is not an Outposts id
    creating = eks.parse_cluster({"cluster": {
        "name": "new", "arn": "arn:aws:eks:eu-west-1:111122223333:cluster/new",
        "status": "CREATING",
        "certificateAuthority": {}, "createdAt": "2026-01-02T03:04:05Z"}})
    assert (creating.endpoint, creating.certificate_authority_data) == (None, None)
    assert creating.created_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert (creating.authentication_mode, dict(creating.tags)) == (None, {})


def test_parse_cluster_fills_a_missing_arn_and_rejects_junk() -> None:
    info = eks.parse_cluster({"cluster": {"name": "x"}},
                             fallback_arn=eks.cluster_arn("aws-cn", "cn-north-1", "1", "x"))
    assert info.arn == "arn:aws-cn:eks:cn-north-1:1:cluster/x"
    assert info.status == "UNKNOWN"
    for bad in ({}, {"cluster": []}, {"cluster": {"arn": "a"}}):
        with pytest.raises(AwsError, match="InvalidResponse"):
            eks.parse_cluster(bad)


EXPECTED = {
    "InvalidParameterException": InvalidRequestError,
    "ClientException": InvalidRequestError,
    "ServerException": ServerError,
    "ServiceUnavailableException": ServerError,
    "ResourceNotFoundException": NotFoundError,
}
CASES = [(op, code, status) for op in ("ListClusters", "DescribeCluster")
         for code, status in model_errors("eks", op)]


def test_every_modelled_error_is_covered() -> None:
    assert {code for _, code, _ in CASES} == set(EXPECTED)
    assert len(CASES) == 8


async def call(operation: str, transport: Transport) -> object:
    if operation == "ListClusters":
        return await names(transport)
    return await eks.describe_cluster(transport, ENDPOINT, CREDS, account_id=ACCOUNT,
                                      region=REGION, name="web")


@pytest.mark.parametrize(("operation", "code", "status"), CASES)
async def test_modelled_errors_map_to_typed_errors(
    router: respx.MockRouter, transport: Transport, operation: str, code: str, status: int
) -> None:
    router.get(path__regex=r"^/clusters(/web)?$").mock(return_value=aws_error(code, status))
    with pytest.raises(EXPECTED[code]) as info:
        await call(operation, transport)
    assert (info.value.code, info.value.status, info.value.service) == (code, status, "eks")


@pytest.mark.parametrize("operation", ["ListClusters", "DescribeCluster"])
async def test_region_not_enabled_keeps_its_code(router: respx.MockRouter, transport: Transport,
                                                 operation: str) -> None:
    router.get(path__regex=r"^/clusters(/web)?$").mock(return_value=aws_error(
        "UnrecognizedClientException", 403,
        "The security token included in the request is invalid."))
    with pytest.raises(AccessDeniedError) as info:
        await call(operation, transport)
    assert info.value.code == "UnrecognizedClientException"
    assert CREDS.session_token not in str(info.value)


async def test_html_500_is_a_server_error(router: respx.MockRouter, transport: Transport) -> None:
    # moto answers an unknown nextToken with an HTML page.
    router.get("/clusters").respond(500, html="<!doctype html><title>500</title>")
    with pytest.raises(ServerError) as info:
        await names(transport)
    assert info.value.code == "500"


async def test_a_repeated_token_stops_pagination(router: respx.MockRouter,
                                                 transport: Transport) -> None:
    router.get("/clusters").respond(json={"clusters": ["a"], "nextToken": "loop"})
    with pytest.raises(AwsError, match="same nextToken"):
        await names(transport)


def test_cluster_name_is_escaped_in_the_path() -> None:
    assert eks.describe_cluster_request("a b/c").path == "/clusters/a%20b%2Fc"
    assert eks.cluster_scope("1", "r") == ("eks", "1", "r")
