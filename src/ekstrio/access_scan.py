"""``scan --access``: verdicts for every (cluster, role) a scan found, after the scan.

Runs once the scan's nursery tree is done, on the same Transport (so the EKS calls are paced in
the same ``("eks", account, region)`` scopes and counted in the same summary), one task per
(cluster, role) in one nursery. With ``live``, each pair of a cluster with an endpoint
also gets the live check (:mod:`ekstrio.kube_live`) with the token kubectl would send,
at most :data:`LIVE_IN_FLIGHT` at a time (each holds a TLS connection to a different server).

A plain scan never comes here: no extra call, no extra time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import trio

from ekstrio.access import UnknownReason, verdict_unknown
from ekstrio.access_aws import AccessStats, CallerCache, check_cluster_access
from ekstrio.access_live import LiveResult, checks_for
from ekstrio.access_record import ClusterKey, RoleAccess, best_first
from ekstrio.aws import eks_token
from ekstrio.aws.endpoints import Endpoint
from ekstrio.aws.transport import Transport
from ekstrio.kube_live import DEFAULT_BOUND, check_live
from ekstrio.model import Cluster, RoleCredentials

__all__ = ["LIVE_IN_FLIGHT", "check_access"]

LIVE_IN_FLIGHT = 16


Credentials = Callable[[str, str], Awaitable[RoleCredentials | None]]


async def check_access(
    clusters: Sequence[Cluster],
    *,
    transport: Callable[[str], Transport],
    eks_endpoint: Callable[[str], Endpoint],
    sts_endpoint: Callable[[str], Endpoint],
    credentials: Credentials,
    sso_region: str | None,
    live: bool = False,
    sts_for_tokens: str | None = None,
    bound: float = DEFAULT_BOUND,
    stats: AccessStats | None = None,
) -> dict[ClusterKey, dict[str, RoleAccess]]:
    """The access of every role of every cluster in ``clusters``."""
    stats = stats or AccessStats()
    callers = CallerCache()
    live_slots = trio.CapacityLimiter(LIVE_IN_FLIGHT)
    results: dict[ClusterKey, dict[str, RoleAccess]] = {}

    async def one(cluster: Cluster, role: str) -> None:
        info = cluster.info
        creds = await credentials(cluster.account_id, role)
        if creds is None:
            verdict = verdict_unknown(UnknownReason.ERROR, detail="no role credentials")
        else:
            verdict = await check_cluster_access(
                transport(cluster.region), eks_endpoint=eks_endpoint(cluster.region),
                sts_endpoint=sts_endpoint(cluster.region), creds=creds,
                account_id=cluster.account_id, region=cluster.region, cluster=info,
                callers=callers, stats=stats, sso_region=sso_region)
        result: LiveResult | None = None
        if live and creds is not None and info.endpoint:
            token = eks_token.presign(creds, info.outpost_id or info.name, cluster.region,
                                      endpoint_url=sts_for_tokens)
            namespaces = [ns for g in verdict.grants for ns in g.namespaces]
            async with live_slots:
                result = await check_live(info.endpoint, info.certificate_authority_data,
                                          token.token, checks=checks_for(namespaces),
                                          bound=bound)
        key = (cluster.account_id, cluster.region, info.name)
        results.setdefault(key, {})[role] = RoleAccess(verdict, result)

    async with trio.open_nursery() as nursery:
        for cluster in clusters:
            for role in cluster.roles:
                nursery.start_soon(one, cluster, role)
    # Roles in a stable order, best first, so output and kubeconfig agree.
    return {key: {role: roles[role] for role in best_first(roles)}
            for key, roles in results.items()}
