"""EKS access-entry reads: ListAccessEntries, DescribeAccessEntry, ListAssociatedAccessPolicies.

Routes from botocore's EKS model: ``GET /clusters/{name}/access-entries``,
``GET /clusters/{name}/access-entries/{principalArn}`` and
``GET /clusters/{name}/access-entries/{principalArn}/access-policies``. The principal ARN is one
URI label, so its ``/`` and ``:`` arrive percent-encoded; the route is split on the raw path, so a
client that sends the ARN's slashes unencoded reaches no operation (404), as at AWS.

Checks in AWS's order: signature (eks.authenticate), IAM permission (403 AccessDeniedException),
the cluster (404 ResourceNotFoundException), its authentication mode (400
InvalidRequestException for CONFIG_MAP), the entry (404), then the paging parameters (400
InvalidParameterException).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from ekstrio.sim.access import POLICY_PREFIX, entry_json
from ekstrio.sim.eks import denied, eks_list, error
from ekstrio.sim.messages import Request, Response, json_response
from ekstrio.sim.state import IssuedCredentials, SimState

_MODE_MESSAGE = ("The cluster's authentication mode must be set to one of "
                 "[API, API_AND_CONFIG_MAP] to perform this operation.")
_NO_ENTRY = ("The specified principalArn could not be found. You can view your available access "
             "entries with 'list-access-entries'.")


@dataclass(frozen=True)
class Route:
    action: str  # ListAccessEntries | DescribeAccessEntry | ListAssociatedAccessPolicies
    cluster: str
    principal: str | None


def route(raw_path: str) -> Route | None:
    """The access-entry operation a raw path names, or None."""
    parts = raw_path.split("/")
    # ['', 'clusters', NAME, 'access-entries', ARN?, 'access-policies'?]
    if len(parts) < 4 or parts[1] != "clusters" or parts[3] != "access-entries" or not parts[2]:
        return None
    cluster = unquote(parts[2])
    if len(parts) == 4:
        return Route("ListAccessEntries", cluster, None)
    if not parts[4]:
        return None
    principal = unquote(parts[4])
    if len(parts) == 5:
        return Route("DescribeAccessEntry", cluster, principal)
    if len(parts) == 6 and parts[5] == "access-policies":
        return Route("ListAssociatedAccessPolicies", cluster, principal)
    return None


def handle(state: SimState, req: Request, creds: IssuedCredentials, region: str,
           op: Route) -> Response:
    org = state.org
    resource = (f"cluster/{op.cluster}" if op.principal is None
                else f"access-entry/{op.cluster}/*")
    refused = denied(state, creds, region, op.action, resource, entry_read=True)
    if refused:
        return refused
    key = (creds.account_id, region, op.cluster)
    access = org.access.get(key)
    if access is None:
        return error(404, "ResourceNotFoundException", f"No cluster found for name: {op.cluster}.",
                     clusterName=op.cluster)
    if not access.mode.uses_entries:
        return error(400, "InvalidRequestException", _MODE_MESSAGE, clusterName=op.cluster)
    scope = f"{creds.account_id}/{region}/{op.cluster}"
    if op.principal is None:
        entries = access.entries
        wanted = req.arg("associatedPolicyArn")
        if wanted is not None:
            prefix = POLICY_PREFIX.format(partition=org.partition)
            entries = tuple(e for e in entries
                            if any(prefix + p.policy == wanted for p in e.policies))
        return eks_list(req, [e.principal_arn for e in entries], key="accessEntries",
                        kind="access-entries", scope=f"{scope}/{wanted or ''}")
    entry = access.entry(op.principal)
    if entry is None:
        return error(404, "ResourceNotFoundException", _NO_ENTRY, clusterName=op.cluster)
    at = access.created_at
    if op.action == "DescribeAccessEntry":
        return json_response(200, {"accessEntry": entry_json(
            entry, cluster=op.cluster, partition=org.partition, account_id=creds.account_id,
            region=region, at=at)}, api="eks")
    return eks_list(req, [p.as_json(org.partition, at) for p in entry.policies],
                    key="associatedAccessPolicies", kind="access-policies",
                    scope=f"{scope}/{entry.principal_arn}",
                    head={"clusterName": op.cluster, "principalArn": entry.principal_arn})
