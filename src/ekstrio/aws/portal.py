"""The IAM Identity Center portal API (service ``sso``, host ``portal.sso.{region}``).

All four operations are modelled ``smithy.api#noAuth``: they are sent
unsigned, with the access token in the ``x-amz-sso_bearer_token`` header
(note the underscore). Pagination uses snake_case ``next_token`` and the
singular ``max_result`` (1–100).

Request builders and response parsers are pure; the async functions only
send through a :class:`~ekstrio.aws.transport.Transport`.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ekstrio.aws.paging import PageGuard
from ekstrio.aws.wire import WireRequest
from ekstrio.errors import AwsError
from ekstrio.model import Account, Role, RoleCredentials

if TYPE_CHECKING:
    from ekstrio.aws.endpoints import Endpoint
    from ekstrio.aws.transport import Transport

__all__ = [
    "BEARER_HEADER",
    "PAGE_SIZE",
    "SERVICE",
    "get_role_credentials",
    "get_role_credentials_request",
    "iter_accounts",
    "list_account_roles",
    "list_account_roles_request",
    "list_accounts_request",
    "logout",
    "logout_request",
    "parse_accounts_page",
    "parse_role_credentials",
    "parse_roles_page",
    "token_scope",
]

SERVICE = "sso"
BEARER_HEADER = "x-amz-sso_bearer_token"
PAGE_SIZE = 100  # the API refuses anything above 100


def token_scope(access_token: str) -> tuple[str, str]:
    """The rate-limit scope of a portal token: the portal throttles per user
    token. A digest keeps the token itself out of every dict key and repr."""
    return ("portal", hashlib.sha256(access_token.encode()).hexdigest()[:16])


def _headers(access_token: str) -> tuple[tuple[str, str], ...]:
    return ((BEARER_HEADER, access_token),)


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidResponse", message, service=SERVICE)


# -- requests ---------------------------------------------------------------------------------


def list_accounts_request(access_token: str, next_token: str | None = None) -> WireRequest:
    query: list[tuple[str, str]] = [("max_result", str(PAGE_SIZE))]
    if next_token:
        query.append(("next_token", next_token))
    return WireRequest("GET", "/assignment/accounts", tuple(query), _headers(access_token))


def list_account_roles_request(
    access_token: str, account_id: str, next_token: str | None = None
) -> WireRequest:
    query: list[tuple[str, str]] = [("account_id", account_id), ("max_result", str(PAGE_SIZE))]
    if next_token:
        query.append(("next_token", next_token))
    return WireRequest("GET", "/assignment/roles", tuple(query), _headers(access_token))


def get_role_credentials_request(
    access_token: str, account_id: str, role_name: str
) -> WireRequest:
    query = (("role_name", role_name), ("account_id", account_id))
    return WireRequest("GET", "/federation/credentials", query, _headers(access_token))


def logout_request(access_token: str) -> WireRequest:
    return WireRequest("POST", "/logout", (), _headers(access_token))


# -- responses --------------------------------------------------------------------------------


def _next_token(doc: Mapping[str, Any]) -> str | None:
    token = doc.get("nextToken")
    return token if isinstance(token, str) and token else None


def _items(doc: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = doc.get(key) or []
    if not isinstance(items, list):
        raise _invalid(f"{key} is not a list")
    return [item for item in items if isinstance(item, Mapping)]


def _str(item: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = item.get(key, default)
    if not isinstance(value, str):
        raise _invalid(f"missing or non-string {key}")
    return value


def _opt_str(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    return value if isinstance(value, str) else ""


def parse_accounts_page(doc: Mapping[str, Any]) -> tuple[list[Account], str | None]:
    accounts = [
        Account(
            account_id=_str(item, "accountId"),
            name=_opt_str(item, "accountName"),
            email=_opt_str(item, "emailAddress"),
        )
        for item in _items(doc, "accountList")
    ]
    return accounts, _next_token(doc)


def parse_roles_page(
    doc: Mapping[str, Any], account_id: str
) -> tuple[list[Role], str | None]:
    roles = [
        Role(
            account_id=_opt_str(item, "accountId") or account_id,
            role_name=_str(item, "roleName"),
        )
        for item in _items(doc, "roleList")
    ]
    return roles, _next_token(doc)


def parse_role_credentials(doc: Mapping[str, Any]) -> RoleCredentials:
    """``roleCredentials`` with ``expiration`` in epoch **milliseconds** → aware UTC."""
    creds = doc.get("roleCredentials")
    if not isinstance(creds, Mapping):
        raise _invalid("no roleCredentials in the answer")
    expiration = creds.get("expiration")
    if isinstance(expiration, bool) or not isinstance(expiration, int | float):
        raise _invalid("roleCredentials.expiration is not a number")
    return RoleCredentials(
        access_key_id=_str(creds, "accessKeyId"),
        secret_access_key=_str(creds, "secretAccessKey"),
        session_token=_str(creds, "sessionToken"),
        expiration=datetime.fromtimestamp(expiration / 1000, tz=UTC),
    )


# -- calls ------------------------------------------------------------------------------------


async def iter_accounts(
    t: Transport, endpoint: Endpoint, access_token: str
) -> AsyncIterator[list[Account]]:
    """ListAccounts, one list per page."""
    scope = token_scope(access_token)
    guard = PageGuard("ListAccounts", service=SERVICE)
    token: str | None = None
    while True:
        doc = await t.call(endpoint, list_accounts_request(access_token, token),
                           service=SERVICE, scope=scope)
        accounts, token = parse_accounts_page(doc)
        yield accounts
        if guard.next_page(len(accounts), token) is None:
            return


async def list_account_roles(
    t: Transport, endpoint: Endpoint, access_token: str, account_id: str
) -> list[Role]:
    """ListAccountRoles for one account, all pages."""
    scope = token_scope(access_token)
    guard = PageGuard("ListAccountRoles", service=SERVICE)
    roles: list[Role] = []
    token: str | None = None
    while True:
        doc = await t.call(endpoint, list_account_roles_request(access_token, account_id, token),
                           service=SERVICE, scope=scope)
        page, token = parse_roles_page(doc, account_id)
        roles.extend(page)
        if guard.next_page(len(page), token) is None:
            return roles


async def get_role_credentials(
    t: Transport, endpoint: Endpoint, access_token: str, account_id: str, role_name: str
) -> RoleCredentials:
    """GetRoleCredentials: temporary credentials for one account and role."""
    doc = await t.call(endpoint, get_role_credentials_request(access_token, account_id, role_name),
                       service=SERVICE, scope=token_scope(access_token))
    return parse_role_credentials(doc)


async def logout(t: Transport, endpoint: Endpoint, access_token: str) -> None:
    """Logout: ends the portal session of this token."""
    await t.call(endpoint, logout_request(access_token), service=SERVICE,
                 scope=token_scope(access_token))
