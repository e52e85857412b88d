"""EKS access entries: ListAccessEntries, DescribeAccessEntry, ListAssociatedAccessPolicies.

All three are rest-json GETs under ``/clusters/{name}/access-entries`` (botocore's ``eks``
2017-11-01 model), SigV4-signed for ``eks`` like ListClusters, and paced in the same scope
(``("eks", account_id, region)``): EKS throttles per account and region whatever the operation.

The principal ARN is one path segment (``{principalArn}``, not greedy), so ``:`` and ``/`` are
percent-encoded as botocore does (``quote(arn, safe="-_.~")``).

Request builders and response parsers are pure; the async functions only send through a
:class:`~ekstrio.aws.transport.Transport`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ekstrio.aws.eks import SERVICE, cluster_scope
from ekstrio.aws.paging import PageGuard
from ekstrio.aws.wire import WireRequest, path_segment
from ekstrio.errors import AwsError
from ekstrio.model import RoleCredentials

if TYPE_CHECKING:
    from ekstrio.aws.endpoints import Endpoint
    from ekstrio.aws.transport import Transport

__all__ = [
    "MAX_PAGES",
    "PAGE_SIZE",
    "AccessEntry",
    "AssociatedPolicy",
    "ScopeType",
    "describe_access_entry",
    "describe_access_entry_request",
    "list_access_entries",
    "list_access_entries_request",
    "list_associated_policies",
    "list_associated_policies_request",
    "parse_access_entry",
    "parse_entries_page",
    "parse_policies_page",
]

PAGE_SIZE = 100
# A bound on pages per list: EKS's quota on access entries per cluster is in the hundreds, so
# 20 pages of 100 is far past any real cluster; a peer that pages forever is stopped here.
MAX_PAGES = 20


class ScopeType(StrEnum):
    """Where an associated access policy applies (``AccessScopeType``)."""

    CLUSTER = "cluster"
    NAMESPACE = "namespace"


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """DescribeAccessEntry's ``accessEntry``: who the entry lets in, and as what."""

    principal_arn: str
    kubernetes_groups: tuple[str, ...] = ()
    username: str | None = None
    type: str | None = None


@dataclass(frozen=True, slots=True)
class AssociatedPolicy:
    """One access policy associated with an entry, and its scope."""

    policy_arn: str
    scope: ScopeType
    namespaces: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The policy's name: the last piece of its ARN (``AmazonEKSViewPolicy``)."""
        return self.policy_arn.rsplit("/", 1)[-1]


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidResponse", message, service=SERVICE)


def _entries_path(cluster: str) -> str:
    return f"/clusters/{path_segment(cluster)}/access-entries"


def _paged(next_token: str | None) -> tuple[tuple[str, str], ...]:
    query = [("maxResults", str(PAGE_SIZE))]
    if next_token:
        query.append(("nextToken", next_token))
    return tuple(query)


# -- requests ---------------------------------------------------------------------------------


def list_access_entries_request(cluster: str, next_token: str | None = None) -> WireRequest:
    return WireRequest("GET", _entries_path(cluster), _paged(next_token))


def describe_access_entry_request(cluster: str, principal_arn: str) -> WireRequest:
    return WireRequest("GET", f"{_entries_path(cluster)}/{path_segment(principal_arn)}")


def list_associated_policies_request(
    cluster: str, principal_arn: str, next_token: str | None = None
) -> WireRequest:
    path = f"{_entries_path(cluster)}/{path_segment(principal_arn)}/access-policies"
    return WireRequest("GET", path, _paged(next_token))


# -- responses --------------------------------------------------------------------------------


def _token(doc: Mapping[str, Any]) -> str | None:
    token = doc.get("nextToken")
    return token if isinstance(token, str) and token else None


def _strings(value: object) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def parse_entries_page(doc: Mapping[str, Any]) -> tuple[list[str], str | None]:
    entries = doc.get("accessEntries")
    entries = [] if entries is None else entries
    if not isinstance(entries, list):
        raise _invalid("accessEntries is not a list")
    return list(_strings(entries)), _token(doc)


