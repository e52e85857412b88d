"""EKS (rest-json): ListClusters and DescribeCluster, SigV4-verified, per the credentials' account.

The access-entry reads are in ``eks_access.py``; both share :func:`denied` and :func:`scp_denied`.

The region comes from the signature's credential scope, as at AWS (each region is its own
endpoint). A region the account has not enabled answers like AWS does for an opt-in region that is
off: 403 ``UnrecognizedClientException`` "The security token included in the request is invalid."
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from ekstrio.sim import paging, sigcheck
from ekstrio.sim.messages import Request, Response, json_response, raw_json, rest_json_error
from ekstrio.sim.state import IssuedCredentials, SimState
from ekstrio.sim.sts import caller

_SIG_ERRORS = {
    "missing": (403, "MissingAuthenticationTokenException"),
    "incomplete": (403, "IncompleteSignatureException"),
    "unrecognized": (403, "UnrecognizedClientException"),
    "expired": (403, "ExpiredTokenException"),
    "signature": (403, "InvalidSignatureException"),
    "skew": (403, "InvalidSignatureException"),
    "scope": (403, "InvalidSignatureException"),
}
_INVALID_TOKEN = "The security token included in the request is invalid."  # noqa: S105


def error(status: int, code: str, message: str, **fields: Any) -> Response:
    return rest_json_error(status, code, message, api="eks", **fields)


def throttled() -> Response:
    return error(429, "ThrottlingException", "Rate exceeded")


def authenticate(state: SimState, req: Request) -> tuple[IssuedCredentials, str] | Response:
    """(credentials, region) of a correctly signed request for an enabled region, or the 403."""
    result = sigcheck.verify_header(
        method=req.method, host=req.headers.get("host", ""), raw_path=req.raw_path,
        raw_query=req.raw_query, headers=req.headers, body=req.body, service="eks",
        lookup=state.credentials.get, now=state.clock())
    if isinstance(result, sigcheck.SigFailure):
        status, code = _SIG_ERRORS[result.kind]
        # AWS marks authentication failures with the coral namespace in x-amzn-ErrorType.
        return rest_json_error(status, code, result.message, api="eks", coral=True)
    creds, region = result.credentials, result.region
    acct = state.org.by_id[creds.account_id]
    if region not in state.org.regions or region in acct.disabled_regions:
        return rest_json_error(403, "UnrecognizedClientException", _INVALID_TOKEN, api="eks",
                               coral=True)
    return creds, region


def denied(state: SimState, creds: IssuedCredentials, region: str, action: str,
           resource: str, *, entry_read: bool = False) -> Response | None:
    """403 AccessDeniedException when the role's permission set does not allow ``action``
    (``entry_read``: one of the access-entry reads), else None."""
    acct = state.org.by_id[creds.account_id]
    role = acct.role(creds.role_name)
    if role is not None and (role.access_entry_apis if entry_read else role.eks):
        return None
    arn = caller(state, creds).arn
    return error(403, "AccessDeniedException",
                 f"User: {arn} is not authorized to perform: eks:{action} on resource: "
                 f"arn:{state.org.partition}:eks:{region}:{creds.account_id}:{resource} "
                 f"because no identity-based policy allows the eks:{action} action")


def scp_denied(state: SimState, creds: IssuedCredentials, region: str,
               action: str) -> Response | None:
    """A Control Tower / SCP region deny: every EKS call in the region, whatever the role."""
    if region not in state.org.by_id[creds.account_id].scp_denied_regions:
        return None
    arn = caller(state, creds).arn
    return error(403, "AccessDeniedException",
                 f"User: {arn} is not authorized to perform: eks:{action} on resource: "
                 f"arn:{state.org.partition}:eks:{region}:{creds.account_id}:cluster/* "
                 "with an explicit deny in a service control policy")


def list_clusters(state: SimState, req: Request, creds: IssuedCredentials,
                  region: str) -> Response:
    refused = denied(state, creds, region, "ListClusters", "cluster/*")
    if refused:
        return refused
    include = req.query.get("include", [])
    if any(v != "all" for v in include):
        return error(400, "InvalidParameterException",
                     "include must be 'all' (lowercase) when given")
    names = [c["name"] for c in state.org.clusters_in(creds.account_id, region)]
    return eks_list(req, names, key="clusters", kind="clusters",
                    scope=f"{creds.account_id}/{region}")


def eks_list(req: Request, items: list[Any], *, key: str, kind: str, scope: str,
             head: dict[str, Any] | None = None) -> Response:
    """The page of an EKS list that ``req`` asks for (``maxResults``, ``nextToken``) as
    ``{**head, key: page, "nextToken": …}`` (no nextToken on the last page), or EKS's 400."""
    found = paging.page(items, kind=kind, scope=scope, size=req.arg("maxResults"), default=100,
                        token=req.arg("nextToken"))
    if found is paging.PageFault.BAD_SIZE:
        return error(400, "InvalidParameterException", "maxResults must be between 1 and 100")
    if found is paging.PageFault.UNKNOWN_PAGE:
        return error(400, "InvalidParameterException", "The nextToken provided is invalid")
    out: dict[str, Any] = {**(head or {}), key: found[0]}
    if found[1]:
        out["nextToken"] = found[1]
    return json_response(200, out, api="eks")


def describe_cluster(state: SimState, req: Request, creds: IssuedCredentials,
                     region: str) -> Response:
    name = unquote(req.raw_path[len("/clusters/"):])
    refused = denied(state, creds, region, "DescribeCluster", f"cluster/{name}")
    if refused:
        return refused
    key = (creds.account_id, region, name)
    body = state.describe_cache.get(key)
    if body is None:
        cluster = next((c for c in state.org.clusters_in(creds.account_id, region)
                        if c["name"] == name), None)
        if cluster is None:
            return error(404, "ResourceNotFoundException", f"No cluster found for name: {name}.",
                         clusterName=name)
        body = json.dumps({"cluster": cluster}, separators=(",", ":")).encode()
        state.describe_cache[key] = body
    return raw_json(200, body, api="eks")
