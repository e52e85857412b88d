"""The SSO portal (``sso``): ListAccounts, ListAccountRoles, GetRoleCredentials, Logout.

Unsigned calls carrying the bearer token in the ``x-amz-sso_bearer_token`` header (underscore and
all); snake_case ``next_token`` / ``max_result`` pagination; the portal's error shapes.
"""

from __future__ import annotations

from typing import Any

from ekstrio.sim import paging
from ekstrio.sim.messages import Request, Response, json_response, raw_json, rest_json_error
from ekstrio.sim.state import SimState

TOKEN_HEADER = "x-amz-sso_bearer_token"  # noqa: S105 - a header name
_NS = "com.amazonaws.switchboard.portal"


def error(status: int, code: str, message: str) -> Response:
    return rest_json_error(status, code, message, api="portal", type_prefix=_NS)


def _unauthorized() -> Response:
    return error(401, "UnauthorizedException", "Session token not found or invalid")


def throttled() -> Response:
    return error(429, "TooManyRequestsException", "HTTP 429 Unknown Code")


def _bad_size() -> Response:
    return error(400, "InvalidRequestException",
                 "ResultSize parameter must be within the valid limits of: 1-100")


def _page(state: SimState, req: Request, kind: str, scope: str,
          items: list[dict[str, Any]], key: str) -> Response:
    found = paging.page(items, kind=kind, scope=scope, size=req.arg("max_result"),
                        default=state.options.portal_page_size, token=req.arg("next_token"))
    if found is paging.PageFault.BAD_SIZE:
        return _bad_size()
    if found is paging.PageFault.UNKNOWN_PAGE:
        return error(400, "InvalidRequestException", "Invalid next token")
    # AWS sends nextToken: null on the last page; botocore's paginator stops on either.
    return json_response(200, {key: found[0], "nextToken": found[1]}, api="portal")


def authorized(state: SimState, req: Request) -> str | Response:
    """The caller's bearer token, or the 401 to answer."""
    token = req.headers.get(TOKEN_HEADER)
    if not token or not state.token_valid(token):
        return _unauthorized()
    return token


def list_accounts(state: SimState, req: Request) -> Response:
    # The organisation never changes: build the list once (this is the hottest portal call).
    items = state.portal_cache.get("accounts")
    if items is None:
        items = [{"accountId": a.account_id, "accountName": a.name, "emailAddress": a.email}
                 for a in state.org.accounts]
        state.portal_cache["accounts"] = items
    return _page(state, req, "accounts", "-", items, "accountList")


def list_account_roles(state: SimState, req: Request) -> Response:
    account_id = req.arg("account_id")
    if not account_id:
        return error(400, "InvalidRequestException", "account_id is required")
    acct = state.org.by_id.get(account_id)
    if acct is None:
        # The user has no assignment in that account (or it does not exist).
        return error(403, "ForbiddenException", "No access")
    items = [{"roleName": r.name, "accountId": account_id} for r in acct.roles]
    return _page(state, req, "roles", account_id, items, "roleList")


def get_role_credentials(state: SimState, req: Request) -> Response:
    account_id, role_name = req.arg("account_id"), req.arg("role_name")
    if not account_id or not role_name:
        return error(400, "InvalidRequestException", "role_name and account_id are required")
    acct = state.org.by_id.get(account_id)
    if acct is None or acct.role(role_name) is None:
        return error(403, "ForbiddenException", "No access")
    creds = state.mint_credentials(account_id, role_name)
    return json_response(200, {"roleCredentials": {
        "accessKeyId": creds.access_key_id,
        "secretAccessKey": creds.secret_access_key,
        "sessionToken": creds.session_token,
        "expiration": int(creds.expires_at * 1000),  # epoch milliseconds, as the portal sends
    }}, api="portal")


def logout(state: SimState, req: Request, token: str) -> Response:
    state.tokens.pop(token, None)
    return raw_json(200, b"", api="portal")
