"""aws/portal: request shapes, pagination, parsing and error mapping (respx)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import httpx2
import pytest
import respx
from wire_fakes import aws_error, model_errors

from ekstrio.aws import portal
from ekstrio.aws.endpoints import resolve
from ekstrio.aws.transport import Transport
from ekstrio.errors import (
    AccessDeniedError,
    AwsError,
    InvalidRequestError,
    NotFoundError,
    ThrottlingError,
)
from ekstrio.model import Account, Role

TOKEN = "aoaAAAAAGSECRETBEARER/+=token"
ENDPOINT = resolve("sso", "eu-west-1", env={})
BASE = "https://portal.sso.eu-west-1.amazonaws.com"


pytestmark = pytest.mark.usefixtures("live_retries")


def query(request: httpx2.Request) -> list[tuple[str, str]]:
    return parse_qsl(request.url.query.decode(), keep_blank_values=True)


def assert_portal_headers(request: httpx2.Request) -> None:
    assert request.headers["x-amz-sso_bearer_token"] == TOKEN
    # The portal API is modelled noAuth: nothing is signed.
    assert "authorization" not in request.headers
    assert "x-amz-date" not in request.headers


async def test_list_accounts_pages_with_awkward_tokens(router: respx.MockRouter,
                                                       transport: Transport) -> None:
    pages = {
        None: {"accountList": [{"accountId": "111111111111", "accountName": "prod",
                                "emailAddress": "p@example.com"}], "nextToken": "t1/+=="},
        "t1/+==": {"accountList": [{"accountId": "222222222222", "accountName": "dev"}],
                   "nextToken": "a+b/c="},
        "a+b/c=": {"accountList": [{"accountId": "333333333333"}], "nextToken": None},
    }

    def answer(request: httpx2.Request) -> httpx2.Response:
        params = dict(query(request))
        return httpx2.Response(200, json=pages[params.get("next_token")])

    route = router.get("/assignment/accounts").mock(side_effect=answer)
    got = [page async for page in portal.iter_accounts(transport, ENDPOINT, TOKEN)]
    assert got == [
        [Account("111111111111", "prod", "p@example.com")],
        [Account("222222222222", "dev", "")],
        [Account("333333333333", "", "")],
    ]
    assert route.call_count == 3
    sent = [call.request for call in route.calls]
    for request in sent:
        assert request.method == "GET"
        assert_portal_headers(request)
    assert [query(r) for r in sent] == [
        [("max_result", "100")],
        [("max_result", "100"), ("next_token", "t1/+==")],
        [("max_result", "100"), ("next_token", "a+b/c=")],
    ]
    assert b"next_token=t1%2F%2B%3D%3D" in sent[1].url.query


async def test_list_account_roles_collects_all_pages(router: respx.MockRouter,
                                                     transport: Transport) -> None:
    route = router.get("/assignment/roles").mock(side_effect=[
        httpx2.Response(200, json={"roleList": [{"roleName": "Admin",
                                                 "accountId": "111111111111"}],
                                   "nextToken": "x/y+z="}),
        httpx2.Response(200, json={"roleList": [{"roleName": "ReadOnly"}]}),
    ])
    roles = await portal.list_account_roles(transport, ENDPOINT, TOKEN, "111111111111")
    assert roles == [Role("111111111111", "Admin"), Role("111111111111", "ReadOnly")]
    first, second = (call.request for call in route.calls)
    assert query(first) == [("account_id", "111111111111"), ("max_result", "100")]
    assert query(second) == [("account_id", "111111111111"), ("max_result", "100"),
                             ("next_token", "x/y+z=")]
    assert_portal_headers(second)


async def test_get_role_credentials(router: respx.MockRouter, transport: Transport) -> None:
    route = router.get("/federation/credentials").respond(json={"roleCredentials": {
        "accessKeyId": "ASIAXXX", "secretAccessKey": "sk/+", "sessionToken": "st==",
        "expiration": 1798761600123}})
    creds = await portal.get_role_credentials(transport, ENDPOINT, TOKEN, "111111111111",
                                              "Admin Role")
    assert creds.access_key_id == "ASIAXXX"
    assert creds.secret_access_key == "sk/+"
    assert creds.session_token == "st=="
    # Epoch milliseconds → aware UTC.
    assert creds.expiration == datetime(2027, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)
    request = route.calls.last.request
    assert query(request) == [("role_name", "Admin Role"), ("account_id", "111111111111")]
    assert b"role_name=Admin%20Role" in request.url.query
    assert_portal_headers(request)
    assert "sk/+" not in repr(creds)


async def test_logout(router: respx.MockRouter, transport: Transport) -> None:
    route = router.post("/logout").respond(200)
    await portal.logout(transport, ENDPOINT, TOKEN)
    request = route.calls.last.request
    assert request.method == "POST"
    assert request.url.query == b""
    assert_portal_headers(request)


def test_token_scope_is_a_digest() -> None:
    scope = portal.token_scope(TOKEN)
    assert scope == ("portal", hashlib.sha256(TOKEN.encode()).hexdigest()[:16])
    assert TOKEN not in repr(scope)
    assert portal.token_scope("other") != scope


EXPECTED = {
    "InvalidRequestException": InvalidRequestError,
    "UnauthorizedException": AccessDeniedError,
    "ResourceNotFoundException": NotFoundError,
    "TooManyRequestsException": ThrottlingError,
}
OPERATIONS = {
    "ListAccounts": ("GET", "/assignment/accounts"),
    "ListAccountRoles": ("GET", "/assignment/roles"),
    "GetRoleCredentials": ("GET", "/federation/credentials"),
    "Logout": ("POST", "/logout"),
}
CASES = [(op, code, status) for op in OPERATIONS for code, status in model_errors("sso", op)]


def test_every_modelled_error_is_covered() -> None:
    assert {code for _, code, _ in CASES} == set(EXPECTED)
    assert len(CASES) == 15  # 4 errors on each operation, 3 on Logout


@pytest.mark.parametrize(("operation", "code", "status"), CASES)
async def test_modelled_errors_map_to_typed_errors(
    router: respx.MockRouter, transport: Transport, operation: str, code: str, status: int
) -> None:
    method, path = OPERATIONS[operation]
    router.route(method=method, path=path).mock(
        return_value=aws_error(code, status, "Session token not found or invalid"))
    calls = {
        "ListAccounts": lambda: anext(portal.iter_accounts(transport, ENDPOINT, TOKEN)),
        "ListAccountRoles": lambda: portal.list_account_roles(transport, ENDPOINT, TOKEN, "1"),
        "GetRoleCredentials": lambda: portal.get_role_credentials(transport, ENDPOINT, TOKEN,
                                                                  "1", "r"),
        "Logout": lambda: portal.logout(transport, ENDPOINT, TOKEN),
    }
    with pytest.raises(EXPECTED[code]) as info:
        await calls[operation]()
    assert (info.value.code, info.value.status, info.value.service) == (code, status, "sso")
    assert info.value.request_id == "req-123"
    assert TOKEN not in str(info.value)


async def test_observed_unauthorized_body_without_header(router: respx.MockRouter,
                                                         transport: Transport) -> None:
    router.get("/assignment/accounts").respond(401, json={
        "message": "Session token not found or invalid",
        "__type": "com.amazonaws.switchboard.portal#UnauthorizedException"})
    with pytest.raises(AccessDeniedError, match="Session token not found") as info:
        await anext(portal.iter_accounts(transport, ENDPOINT, TOKEN))
    assert info.value.code == "UnauthorizedException"


@pytest.mark.parametrize(
    "doc",
    [
        {"roleCredentials": {"accessKeyId": "a", "secretAccessKey": "b", "sessionToken": "c"}},
        {"roleCredentials": {"accessKeyId": "a", "secretAccessKey": "b", "sessionToken": "c",
                             "expiration": "soon"}},
        {"roleCredentials": {"secretAccessKey": "b", "sessionToken": "c", "expiration": 1}},
        {},
    ],
)
def test_malformed_credentials_are_an_error(doc: dict[str, object]) -> None:
    with pytest.raises(AwsError, match="InvalidResponse"):
        portal.parse_role_credentials(doc)


async def test_a_repeated_token_stops_pagination(router: respx.MockRouter,
                                                 transport: Transport) -> None:
    router.get("/assignment/roles").respond(json={"roleList": [], "nextToken": "same"})
    with pytest.raises(AwsError, match="same nextToken"):
        await portal.list_account_roles(transport, ENDPOINT, TOKEN, "1")


def test_parse_pages_tolerate_missing_lists() -> None:
    assert portal.parse_accounts_page({}) == ([], None)
    assert portal.parse_roles_page({"roleList": None, "nextToken": ""}, "9") == ([], None)
