"""The two EKS operations a scan needs: ListClusters and DescribeCluster.

Both are SigV4-signed with signing name ``eks`` for the endpoint's signing
region. Rate-limit scope: ``("eks", account_id, region)``, since EKS
throttles per account and region.

Request builders and response parsers are pure; the async functions only
send through a :class:`~ekstrio.aws.transport.Transport`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ekstrio.aws import untrusted
from ekstrio.aws.paging import PageGuard
from ekstrio.aws.wire import WireRequest, path_segment
from ekstrio.errors import AwsError
from ekstrio.model import ClusterInfo, RoleCredentials

_T = TypeVar("_T")

if TYPE_CHECKING:

    from ekstrio.aws.endpoints import Endpoint
    from ekstrio.aws.sigv4_auth import SigV4Auth
    from ekstrio.aws.transport import Transport

__all__ = [
    "PAGE_SIZE",
    "SERVICE",
    "cluster_arn",
    "cluster_scope",
    "describe_cluster",
    "describe_cluster_request",
    "iter_cluster_names",
    "list_clusters_request",
    "parse_cluster",
    "parse_clusters_page",
]

SERVICE = "eks"
PAGE_SIZE = 100


def cluster_scope(account_id: str, region: str) -> tuple[str, str, str]:
    return ("eks", account_id, region)


def cluster_arn(partition: str, region: str, account_id: str, name: str) -> str:
    return f"arn:{partition}:eks:{region}:{account_id}:cluster/{name}"


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidResponse", message, service=SERVICE)


# -- requests ---------------------------------------------------------------------------------


def list_clusters_request(
    next_token: str | None = None, *, include_connected: bool = False
) -> WireRequest:
    query: list[tuple[str, str]] = [("maxResults", str(PAGE_SIZE))]
    if next_token:
        query.append(("nextToken", next_token))
    if include_connected:
        # `include=all` adds EKS Connector (external) clusters to the list.
        query.append(("include", "all"))
    return WireRequest("GET", "/clusters", tuple(query))


def describe_cluster_request(name: str) -> WireRequest:
    return WireRequest("GET", f"/clusters/{path_segment(name)}")


# -- responses --------------------------------------------------------------------------------


def _check(check: Callable[[object, str], _T], value: object, field: str) -> _T:
    """One check of a value from the answer (aws/untrusted.py). A bad value fails the whole
    answer, named by its place and never echoed: it may carry escapes or YAML."""
    try:
        return check(value, field)
    except untrusted.BadValue as exc:
        raise _invalid(str(exc)) from None


def parse_clusters_page(doc: Mapping[str, Any]) -> tuple[list[str], str | None]:
    """One ListClusters page; each name checked against EKS's ClusterName pattern. A page
    with one bad name is refused whole (the region becomes an error record)."""
    names = doc.get("clusters") or []
    if not isinstance(names, list):
        raise _invalid("clusters is not a list")
    token = doc.get("nextToken")
    return (
        [_check(untrusted.cluster_name, name, f"ListClusters clusters[{i}]")
         for i, name in enumerate(names)],
        token if isinstance(token, str) and token else None,
    )


def _parse_time(value: object) -> datetime | None:
    # rest-json timestamps are epoch seconds, possibly fractional; accept an
    # ISO 8601 string too, as some emulators send one.
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return _check(untrusted.epoch_seconds, value, "createdAt")
    if isinstance(value, str) and value:
        try:
            return _check(untrusted.epoch_seconds, float(value), "createdAt")
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _opt_str(doc: Mapping[str, Any] | None, key: str, *, field: str | None = None,
             check: Callable[[object, str], str] = untrusted.text) -> str | None:
    """An optional string member, checked when present (absent or "" is None)."""
    if not isinstance(doc, Mapping):
        return None
    value = doc.get(key)
    if value is None or value == "":
        return None
    return _check(check, value, field or key)


def parse_cluster(doc: Mapping[str, Any], *, fallback_arn: str | None = None,
                  name: str | None = None, account_id: str | None = None) -> ClusterInfo:
    """DescribeCluster's ``{"cluster": {...}}`` → :class:`ClusterInfo`.

    Every member that ekstrio keeps is checked (aws/untrusted.py): the name against EKS's
    pattern (and equal to ``name`` when the caller asked for one), the ARN as this cluster's
    (in ``account_id`` when given), the endpoint ``https://`` and a host, the CA as base64,
    tags and the rest as printable text. One bad member fails the cluster: an error record
    for it, never a kubeconfig entry. ``certificateAuthority.data`` is kept verbatim;
    endpoint and CA are None until the cluster is ACTIVE.
    """
    cluster = doc.get("cluster")
    if not isinstance(cluster, Mapping):
        raise _invalid("no cluster in the answer")
    found = cluster.get("name")
    if found is None or found == "":
        raise _invalid("the cluster has no name")
    found = _check(untrusted.cluster_name, found, "cluster.name")
    if name is not None and found != name:
        raise _invalid("cluster.name is not the cluster asked about")

    def arn_of(value: object, field: str) -> str:
        return untrusted.cluster_arn(value, field, name=found, account=account_id)

    arn = _opt_str(cluster, "arn", field="cluster.arn", check=arn_of) or fallback_arn
    if arn is None:
        raise _invalid(f"cluster {found} has no arn")
    raw_tags = cluster.get("tags")
    tags = _check(untrusted.tags, raw_tags, "cluster.tags") if raw_tags is not None else {}
    certificate = cluster.get("certificateAuthority")
    return ClusterInfo(
        name=found,
        arn=arn,
        status=_opt_str(cluster, "status", field="cluster.status") or "UNKNOWN",
        endpoint=_opt_str(cluster, "endpoint", field="cluster.endpoint",
                          check=untrusted.https_endpoint),
        certificate_authority_data=_opt_str(certificate, "data", check=untrusted.ca_data,
                                            field="cluster.certificateAuthority.data"),
        version=_opt_str(cluster, "version", field="cluster.version"),
        platform_version=_opt_str(cluster, "platformVersion", field="cluster.platformVersion"),
        created_at=_parse_time(cluster.get("createdAt")),
        tags=tags,
        authentication_mode=_opt_str(cluster.get("accessConfig"), "authenticationMode",
                                     field="cluster.accessConfig.authenticationMode"),
        # Outposts local clusters: the id, not the name, goes into the EKS token.
        outpost_id=_opt_str(cluster, "id", field="cluster.id")
        if isinstance(cluster.get("outpostConfig"), Mapping) else None,
        connector_provider=_opt_str(cluster.get("connectorConfig"), "provider",
                                    field="cluster.connectorConfig.provider"),
    )


# -- calls ------------------------------------------------------------------------------------


def _auth(creds: RoleCredentials, endpoint: Endpoint) -> SigV4Auth:
    # Imported here so that importing eks.py (for the pure parsers) does not
    # pull in botocore; only a real call needs the signer.
    from ekstrio.aws.sigv4_auth import SigV4Auth

    return SigV4Auth(creds, SERVICE, endpoint.signing_region)


def iter_cluster_names(
    t: Transport,
    endpoint: Endpoint,
    creds: RoleCredentials,
    *,
    account_id: str,
    region: str,
    include_connected: bool = False,
) -> AsyncIterator[list[str]]:
    """ListClusters in one account and region, one list of names per page."""
    return _ClusterNamePages(t, endpoint, creds, account_id, region, include_connected)


class _ClusterNamePages:
    """The pages of one ListClusters listing, as an async iterator.

    An object rather than an async generator: a scan lists every account-region, and each
    async generator costs trio's first-iteration and finaliser hooks (a weak set entry made
    and dropped) and an ``aclose`` to leave it cleanly; with the scan's two nested ones that
    was about 45 Python and C calls per region, 5 % of a warm scan's (counted). Nothing here
    needs closing: each page's call has ended when it is returned. Like the generator it
    replaces, a page's token is checked by the :class:`PageGuard` when the next page is
    asked for, so the names of a page that ends the list wrongly are still returned before
    the error.
    """

    __slots__ = ("_auth", "_endpoint", "_guard", "_include_connected", "_last", "_scope", "_t")

    def __init__(self, t: Transport, endpoint: Endpoint, creds: RoleCredentials,
                 account_id: str, region: str, include_connected: bool) -> None:
        self._t = t
        self._endpoint = endpoint
        self._auth = _auth(creds, endpoint)
        self._scope = cluster_scope(account_id, region)
        self._include_connected = include_connected
        self._guard = PageGuard("ListClusters", service=SERVICE)
        self._last: tuple[int, str | None] | None = None  # the last page's size and token

    def __aiter__(self) -> _ClusterNamePages:
        return self

    async def __anext__(self) -> list[str]:
        token = None
        if self._last is not None:
            token = self._guard.next_page(*self._last)
            if token is None:
                raise StopAsyncIteration
        doc = await self._t.call(
            self._endpoint,
            list_clusters_request(token, include_connected=self._include_connected),
            service=SERVICE,
            scope=self._scope,
            auth=self._auth,
        )
        names, token = parse_clusters_page(doc)
        self._last = (len(names), token)
        return names


async def describe_cluster(
    t: Transport,
    endpoint: Endpoint,
    creds: RoleCredentials,
    *,
    account_id: str,
    region: str,
    name: str,
) -> ClusterInfo:
    """DescribeCluster for one cluster."""
    doc = await t.call(
        endpoint,
        describe_cluster_request(name),
        service=SERVICE,
        scope=cluster_scope(account_id, region),
        auth=_auth(creds, endpoint),
    )
    fallback_arn = cluster_arn(endpoint.partition, region, account_id, name)
    return parse_cluster(doc, fallback_arn=fallback_arn, name=name, account_id=account_id)
