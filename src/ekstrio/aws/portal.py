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
import re
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from ekstrio.aws import untrusted
from ekstrio.aws.paging import PageGuard
from ekstrio.aws.wire import WireRequest
from ekstrio.errors import AwsError
from ekstrio.model import Account, Role, RoleCredentials

_T = TypeVar("_T")

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


_CREDENTIAL = re.compile(r"[A-Za-z0-9+/=_.-]{1,8192}")


def _secret(item: Mapping[str, Any], key: str) -> str:
    # Credentials are written into the AWS CLI's JSON cache and signed into headers: printable
    # ASCII only (AWS's keys and tokens are base64/alphanumeric). Never echoed: they are secret.
    value = _str(item, key)
    if _CREDENTIAL.fullmatch(value) is None:
        raise _invalid(f"roleCredentials.{key} is not a credential string")
    return value


def _check(check: Callable[[object, str], _T], value: object, field: str) -> _T:
    """One check of a value from the answer. A bad value fails the whole answer, named by its
    place (``ListAccounts accountList[3].accountName``), never echoed: it may hold escapes or
    INI syntax. A page carrying one forged item is a forged page, so none of it is used."""
    try:
        return check(value, field)
    except untrusted.BadValue as exc:
        raise _invalid(str(exc)) from None


def _optional(item: Mapping[str, Any], key: str) -> object:
    # Absent and "" mean "not given" (the model has no minimum for names); anything else,
    # a number or a list included, is checked and refused.
    value = item.get(key)
    return None if value in (None, "") else value


def parse_accounts_page(doc: Mapping[str, Any]) -> tuple[list[Account], str | None]:
    """One ListAccounts page; every value checked (aws/untrusted.py)."""
    accounts = []
    for i, item in enumerate(_items(doc, "accountList")):
        at = f"ListAccounts accountList[{i}]."
        name, mail = _optional(item, "accountName"), _optional(item, "emailAddress")
        accounts.append(Account(
            account_id=_check(untrusted.account_id, item.get("accountId"), at + "accountId"),
            name="" if name is None else _check(untrusted.account_name, name,
                                                at + "accountName"),
            email="" if mail is None else _check(untrusted.email, mail, at + "emailAddress"),
        ))
    return accounts, _next_token(doc)


def parse_roles_page(
    doc: Mapping[str, Any], account_id: str
) -> tuple[list[Role], str | None]:
    """One ListAccountRoles page; every role name and account id checked."""
    roles = []
    for i, item in enumerate(_items(doc, "roleList")):
        at = f"ListAccountRoles roleList[{i}]."
        owner = _optional(item, "accountId")
        if owner is not None and owner != account_id:
            # A role listed for another account than the one asked about would be filed
            # under the wrong account.
            raise _invalid(f"{at}accountId is not the account asked about")
        roles.append(Role(account_id=account_id, role_name=_check(
            untrusted.role_name, item.get("roleName"), at + "roleName")))
    return roles, _next_token(doc)


def parse_role_credentials(doc: Mapping[str, Any]) -> RoleCredentials:
    """``roleCredentials`` with ``expiration`` in epoch **milliseconds** → aware UTC."""
    creds = doc.get("roleCredentials")
    if not isinstance(creds, Mapping):
        raise _invalid("no roleCredentials in the answer")
    return RoleCredentials(
        access_key_id=_secret(creds, "accessKeyId"),
        secret_access_key=_secret(creds, "secretAccessKey"),
        session_token=_secret(creds, "sessionToken"),
        expiration=_check(untrusted.epoch_milliseconds, creds.get("expiration"),
                          "roleCredentials.expiration"),
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
