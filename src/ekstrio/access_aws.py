"""The AWS side of ``scan --access``: gather a verdict's inputs for one (cluster, role).

Calls, in order, each only when the one before says it is needed:

1. STS GetCallerIdentity with the role's credentials, once per account and role for the
   whole run (:class:`CallerCache`, keyed by the credentials' access key: an identity is as
   good as the credentials that produced it);
2. ListAccessEntries (all pages, bounded) when the cluster's mode includes ``API``;
3. DescribeAccessEntry and ListAssociatedAccessPolicies for the caller's own entry.

Expected failures are answers, never exceptions: a denied call gives ``unknown(denied)``, any
other AWS or transport failure (after the transport's retries) ``unknown(error)``. The EKS calls
share the scan's ``("eks", account, region)`` scope, so they are paced with ListClusters and
DescribeCluster of the same account-region.
"""

from __future__ import annotations

from dataclasses import dataclass

import trio

from ekstrio.access import (
    AccessVerdict,
    AuthMode,
    UnknownReason,
    find_entry,
    verdict_from_entry,
    verdict_unknown,
    verdict_without_entry,
)
from ekstrio.aws import eks_access, sts
from ekstrio.aws.endpoints import Endpoint
from ekstrio.aws.sts import CallerIdentity
from ekstrio.aws.transport import Transport
from ekstrio.errors import AccessDeniedError, AwsError, TransportError
from ekstrio.model import ClusterInfo, RoleCredentials

__all__ = ["AccessStats", "CallerCache", "check_cluster_access"]


@dataclass(slots=True)
class AccessStats:
    """Counters for the summary: verdicts made, and the calls that were refused or failed."""

    checked: int = 0
    denied: int = 0
    errors: int = 0


class CallerCache:
    """GetCallerIdentity once per credentials, shared by every cluster of an account and role.

    Single-flight: tasks that ask for the same key while the call is under way wait for its
    answer instead of sending their own (a busy account has many clusters checked at once).
    A failure is cached too (as the error), so a role that cannot call STS costs one call.
    """

    def __init__(self) -> None:
        self._done: dict[str, CallerIdentity | AwsError | TransportError] = {}
        self._pending: dict[str, trio.Event] = {}

    async def get(self, t: Transport, endpoint: Endpoint, creds: RoleCredentials, *,
                  account_id: str) -> CallerIdentity:
        key = creds.access_key_id
        while key not in self._done:
            pending = self._pending.get(key)
            if pending is not None:
                await pending.wait()
                continue
            event = self._pending[key] = trio.Event()
            try:
                self._done[key] = await sts.get_caller_identity(t, endpoint, creds,
                                                                account_id=account_id)
            except (AwsError, TransportError) as exc:
                self._done[key] = exc
            finally:
                # Cancelled before an answer: waiters loop and one of them tries again.
                del self._pending[key]
                event.set()
        found = self._done[key]
        if isinstance(found, CallerIdentity):
            return found
        raise found


def _failed(exc: AwsError | TransportError, stats: AccessStats, *, mode: AuthMode,
            caller: CallerIdentity | None, sso_region: str | None) -> AccessVerdict:
    if isinstance(exc, AccessDeniedError):
        stats.denied += 1
        return verdict_unknown(UnknownReason.DENIED, mode=mode, caller=caller,
                               sso_region=sso_region, detail=exc.code)
    stats.errors += 1
    detail = exc.code if isinstance(exc, AwsError) else type(exc).__name__
    return verdict_unknown(UnknownReason.ERROR, mode=mode, caller=caller,
                           sso_region=sso_region, detail=detail)


async def check_cluster_access(
    t: Transport,
    *,
    eks_endpoint: Endpoint,
    sts_endpoint: Endpoint,
    creds: RoleCredentials,
    account_id: str,
    region: str,
    cluster: ClusterInfo,
    callers: CallerCache,
    stats: AccessStats,
    sso_region: str | None = None,
) -> AccessVerdict:
    """The AWS-side verdict for ``cluster`` as seen with ``creds``. Never raises for an
    AWS or transport failure: that is an ``unknown`` verdict."""
    stats.checked += 1
    mode = AuthMode.parse(cluster.authentication_mode)
    if not cluster.endpoint:
        # CREATING or FAILED: there is no API server to get into (UPDATING still has one).
        return verdict_unknown(UnknownReason.NO_ENDPOINT, mode=mode, detail=cluster.status)
    caller: CallerIdentity | None = None
    try:
        caller = await callers.get(t, sts_endpoint, creds, account_id=account_id)
        if mode is AuthMode.CONFIG_MAP:
            return verdict_without_entry(mode, caller, sso_region=sso_region)
        arns = await eks_access.list_access_entries(
            t, eks_endpoint, creds, account_id=account_id, region=region, cluster=cluster.name)
        principal = find_entry(arns, caller)
        if principal is None:
            return verdict_without_entry(mode, caller, sso_region=sso_region)
        entry = await eks_access.describe_access_entry(
            t, eks_endpoint, creds, account_id=account_id, region=region,
            cluster=cluster.name, principal_arn=principal)
        policies = await eks_access.list_associated_policies(
            t, eks_endpoint, creds, account_id=account_id, region=region,
            cluster=cluster.name, principal_arn=principal)
    except (AwsError, TransportError) as exc:
        return _failed(exc, stats, mode=mode, caller=caller, sso_region=sso_region)
    return verdict_from_entry(mode, caller, entry, policies)