def parse_access_entry(doc: Mapping[str, Any]) -> AccessEntry:
    entry = doc.get("accessEntry")
    if not isinstance(entry, Mapping):
        raise _invalid("no accessEntry in the answer")
    principal = entry.get("principalArn")
    if not isinstance(principal, str) or not principal:
        raise _invalid("the access entry has no principalArn")
    username = entry.get("username")
    kind = entry.get("type")
    return AccessEntry(
        principal_arn=principal,
        kubernetes_groups=_strings(entry.get("kubernetesGroups")),
        username=username if isinstance(username, str) and username else None,
        type=kind if isinstance(kind, str) and kind else None,
    )


def parse_policies_page(doc: Mapping[str, Any]) -> tuple[list[AssociatedPolicy], str | None]:
    raw = doc.get("associatedAccessPolicies")
    raw = [] if raw is None else raw
    if not isinstance(raw, list):
        raise _invalid("associatedAccessPolicies is not a list")
    policies = []
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        arn = item.get("policyArn")
        scope = item.get("accessScope")
        if not isinstance(arn, str) or not arn or not isinstance(scope, Mapping):
            continue
        try:
            kind = ScopeType(str(scope.get("type")))
        except ValueError:
            # An unknown scope type grants something we cannot describe: skip it rather
            # than guess; the verdict then rests on the policies we do understand.
            continue
        policies.append(AssociatedPolicy(arn, kind, _strings(scope.get("namespaces"))))
    return policies, _token(doc)


# -- calls ------------------------------------------------------------------------------------


def _auth(creds: RoleCredentials, endpoint: Endpoint) -> Any:
    from ekstrio.aws.sigv4_auth import SigV4Auth  # the signer only when a call is made

    return SigV4Auth(creds, SERVICE, endpoint.signing_region)


async def _pages(
    t: Transport, endpoint: Endpoint, creds: RoleCredentials, *, account_id: str, region: str,
    build: Any, what: str, count: Any,
) -> list[Mapping[str, Any]]:
    auth = _auth(creds, endpoint)
    scope = cluster_scope(account_id, region)
    docs: list[Mapping[str, Any]] = []
    # The same bounds as every other pager (aws/paging.py): a repeated token, too many pages,
    # or a run of empty pages ends the list with an InvalidResponse error.
    guard = PageGuard(what, service=SERVICE, max_pages=MAX_PAGES)
    token: str | None = None
    while True:
        doc = await t.call(endpoint, build(token), service=SERVICE, scope=scope, auth=auth)
        docs.append(doc)
        token = guard.next_page(count(doc), _token(doc))
        if token is None:
            return docs


async def list_access_entries(
    t: Transport, endpoint: Endpoint, creds: RoleCredentials, *,
    account_id: str, region: str, cluster: str,
) -> list[str]:
    """Every access entry's principal ARN (ListAccessEntries, all pages, bounded)."""
    docs = await _pages(t, endpoint, creds, account_id=account_id, region=region,
                        build=lambda token: list_access_entries_request(cluster, token),
                        what="ListAccessEntries",
                        count=lambda doc: len(parse_entries_page(doc)[0]))
    return [arn for doc in docs for arn in parse_entries_page(doc)[0]]


async def describe_access_entry(
    t: Transport, endpoint: Endpoint, creds: RoleCredentials, *,
    account_id: str, region: str, cluster: str, principal_arn: str,
) -> AccessEntry:
    doc = await t.call(endpoint, describe_access_entry_request(cluster, principal_arn),
                       service=SERVICE, scope=cluster_scope(account_id, region),
                       auth=_auth(creds, endpoint))
    return parse_access_entry(doc)


async def list_associated_policies(
    t: Transport, endpoint: Endpoint, creds: RoleCredentials, *,
    account_id: str, region: str, cluster: str, principal_arn: str,
) -> list[AssociatedPolicy]:
    """ListAssociatedAccessPolicies for one entry, all pages (bounded)."""
    docs = await _pages(
        t, endpoint, creds, account_id=account_id, region=region,
        build=lambda token: list_associated_policies_request(cluster, principal_arn, token),
        what="ListAssociatedAccessPolicies",
        count=lambda doc: len(parse_policies_page(doc)[0]))
    return [policy for doc in docs for policy in parse_policies_page(doc)[0]]
